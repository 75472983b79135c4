"""The triage box on the agent's ticket page. It costs the page no query: its content
(suggestions, duplicate, incident, similar tickets) loads on its own."""

from __future__ import annotations

from soporte.tickets import panels


@panels.register
def triage_panel(ticket, user):
    if not user.is_agent:
        return None
    return "triage/_ticket_panel.html", {"number": ticket.number}
