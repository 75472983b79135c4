from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "soporte.mail"
    label = "mail"
    verbose_name = _("Email")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (connects to tickets.signals)
