from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TriageConfig(AppConfig):
    name = "soporte.triage"
    label = "triage"
    verbose_name = _("Triage")

    def ready(self) -> None:
        from . import panels, receivers  # noqa: F401  (hook into the tickets area)
