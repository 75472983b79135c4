from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ProblemsConfig(AppConfig):
    name = "soporte.problems"
    label = "problems"
    verbose_name = _("Problems")

    def ready(self) -> None:
        from . import demo, panels  # noqa: F401  (hook into the tickets area)
