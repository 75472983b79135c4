"""The playbooks box on the agent's ticket page. It costs the page no query: checklists,
sub-tasks and remote sessions load on their own (htmx), or on a page of their own."""

from __future__ import annotations

from soporte.tickets import panels


@panels.register
def playbooks_panel(ticket, user):
    if not user.is_agent:
        return None
    return "playbooks/desk/_panel_loader.html", {"number": ticket.number}
