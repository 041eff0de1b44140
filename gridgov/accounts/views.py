from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.conf import settings
from django.contrib import auth, messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Prefetch, Q
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from gridgov.core.audit import client_ip
from gridgov.core.scoping import get_visible_or_404, holds_duty, visible_to
from gridgov.grids.models import Grid

from . import importers, services
from .choices import Role
from .forms import (
    AssignmentForm,
    ImportUploadForm,
    PasswordForm,
    PeopleFilterForm,
    PersonCreateForm,
    PersonForm,
)
from .importers import scope_hint
from .models import RoleAssignment, User

CHOSEN_LANGUAGE = "chosen_language"


class LockAwareAuthenticationForm(AuthenticationForm):
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": _("The username or the password is wrong."),
        "locked": _("This account is locked after too many failed sign-ins. Try again after %(until)s."),
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        locked = User.objects.filter(username=username, locked_until__gt=timezone.now()).first()
        if username and locked is not None:
            until = formats.date_format(timezone.localtime(locked.locked_until), "H:i")
            # Let the backend audit the refused attempt, then say why.
            auth.authenticate(
                self.request, username=username, password=self.cleaned_data.get("password") or ""
            )
            raise self.get_invalid_login_error_locked(until)
        return super().clean()

    def get_invalid_login_error_locked(self, until: str):
        from django.core.exceptions import ValidationError

        return ValidationError(self.error_messages["locked"], code="locked", params={"until": until})


class GridgovLoginView(LoginView):
    template_name = "accounts/login.html"
    authentication_form = LockAwareAuthenticationForm
    redirect_authenticated_user = True
    extra_context = {"lock_limit": settings.LOGIN_FAILURE_LIMIT, "lock_minutes": settings.LOGIN_LOCK_MINUTES}

    def form_valid(self, form):
        # A language chosen on the sign-in page becomes the user's; otherwise the user's own setting applies.
        chosen = self.request.session.get(CHOSEN_LANGUAGE)
        user = form.get_user()
        if chosen and chosen != user.language:
            User.objects.filter(pk=user.pk).update(language=chosen)
            user.language = chosen
        response = super().form_valid(form)
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, samesite="Lax", max_age=365 * 86400)
        return response


@require_POST
def set_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "/"
    response = HttpResponseRedirect(target)
    if language in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, language, samesite="Lax", max_age=365 * 86400)
        if request.user.is_authenticated:
            User.objects.filter(pk=request.user.pk).update(language=language)
        else:
            request.session[CHOSEN_LANGUAGE] = language
    return response


# -- people (security administrator) -------------------------------------------------------------------------

PAGE_SIZE = 50
IMPORT_SESSION_KEY = "people_import"
IMPORT_RESULT_KEY = "people_import_result"


