"""Volunteer teams and their work in the back office: read only. Teams, members, activities, sign-ups and tasks
change only through the services (the workbench's pages and the API), which check who may and audit each
change. Members' phones are shown masked; the encrypted columns are never shown."""

from __future__ import annotations

from django.contrib import admin

from gridgov.core.admin import AuditedModelAdmin, ReadOnlyAdminMixin

from .models import Activity, Member, SignUp, Task, Team


@admin.register(Team)
class TeamAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("name", "kind", "grid", "leader", "phone", "active", "created_at")
    list_filter = ("kind", "active")
    search_fields = ("name", "grid__code", "grid__name")
    list_select_related = ("grid", "leader")
    ordering = ("grid__code", "name")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("grid__geometry")


@admin.register(Member)
class MemberAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("name", "team", "phone_masked", "skills", "joined_on", "active", "left_on", "user")
    list_filter = ("active",)
    search_fields = ("name", "team__name", "user__username")
    list_select_related = ("team", "user")
    ordering = ("team__name", "name")
    fields = (
        "team", "name", "person", "user", "phone_masked", "skills", "joined_on", "active", "left_on",
        "created_at",
    )  # fmt: skip
    readonly_fields = fields


@admin.register(Activity)
class ActivityAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("title", "kind", "grid", "team", "starts_at", "ends_at", "capacity", "state")
    list_filter = ("state", "kind")
    search_fields = ("title", "place", "grid__code", "grid__name", "team__name")
    list_select_related = ("grid", "team")
    date_hierarchy = "starts_at"
    ordering = ("-starts_at", "-id")

    def get_queryset(self, request):
        return super().get_queryset(request).defer("grid__geometry")


@admin.register(SignUp)
class SignUpAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("activity", "member", "signed_at", "cancelled_at", "attended", "hours", "confirmed_at")
    list_filter = ("attended",)
    search_fields = ("activity__title", "member__name")
    list_select_related = ("activity", "member")
    ordering = ("-id",)


@admin.register(Task)
class TaskAdmin(ReadOnlyAdminMixin, AuditedModelAdmin):
    list_display = ("title", "team", "grid", "state", "due_on", "created_at", "done_at")
    list_filter = ("state",)
    search_fields = ("title", "team__name", "grid__code", "grid__name")
    list_select_related = ("team", "grid")
    ordering = ("-id",)

    def get_queryset(self, request):
        return super().get_queryset(request).defer("grid__geometry")
