from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TrainingConfig(AppConfig):
    name = "soporte.training"
    label = "training"
    verbose_name = _("Training")

    def ready(self) -> None:
        from soporte.mail.hooks import register_inbound_handler

        from . import demo, panels  # noqa: F401  (hook into the tickets area)
        from .inbound import claim_calendar_reply

        # Calendar programs mail their answers to the invitation: take them off the queue.
        register_inbound_handler(claim_calendar_reply)
