from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "soporte.training"
    label = "training"
    verbose_name = _("Training")

    def ready(self) -> None:
        from . import demo, panels  # noqa: F401  (hook into the tickets area)
