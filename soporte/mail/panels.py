from __future__ import annotations

from soporte.tickets import panels

from .models import OutboundMail, OutboundStatus


@panels.register
def failed_mail(ticket, user):
    """Mail about this ticket that could not be delivered, shown to agents."""
    failed = list(
        OutboundMail.objects.filter(ticket=ticket, status=OutboundStatus.FAILED).order_by("-id")[:5]
    )
    return ("mail/_failed_panel.html", {"failed": failed}) if failed else None
