from django import template
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def duration(seconds: int) -> str:
    """2 d 3 h, 3 h 15 min, 12 min: precise enough to act on, short enough to scan."""
    minutes = max(int(seconds), 0) // 60
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    if days:
        return _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    if hours:
        return _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    return _("%(m)s min") % {"m": minutes}
