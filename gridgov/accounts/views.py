from __future__ import annotations

from typing import cast

from django.conf import settings
from django.contrib import auth
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import LoginView
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import formats, timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from gridgov.core.scoping import visible_to
from gridgov.grids.models import Grid

from .models import RoleAssignment, User
from .scoping import scope_of

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


@login_required
def home(request: HttpRequest) -> HttpResponse:
    user = cast(User, request.user)  # login_required: never anonymous here
    roles = visible_to(user, RoleAssignment).filter(user_id=user.pk).select_related("grid", "department")
    grids = visible_to(user, Grid.objects.current())
    scope = scope_of(user)
    if not scope.everything and scope.grid_paths:
        grids = grids.filter(scope.grid_q())  # the subtrees held, not the ancestors shown for context
    return render(request, "home.html", {"roles": roles, "grid_count": grids.count()})


def people(request: HttpRequest) -> HttpResponse:  # scaffolding: replaced while building issue 4
    return HttpResponse("pending")
