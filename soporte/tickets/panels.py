"""Boxes other areas add to the agent's ticket page (e.g. mail that could not be sent),
so the page can show them without tickets importing those areas."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from soporte.accounts.models import User

from .models import Ticket

# A panel returns (template name, context) to show something, or None.
Panel = Callable[[Ticket, User], tuple[str, dict[str, Any]] | None]
_panels: list[Panel] = []


def register(panel: Panel) -> Panel:
    if panel not in _panels:
        _panels.append(panel)
    return panel


def for_ticket(ticket: Ticket, user: User) -> list[tuple[str, dict[str, Any]]]:
    shown = (panel(ticket, user) for panel in _panels)
    return [item for item in shown if item is not None]


# Boxes on the requester's view of a ticket (e.g. a known error's public workaround):
# the same shape as the agent's, shown to requesters, so each must show only what a
# requester may read.
_portal_panels: list[Panel] = []


def register_portal(panel: Panel) -> Panel:
    if panel not in _portal_panels:
        _portal_panels.append(panel)
    return panel


def for_portal_ticket(ticket: Ticket, user: User) -> list[tuple[str, dict[str, Any]]]:
    shown = (panel(ticket, user) for panel in _portal_panels)
    return [item for item in shown if item is not None]


# Templates other areas add inside the portal's new-ticket form (article suggestions, the
# requester's assets), included in registration order.
_portal_form_parts: list[str] = []


def register_portal_form_part(template: str) -> None:
    if template not in _portal_form_parts:
        _portal_form_parts.append(template)


def portal_form_parts() -> list[str]:
    return list(_portal_form_parts)
