from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class FlowsConfig(AppConfig):
    name = "soporte.flows"
    label = "flows"
    verbose_name = _("Troubleshooting flows")

    def ready(self) -> None:
        from . import demo, panels  # noqa: F401  (hook into the tickets area)
