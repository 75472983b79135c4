from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SearchConfig(AppConfig):
    name = "soporte.search"
    label = "search"
    verbose_name = _("Search")

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from . import receivers  # noqa: F401  (hook into the tickets area)
        from .fts5 import register_functions

        connection_created.connect(register_functions, dispatch_uid="search.sqlite_functions")
