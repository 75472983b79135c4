from django import template

from ..models import Status

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    """The translated label of a status value, for list rows read as plain values."""
    try:
        return str(Status(value).label)
    except ValueError:
        return value