def security_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The people pages belong to the security administrator (三员分立): anyone else finds nothing here (404);
    an anonymous visitor is sent to sign in."""

    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not holds_duty(request.user, ("security",)):
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


def _assignments_qs() -> Any:
    return RoleAssignment.objects.select_related("grid", "department")


@security_only
def people(request: HttpRequest) -> HttpResponse:
    form = PeopleFilterForm(request.GET or None)
    qs = visible_to(request.user, User).order_by("username")
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            qs = qs.filter(Q(username__icontains=q) | Q(full_name__icontains=q))
        if data["role"]:
            qs = qs.filter(pk__in=RoleAssignment.objects.filter(role=data["role"]).values("user_id"))
        if data["grid"]:
            grid = Grid.objects.current().filter(code=data["grid"]).only("id", "path").first()
            if grid is None:
                form.add_error("grid", _("No current grid has the code %(code)s.") % {"code": data["grid"]})
                qs = qs.none()
            else:
                qs = qs.filter(
                    pk__in=RoleAssignment.objects.filter(grid__path__startswith=grid.path).values("user_id")
                )
        if data["department"]:
            qs = qs.filter(
                pk__in=RoleAssignment.objects.filter(department=data["department"]).values("user_id")
            )
    try:
        page = max(1, int(request.GET.get("page", "1")))
    except ValueError:
        page = 1
    rows = list(
        qs.only(
            "id",
            "username",
            "full_name",
            "admin_duty",
            "is_active",
            "locked_until",
            "last_login",
            "is_superuser",
        ).prefetch_related(Prefetch("assignments", queryset=_assignments_qs().order_by("role", "id")))[
            (page - 1) * PAGE_SIZE : page * PAGE_SIZE + 1
        ]
    )
    has_next = len(rows) > PAGE_SIZE
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/people.html",
        {
            "form": form,
            "people": rows[:PAGE_SIZE],
            "page": page,
            "has_next": has_next,
            "query": query.urlencode(),
        },
    )


@security_only
def grid_options(request: HttpRequest) -> HttpResponse:
    """`<option>`s of current grids whose code or name starts with the text typed (for the grid inputs)."""
    text = request.GET.get("grid", "").strip()[:32]
    grids: list[Grid] = []
    if text:
        grids = list(
            Grid.objects.current()
            .filter(Q(code__startswith=text) | Q(name__startswith=text))
            .order_by("code")
            .only("code", "name", "level")[:20]
        )
    return render(request, "accounts/people_grid_options.html", {"grids": grids})


def _person_or_404(pk: int, user: Any) -> User:
    return get_visible_or_404(user, User, pk=pk)


def autofocus(form: Any) -> Any:
    """Focus the first field at fault, or the first field of a fresh form."""
    names = [n for n in form.fields if n in form.errors] if form.is_bound else []
    name = names[0] if names else next(iter(form.fields), None)
    if name is not None:
        form.fields[name].widget.attrs["autofocus"] = True
    return form


def _person_page(request: HttpRequest, person: User, *, status: int = 200, **forms: Any) -> HttpResponse:
    bound = forms.get("person_form") or forms.get("assign_form") or forms.get("password_form")
    context = {
        "person": person,
        "assignments": list(_assignments_qs().filter(user=person).order_by("role", "id")),
        "person_form": forms.get("person_form")
        or PersonForm(initial={"full_name": person.full_name, "language": person.language}),
        "assign_form": forms.get("assign_form") or AssignmentForm(),
        "password_form": forms.get("password_form") or PasswordForm(),
        "scope_hints": [(value, label, scope_hint(value)) for value, label in Role.choices],
        "may_set_password": not person.admin_duty or person.pk == request.user.pk,
        "is_self": person.pk == request.user.pk,
        "open": forms.get("open", ""),
    }
    autofocus(bound or context["assign_form"])
    return render(request, "accounts/person.html", context, status=status)


@security_only
def person(request: HttpRequest, pk: int) -> HttpResponse:
    return _person_page(request, _person_or_404(pk, request.user))


def _apply_errors(form: Any, exc: ValidationError) -> None:
    """A service's refusal next to the field it names (or above the form when the form has no such field)."""
    if hasattr(exc, "error_dict"):
        for key, errors in exc.error_dict.items():
            form.add_error(key if key in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@security_only
def person_create(request: HttpRequest) -> HttpResponse:
    form = PersonCreateForm(request.POST or None, initial={"language": "zh-hans"})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                created = services.do_create_user(
                    data["username"],
                    actor=request.user,
                    full_name=data["full_name"],
                    language=data["language"],
                    ip=client_ip(request),
                )
                if data["password1"]:
                    services.do_set_password(
                        created, data["password1"], actor=request.user, ip=client_ip(request)
                    )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("%(name)s was created.") % {"name": created})
            return redirect("accounts:person", pk=created.pk)
    return render(request, "accounts/person_new.html", {"form": autofocus(form)})


