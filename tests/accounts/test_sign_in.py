"""Signing in: password, throttling of repeated failures, one-time emailed links."""

from __future__ import annotations

import re

import pytest
from django.core import mail
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _real_password_hashes(request, settings):
    """The suite hashes cheaply (tests/conftest.py); the test that checks hashing gets
    the production hasher."""
    if request.function is test_passwords_are_hashed_with_argon2:
        settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]


@pytest.fixture
def maria_with_password(maria):
    maria.set_password(PASSWORD)
    maria.save()
    return maria


def sign_in(client, username, password):
    return client.post("/login/", {"username": username, "password": password})


def test_a_requester_signs_in_with_username_or_email(maria_with_password):
    assert sign_in(Client(), "maria", PASSWORD)["Location"] == "/"
    assert sign_in(Client(), "MARIA@example.org", PASSWORD)["Location"] == "/"


def test_a_wrong_password_shows_a_clear_error(maria_with_password):
    response = sign_in(Client(), "maria", "nope")
    assert response.status_code == 200
    assert b"do not match" in response.content


def test_repeated_failures_lock_the_account_for_a_while(maria_with_password, settings):
    settings.LOGIN_MAX_FAILURES = 3
    client = Client()
    for _ in range(3):
        sign_in(client, "maria", "wrong")
    # Even the right password is refused while locked, with a clear message.
    response = sign_in(client, "maria", PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert "_auth_user_id" not in client.session


def test_the_lock_expires(maria_with_password, settings):
    settings.LOGIN_MAX_FAILURES = 2
    settings.LOGIN_LOCK_SECONDS = 1
    for _ in range(2):
        sign_in(Client(), "maria", "wrong")
    from datetime import timedelta

    from django.utils import timezone

    from soporte.accounts.models import LoginFailure

    LoginFailure.objects.update(created_at=timezone.now() - timedelta(seconds=5))
    assert sign_in(Client(), "maria", PASSWORD).status_code == 302


def test_one_address_failing_on_many_names_is_locked(maria_with_password, settings):
    settings.LOGIN_MAX_FAILURES_PER_IP = 4
    client = Client()
    for name in ("a", "b", "c", "d"):
        sign_in(client, name, "x")
    assert sign_in(client, "maria", PASSWORD).status_code == 429


def test_redirects_after_sign_in_stay_on_this_site(maria_with_password):
    response = Client().post(
        "/login/", {"username": "maria", "password": PASSWORD, "next": "https://evil.example/"}
    )
    assert response["Location"] == "/"


def _link_from_mail() -> str:
    assert len(mail.outbox) == 1
    return re.search(r"http://testserver(/login/link/\S+/)", mail.outbox[0].body).group(1)


def test_a_sign_in_link_works_once(maria, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/login/link/", {"email": "maria@example.org"})
    assert response.status_code == 302
    link = _link_from_mail()
    # Opening the link (as a mail scanner would) does not sign in or use it up.
    assert client.get(link).status_code == 200
    assert "_auth_user_id" not in client.session
    assert client.post(link).status_code == 302
    assert client.session["_auth_user_id"] == str(maria.pk)
    # A second use is refused.
    other = Client()
    other.post(link)
    assert "_auth_user_id" not in other.session


def test_asking_a_link_for_an_unknown_address_says_the_same_and_sends_nothing(
    db, settings, django_capture_on_commit_callbacks
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    with django_capture_on_commit_callbacks(execute=True):
        response = Client().post("/login/link/", {"email": "nobody@example.org"}, follow=True)
    assert b"If an account uses that address" in response.content
    assert mail.outbox == []


def test_a_tampered_link_is_refused(maria):
    client = Client()
    response = client.post("/login/link/not-a-real-token/", follow=True)
    assert b"expired or was already used" in response.content
    assert "_auth_user_id" not in client.session


def test_passwords_are_hashed_with_argon2(maria_with_password):
    assert maria_with_password.password.startswith("argon2$argon2id$v=19$m=102400,t=2,p=8")


def test_preferences_change_the_language_of_the_pages(maria):
    client = Client()
    client.force_login(maria)
    response = client.post(
        "/preferences/",
        {
            "first_name": "María",
            "last_name": "López",
            "language": "es",
            "time_zone": "Europe/Madrid",
        },
    )
    assert response.status_code == 302
    maria.refresh_from_db()
    assert (maria.language, maria.time_zone) == ("es", "Europe/Madrid")
    bad = client.post(
        "/preferences/",
        {"first_name": "M", "last_name": "L", "language": "es", "time_zone": "Mars/Olympus"},
    )
    assert bad.status_code == 200
    maria.refresh_from_db()
    assert maria.time_zone == "Europe/Madrid"
