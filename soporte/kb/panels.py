"""The knowledge-base box on the agent's ticket page. It costs the page no query: its
content (suggested articles, similar resolved tickets, links) loads on its own."""

from __future__ import annotations

from soporte.tickets import panels

from .policy import is_agent


@panels.register
def kb_panel(ticket, user):
    if not is_agent(user):
        return None
    return "kb/desk/_ticket_panel.html", {"number": ticket.number}


# Article suggestions while a requester writes a new ticket on the portal.
panels.register_portal_form_part("kb/portal/_new_ticket_suggestions.html")
