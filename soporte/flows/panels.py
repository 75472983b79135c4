"""The "Troubleshoot" box on the agent's ticket page. It costs the page no query: a link
to the flows that can run on the ticket."""

from __future__ import annotations

from soporte.tickets import panels


@panels.register
def flows_panel(ticket, user):
    if not getattr(user, "is_agent", False):
        return None
    return "flows/desk/_ticket_panel.html", {"number": ticket.number}
