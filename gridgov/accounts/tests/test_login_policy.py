import datetime as dt

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from gridgov.accounts.models import User
from gridgov.core.models import AuditRecord

LOGIN = "/accounts/login/"


def sign_in(client, username, password):
    return client.post(LOGIN, {"username": username, "password": password})


@pytest.mark.django_db
def test_passwords_are_hashed_with_argon2(make_user):
    user = make_user("wang")
    assert user.password.startswith("argon2$")


@pytest.mark.django_db
def test_five_failures_lock_the_account_for_thirty_minutes(client, make_user):
    make_user("wang", password="Correct-Horse-9")
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        response = sign_in(client, "wang", "wrong-password")
        assert response.status_code == 200
    user = User.objects.get(username="wang")
    assert user.is_locked
    remaining = user.locked_until - timezone.now()
    assert dt.timedelta(minutes=29) < remaining <= dt.timedelta(minutes=30)

    # Even the right password is refused while locked, with a message that says so.
    response = sign_in(client, "wang", "Correct-Horse-9")
    assert "_auth_user_id" not in client.session
    assert "锁定" in response.content.decode()

    # Once the lock runs out, the right password works and the counter starts again.
    User.objects.filter(username="wang").update(locked_until=timezone.now() - dt.timedelta(seconds=1))
    response = sign_in(client, "wang", "Correct-Horse-9")
    assert response.status_code == 302
    assert User.objects.get(username="wang").failed_logins == 0
    actions = list(AuditRecord.objects.order_by("id").values_list("action", flat=True))
    assert actions.count("login.failed") == settings.LOGIN_FAILURE_LIMIT - 1
    assert "login.locked_now" in actions and "login.locked" in actions and actions[-1] == "login"


@pytest.mark.django_db
def test_failures_below_the_limit_do_not_lock(client, make_user):
    make_user("li")
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        sign_in(client, "li", "nope")
    assert sign_in(client, "li", "Correct-Horse-9").status_code == 302


@pytest.mark.django_db
def test_unknown_user_is_refused_and_audited_without_saying_which_part_is_wrong(client):
    response = sign_in(client, "nobody", "whatever-123")
    assert response.status_code == 200
    assert "用户名或密码错误" in response.content.decode()
    assert AuditRecord.objects.filter(action="login.failed", success=False).exists()


@pytest.mark.django_db
def test_sessions_end_after_thirty_idle_minutes(client, django_user_model):
    # The session lives 30 minutes and a request renews it (at most once a minute): an idle timeout.
    from django.contrib.sessions.models import Session

    from gridgov.accounts.middleware import RENEWED

    assert settings.SESSION_COOKIE_AGE == 30 * 60
    user = django_user_model.objects.create_user("idle", password="Correct-Horse-9")
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    first = Session.objects.get(session_key=key).expire_date
    client.get(reverse("home"))
    assert Session.objects.get(session_key=key).expire_date == first  # renewed less than a minute ago
    session = client.session
    session[RENEWED] -= 61
    session.save()
    saved = Session.objects.get(session_key=key).expire_date
    Session.objects.filter(session_key=key).update(expire_date=saved - dt.timedelta(minutes=10))
    # A live page polling by itself leaves the clock running; the person's next request renews it.
    client.get(reverse("home"), headers={"X-Gridgov-Background": "1"})
    assert Session.objects.get(session_key=key).expire_date == saved - dt.timedelta(minutes=10)
    client.get(reverse("home"))
    assert Session.objects.get(session_key=key).expire_date > saved - dt.timedelta(minutes=10)


@pytest.mark.django_db
def test_pages_need_a_signed_in_user(client):
    response = client.get(reverse("home"))
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
