from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MailConfig(AppConfig):
    name = "soporte.mail"
    label = "mail"
    verbose_name = _("Email")

    def ready(self) -> None:
        from . import panels, receivers  # noqa: F401  (hook into the tickets area)
