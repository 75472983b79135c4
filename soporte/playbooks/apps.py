from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PlaybooksConfig(AppConfig):
    name = "soporte.playbooks"
    label = "playbooks"
    verbose_name = _("Playbooks")
