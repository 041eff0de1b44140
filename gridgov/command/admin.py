"""The command centre's back office: alarm sources (added here, their secret shown once), the alarms received,
and the cameras (read only: operators keep them on the camera pages, which check their grids)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from gridgov.core.admin import AuditedModelAdmin, ReadOnlyAdminMixin
from gridgov.core.errors import Invalid

from .alarms import check_mapping, do_create_alarm_source, do_rotate_secret
from .models import AlarmReceipt, AlarmSource, Camera


@admin.register(Camera)
class CameraAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("code", "name", "kind", "channel_id", "grid", "status", "updated_at")
    list_filter = ("kind", "status")
    search_fields = ("code", "name", "channel_id", "grid__code", "grid__name")
    list_select_related = ("grid",)


class AlarmSourceForm(forms.ModelForm):
    class Meta:
        model = AlarmSource
        fields = ("code", "name", "kind", "mapping", "default_lon", "default_lat", "active")

    def clean_mapping(self):
        try:
            return check_mapping(self.cleaned_data.get("mapping"))
        except Invalid as exc:
            raise ValidationError(str(exc)) from exc


@admin.register(AlarmSource)
class AlarmSourceAdmin(AuditedModelAdmin):
    form = AlarmSourceForm
    list_display = ("code", "name", "kind", "active", "account", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("code", "name")
    actions = ["rotate_secret"]

    def get_readonly_fields(self, request, obj=None):
        return ("code", "account", "created_at") if obj is not None else ()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        source, secret = do_create_alarm_source(
            actor=request.user,
            code=obj.code,
            name=obj.name,
            kind=obj.kind,
            mapping=obj.mapping,
            default_lon=obj.default_lon,
            default_lat=obj.default_lat,
        )
        obj.pk = source.pk
        messages.warning(
            request,
            _("The secret of %(code)s, shown this once: %(secret)s")
            % {"code": source.code, "secret": secret},
        )

    @admin.action(description=gettext_lazy("Give a new secret (the old one stops working)"))
    def rotate_secret(self, request, queryset):
        for source in queryset:
            secret = do_rotate_secret(source, actor=request.user)
            messages.warning(
                request,
                _("The secret of %(code)s, shown this once: %(secret)s")
                % {"code": source.code, "secret": secret},
            )


@admin.register(AlarmReceipt)
class AlarmReceiptAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("received_at", "source", "event_id", "alarm_type", "camera", "case", "joined")
    list_filter = ("source", "joined")
    search_fields = ("event_id", "case__number")
    list_select_related = ("source", "camera", "case")
