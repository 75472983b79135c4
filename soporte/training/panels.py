"""The "recommend a course" box on the agent's ticket page. It costs the page no query:
the form (courses and upcoming sessions) loads on its own."""

from __future__ import annotations

from soporte.tickets import panels


@panels.register
def training_panel(ticket, user):
    if not user.is_agent:
        return None
    return "training/desk/_ticket_panel.html", {"number": ticket.number}
