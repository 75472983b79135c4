from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AssetsConfig(AppConfig):
    name = "soporte.assets"
    label = "assets"
    verbose_name = _("Assets")

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import demo, panels  # noqa: F401  (hook into the tickets area)
        from .inventory import forget_products

        # A flush (tests) or migration may remove products whose ids are cached.
        post_migrate.connect(forget_products, dispatch_uid="assets.forget_products")
