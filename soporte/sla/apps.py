from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SlaConfig(AppConfig):
    name = "soporte.sla"
    label = "sla"
    verbose_name = _("Service levels")

    def ready(self) -> None:
        from . import demo, panels, receivers  # noqa: F401  (hook into the tickets area)
