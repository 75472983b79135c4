"""The assets box on the agent's ticket page: the assets the ticket is about, and a form
to link one more by its tag."""

from __future__ import annotations

from soporte.tickets import panels

from .models import TicketAsset


@panels.register
def assets_panel(ticket, user):
    if not user.is_agent:
        return None
    links = list(
        TicketAsset.objects.filter(ticket=ticket)
        .select_related("asset__type", "asset__location", "asset__owner")
        .order_by("linked_at", "id")
    )
    return "assets/desk/_ticket_panel.html", {
        "number": ticket.number,
        "assets": [link.asset for link in links],
    }


# The requester's own assets, offered on the portal's new-ticket form.
panels.register_portal_form_part("assets/portal/_new_ticket_offer.html")
