from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EvaluationsConfig(AppConfig):
    name = "soporte.evaluations"
    label = "evaluations"
    verbose_name = _("Product evaluations")

    def ready(self) -> None:
        from . import demo  # noqa: F401  (hook into `soporte demo`)
