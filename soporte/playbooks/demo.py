"""Demo playbooks: the shipped checklists linked to the demo's categories, and a malware
ticket half-way through its checklist, with a sub-task and a remote session."""

from __future__ import annotations

from typing import Any

from soporte.tickets import demo
from soporte.tickets import services as tickets
from soporte.tickets.models import Category, Channel, Level

from . import services
from .defaults import ensure_default_templates


@demo.register
def load(context: dict[str, Any]) -> None:
    people, teams = context["people"], context["teams"]
    software = Category.objects.filter(name="Software", parent=None).first()
    if software is not None:
        Category.objects.get_or_create(name="Operating system", parent=software)
    ensure_default_templates()
    malware = Category.objects.filter(name="Malware").first()
    if malware is None:
        return
    ana = people["ana"]
    ticket = tickets.open_ticket(
        acting_user=ana,
        requester=people["maria"],
        subject="Pop-ups and a slow laptop after installing a PDF tool",
        body="Caller says ads pop up everywhere since she installed a free PDF converter.",
        channel=Channel.PHONE,
        impact=Level.MEDIUM,
        urgency=Level.HIGH,
        team=teams["L1"],
        assignee=ana,
        category=malware,
    )
    checklist = ticket.checklists.first()
    if checklist is not None:
        first, second = list(checklist.steps.all())[:2]
        services.set_step(ticket, first.pk, acting_user=ana, done=True,
                          note="Wi-Fi off, cable unplugged")  # fmt: skip
        services.set_step(ticket, second.pk, acting_user=ana, done=True, note="Adware.PDFix")
    services.start_remote_session(
        ticket, acting_user=ana, tool="quick_assist", session_id="482 913",
        consent_by="María López", consent_method="verbal",
    )  # fmt: skip
    services.create_subtask(
        ticket, acting_user=ana, title="Check the proxy logs for other infected machines",
        assignee=ana,
    )  # fmt: skip
