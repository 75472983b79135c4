"""Demo problems: a known error with its workaround, linked to a ticket of its own, and
one under investigation."""

from __future__ import annotations

from typing import Any

from soporte.tickets import demo
from soporte.tickets import services as ticket_services

from . import services
from .models import ProblemStatus


@demo.register
def load(context: dict[str, Any]) -> None:
    people = context["people"]
    ana = people["ana"]
    ticket = ticket_services.open_ticket(
        acting_user=people["maria"],
        subject="Outlook asks for my password again and again",
        body="Since Monday Outlook keeps asking for my password, every few minutes.",
    )
    services.create_problem(
        acting_user=ana,
        title="Outlook password prompts after the mail server update",
        description="Outlook on Windows asks for the password repeatedly since the update.",
        root_cause="The new server drops legacy authentication; old profiles still use it.",
        workaround="Remove the mail account in Outlook and add it again (File > Account "
        "settings); it signs in with modern authentication.",
        status=ProblemStatus.KNOWN_ERROR,
        notify_when_fixed=True,
        tickets=[ticket],
    )
    services.create_problem(
        acting_user=ana,
        title="VPN disconnects every ten minutes",
        description="Several laptops lose the VPN since the gateway update.",
    )
