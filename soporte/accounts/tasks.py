from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from .models import User


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_sign_in_link(user_id: int, url: str) -> None:
    user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is None or not user.email:
        return
    with translation.override(user.language):
        context = {"user": user, "url": url, "minutes": settings.SIGN_IN_LINK_SECONDS // 60}
        subject = render_to_string("accounts/sign_in_link_subject.txt", context).strip()
        body = render_to_string("accounts/sign_in_link.txt", context)
    send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [user.email])
