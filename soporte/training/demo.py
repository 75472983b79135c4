"""Demo training: a VPN course for Acme with one session next week, María invited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from soporte.tickets import demo
from soporte.tickets.models import Category as TicketCategory

from . import services


@demo.register
def load(context: dict[str, Any]) -> None:
    people, orgs = context["people"], context["orgs"]
    supervisor, ana = people["supervisor"], people["ana"]
    course = services.create_course(
        acting_user=supervisor,
        title="Working from home: VPN and Wi-Fi",
        description="Connect to the VPN, fix the usual Wi-Fi problems, and know when to call.",
        audience="Everyone who works away from the office",
        categories=TicketCategory.objects.filter(name__in=["VPN", "Wi-Fi"]),
    )
    start = (timezone.now() + timedelta(days=7)).replace(minute=0, second=0, microsecond=0)
    session = services.schedule_session(
        course, acting_user=supervisor, starts_at=start, duration_minutes=90, capacity=12,
        trainer=ana, online_url="https://meet.example/vpn-basics",
        organizations=[orgs["acme"]] if "acme" in orgs else [],
    )  # fmt: skip
    services.invite(session, acting_user=supervisor, users=[people["maria"]])
