"""Macro placeholders: a small whitelist renderer, never Django's template engine.

A macro's text is written by agents. The template engine would let that text reach
any attribute of the objects it is given (``{{ requester.password }}``), call methods
and load tags. Here a placeholder is one of the names in PLACEHOLDERS, looked up in a
dict of plain strings: no attributes, no filters, no tags. An unknown placeholder is
left as typed and reported, so saving a macro with one can be refused by name.

Values are plain text: the reply body is text, and it is escaped where it is shown.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.conf import settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from soporte.accounts.models import User

from .models import CannedResponse, Level, MacroAssign, MacroKind, Priority, Status, Ticket

# `{{ name }}`, spaces inside the braces optional; braces never nest in a name.
PLACEHOLDER = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")

PLACEHOLDERS: tuple[str, ...] = (
    "ticket.number",
    "ticket.subject",
    "ticket.status",
    "ticket.priority",
    "ticket.url",
    "requester.first_name",
    "requester.last_name",
    "requester.name",
    "requester.email",
    "agent.first_name",
    "agent.name",
    "organization.name",
)


@dataclass(frozen=True)
class Rendered:
    text: str
    unknown: list[str]  # each unknown placeholder once, as typed: "{{ requester.password }}"


def render(text: str, values: Mapping[str, str]) -> Rendered:
    """Replace each known placeholder by its value, in one pass: a value that looks like
    a placeholder (a subject "{{ requester.email }}") is not expanded again."""
    unknown: list[str] = []

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in PLACEHOLDERS and name in values:
            return values[name]
        if match.group(0) not in unknown:
            unknown.append(match.group(0))
        return match.group(0)

    return Rendered(PLACEHOLDER.sub(replace, text or ""), unknown)


def unknown_placeholders(text: str) -> list[str]:
    """The placeholders in the text that are not in PLACEHOLDERS, as typed."""
    return render(text, dict.fromkeys(PLACEHOLDERS, "")).unknown


def unknown_error(unknown: list[str]) -> str:
    """The message that refuses a macro text with unknown placeholders, naming them."""
    return _("Unknown placeholder %(names)s. You can use: %(known)s.") % {
        "names": ", ".join(unknown),
        "known": ", ".join("{{ " + name + " }}" for name in PLACEHOLDERS),
    }


def requester_language(ticket: Ticket) -> str:
    """The requester's language when the site offers it, else the site's."""
    languages = {code for code, _name in settings.LANGUAGES}
    language = ticket.requester.language
    return language if language in languages else settings.LANGUAGE_CODE


def values_for(
    ticket: Ticket,
    *,
    agent: User,
    language: str,
    status: str | None = None,
    priority: str | None = None,
) -> dict[str, str]:
    """What each placeholder stands for on this ticket, as plain strings. `status` and
    `priority` are the ones the ticket will have once the macro is applied (default:
    its current ones); their labels are in `language`. Reads the ticket's requester and
    organization (no query when they were selected with it)."""
    requester = ticket.requester
    organization = ticket.organization
    with translation.override(language):
        status_label = str(Status(status or ticket.status).label)
        priority_label = str(Priority(priority or ticket.priority).label)
    path = reverse("portal:ticket", kwargs={"number": ticket.number})
    return {
        "ticket.number": str(ticket.number),
        "ticket.subject": ticket.subject,
        "ticket.status": status_label,
        "ticket.priority": priority_label,
        "ticket.url": settings.SITE_URL + path,
        # A requester known only by address often has no first name: the name then.
        "requester.first_name": requester.first_name or str(requester),
        "requester.last_name": requester.last_name,
        "requester.name": str(requester),
        "requester.email": requester.email,
        "agent.first_name": agent.first_name or str(agent),
        "agent.name": str(agent),
        "organization.name": organization.name if organization else "",
    }


def changes(macro: CannedResponse) -> list[str]:
    """What applying the macro does besides posting its text, one line each, in the
    active language (for the picker and the macro list). Reads macro.team and
    macro.assignee: select them with the macro."""
    lines = []
    if macro.status:
        lines.append(_("Status: %(value)s") % {"value": Status(macro.status).label})
    if macro.impact:
        lines.append(_("Impact: %(value)s") % {"value": Level(macro.impact).label})
    if macro.urgency:
        lines.append(_("Urgency: %(value)s") % {"value": Level(macro.urgency).label})
    if macro.team_id:
        lines.append(_("Team: %(value)s") % {"value": macro.team})
    if macro.assign == MacroAssign.ME:
        lines.append(_("Assign to the agent applying it"))
    elif macro.assign == MacroAssign.AGENT:
        lines.append(_("Assign to %(value)s") % {"value": macro.assignee})
    if macro.add_tags:
        lines.append(_("Add tags: %(value)s") % {"value": ", ".join(macro.add_tags)})
    return lines


def posts(macro: CannedResponse) -> str:
    """How the macro posts its text, or "" when it has none."""
    if not macro.body.strip():
        return ""
    return str(MacroKind(macro.kind).label)
