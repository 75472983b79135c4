"""Checks other areas register to hold a ticket back from resolution (e.g. required
checklist steps not done), so tickets never imports those areas.

A guard takes the ticket and returns the reasons it may not be resolved yet (empty when
it may), each a sentence fit to show the agent."""

from __future__ import annotations

from collections.abc import Callable

from django.utils.translation import gettext as _

from soporte.lib.errors import Conflict

from .models import Ticket

ResolveGuard = Callable[[Ticket], list[str]]
_resolve_guards: list[ResolveGuard] = []


def register_resolve_guard(guard: ResolveGuard) -> ResolveGuard:
    if guard not in _resolve_guards:
        _resolve_guards.append(guard)
    return guard


def reasons_not_to_resolve(ticket: Ticket) -> list[str]:
    return [reason for guard in _resolve_guards for reason in guard(ticket)]


def check_resolvable(ticket: Ticket) -> None:
    """Raise Conflict (409) naming every reason when a guard holds the ticket back."""
    reasons = reasons_not_to_resolve(ticket)
    if reasons:
        raise Conflict(
            _("Ticket #%(number)s cannot be resolved yet: %(reasons)s")
            % {"number": ticket.number, "reasons": " ".join(reasons)}
        )
