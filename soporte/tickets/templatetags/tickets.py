from django import template
from django.utils.translation import gettext_lazy as _

from ..models import Status

register = template.Library()


@register.filter
def status_label(value: str) -> str:
    """The translated label of a status value, for list rows read as plain values."""
    try:
        return str(Status(value).label)
    except ValueError:
        return value


@register.filter
def field_label(name: str) -> str:
    """The translated label of a ticket field named in an event ("status" -> "Estado")."""
    from django.core.exceptions import FieldDoesNotExist

    from ..models import Ticket

    try:
        return str(Ticket._meta.get_field(name).verbose_name)
    except FieldDoesNotExist:
        return name


@register.filter
def event_value(value: str, field: str) -> str:
    """Status values are shown by their label; other values as recorded."""
    return status_label(value) if field == "status" and value else value


# SLA targets as the events record them (soporte/sla names them; tickets only shows them).
SLA_TARGETS = {
    "first_response": _("First response"),
    "next_response": _("Next response"),
    "resolution": _("Resolution"),
    "tier": _("Time at tier"),
}


@register.filter
def sla_target(value: str) -> str:
    return str(SLA_TARGETS.get(value, value))


@register.filter
def fold_quotes(text: str) -> tuple[str, str]:
    """(what this message says, the quoted history and signature below it)."""
    from soporte.lib.quotes import split_quoted

    return split_quoted(text or "")
