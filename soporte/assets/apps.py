from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "soporte.assets"
    label = "assets"
    verbose_name = _("Assets")

    def ready(self) -> None:
        from . import demo, panels  # noqa: F401  (hook into the tickets area)
