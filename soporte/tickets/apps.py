from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TicketsConfig(AppConfig):
    name = "soporte.tickets"
    label = "tickets"
    verbose_name = _("Tickets")

    def ready(self) -> None:
        # The time and rating boxes of the ticket page register as their views load.
        from .views import rating, time  # noqa: F401
