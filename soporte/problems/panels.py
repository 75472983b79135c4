"""The problems box on the agent's ticket page (linked problems, a known error's
workaround, bug status and delivery failures; similar known errors load on their own),
and the requester's view of a known error's public workaround."""

from __future__ import annotations

from soporte.tickets import panels

from . import services


@panels.register
def problems_panel(ticket, user):
    if not user.is_agent:
        return None
    problems = services.problems_of(ticket)
    return "problems/desk/_ticket_panel.html", {
        "number": ticket.number,
        "problems": problems,
        "failures": services.failed_reports(problems),
    }


def portal_panel(ticket, user):
    """What a requester sees on a linked ticket: only the public workarounds of known
    errors (no root cause, no internal text)."""
    problems = services.public_workarounds(ticket)
    if not problems:
        return None
    return "problems/portal/_workarounds.html", {"problems": problems}


panels.register_portal(portal_panel)
