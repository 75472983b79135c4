from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReportsConfig(AppConfig):
    name = "soporte.reports"
    label = "reports"
    verbose_name = _("Reports")

    def ready(self) -> None:
        from . import receivers  # noqa: F401  (listen to ticket changes)
