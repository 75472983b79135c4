from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation

from soporte.jobs.registry import job

from .models import User


@job("accounts.send_sign_in_link", max_attempts=3, retry_on=(OSError,), backoff=10.0)
def send_sign_in_link(user_id: int, site_url: str) -> None:
    from .services import make_sign_in_token

    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    url = site_url + reverse("sign_in_with_link", args=[make_sign_in_token(user)])
    with translation.override(user.language):
        context = {"user": user, "url": url, "minutes": settings.SIGN_IN_LINK_SECONDS // 60}
        subject = render_to_string("accounts/sign_in_link_subject.txt", context).strip()
        body = render_to_string("accounts/sign_in_link.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