@security_only
@require_POST
def person_update(request: HttpRequest, pk: int) -> HttpResponse:
    target = _person_or_404(pk, request.user)
    form = PersonForm(request.POST)
    if form.is_valid():
        try:
            services.do_update_user(
                target,
                actor=request.user,
                full_name=form.cleaned_data["full_name"],
                language=form.cleaned_data["language"],
                ip=client_ip(request),
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Saved."))
            return redirect("accounts:person", pk=target.pk)
    return _person_page(request, target, person_form=form, open="person")


@security_only
@require_POST
def person_assign(request: HttpRequest, pk: int) -> HttpResponse:
    target = _person_or_404(pk, request.user)
    form = AssignmentForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            assignment = services.do_assign_role(
                target,
                data["role"],
                actor=request.user,
                grid_code=data["grid"] or None,
                department_code=data["department"].code if data["department"] else None,
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("Assigned: %(what)s.") % {"what": assignment.get_role_display()})
            return redirect("accounts:person", pk=target.pk)
    return _person_page(request, target, assign_form=form, open="assign")


@security_only
@require_POST
def person_revoke(request: HttpRequest, pk: int, assignment_id: int) -> HttpResponse:
    target = _person_or_404(pk, request.user)
    assignment = get_object_or_404(
        RoleAssignment.objects.select_related("user"), pk=assignment_id, user=target
    )
    label = assignment.get_role_display()
    services.do_revoke_role(assignment, actor=request.user)
    messages.success(request, _("Revoked: %(what)s.") % {"what": label})
    return redirect("accounts:person", pk=target.pk)


@security_only
@require_POST
def person_active(request: HttpRequest, pk: int) -> HttpResponse:
    target = _person_or_404(pk, request.user)
    active = request.POST.get("active") == "1"
    try:
        services.do_set_active(target, active, actor=request.user, ip=client_ip(request))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The account is enabled.") if active else _("The account is disabled."))
    return redirect("accounts:person", pk=target.pk)


@security_only
@require_POST
def person_unlock(request: HttpRequest, pk: int) -> HttpResponse:
    target = _person_or_404(pk, request.user)
    services.do_unlock(target, actor=request.user)
    messages.success(request, _("The sign-in lock is lifted."))
    return redirect("accounts:person", pk=target.pk)


@security_only
@require_POST
def person_password(request: HttpRequest, pk: int) -> HttpResponse:
    target = _person_or_404(pk, request.user)
    form = PasswordForm(request.POST)
    if form.is_valid():
        try:
            services.do_set_password(
                target, form.cleaned_data["password1"], actor=request.user, ip=client_ip(request)
            )
        except ValidationError as exc:
            _apply_errors(form, exc)
        else:
            messages.success(request, _("The password is set."))
            return redirect("accounts:person", pk=target.pk)
    return _person_page(request, target, password_form=form, open="password")


# -- bulk import ---------------------------------------------------------------------------------------------


@security_only
def import_template(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        importers.build_template(),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    response["Content-Disposition"] = 'attachment; filename="people-import-template.xlsx"'
    return response


@security_only
def people_import(request: HttpRequest) -> HttpResponse:
    """Upload → preview (nothing changes yet). The rows wait in the session for the confirmation."""
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            if upload.size > importers.MAX_BYTES:
                raise importers.ImportFileError(
                    _("The file is larger than %(mb)s MB: split it into smaller files.")
                    % {"mb": importers.MAX_BYTES // 2**20}
                )
            rows = importers.read_workbook(upload.read(), upload.name)
        except importers.ImportFileError as exc:
            form.add_error("file", exc.message)
        else:
            plan = importers.plan_import(rows)
            token = secrets.token_urlsafe(16)
            request.session[IMPORT_SESSION_KEY] = {"token": token, "name": upload.name[:100], "rows": rows}
            return render(
                request,
                "accounts/import_preview.html",
                {"plan": plan, "token": token, "file_name": upload.name},
            )
    return render(request, "accounts/import.html", {"form": autofocus(form)})


@security_only
@require_POST
def people_import_confirm(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(IMPORT_SESSION_KEY)
    if not pending or pending.get("token") != request.POST.get("token"):
        messages.error(request, _("Nothing is waiting to be imported: upload the file again."))
        return redirect("accounts:people_import")
    try:
        plan = services.do_import_people(
            pending["rows"], actor=request.user, file_name=pending["name"], ip=client_ip(request)
        )
    except importers.ImportRefused as exc:
        messages.error(request, _("Nothing was imported: the rows below have errors."))
        return render(
            request,
            "accounts/import_preview.html",
            {"plan": exc.plan, "token": pending["token"], "file_name": pending["name"]},
            status=409,
        )
    del request.session[IMPORT_SESSION_KEY]
    request.session[IMPORT_RESULT_KEY] = {
        "name": pending["name"],
        "counts": plan.counts,
        "rows": len(plan.rows),
    }
    return redirect("accounts:people_import_done")


@security_only
def people_import_done(request: HttpRequest) -> HttpResponse:
    result = request.session.get(IMPORT_RESULT_KEY)
    if result is None:
        return redirect("accounts:people_import")
    return render(request, "accounts/import_done.html", {"result": result})
