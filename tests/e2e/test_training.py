"""Training in a browser: an agent makes a course, schedules a session and invites an
organization; a requester of it finds the session on the portal, in her own time zone,
and accepts; the mail she got carries the calendar invitation."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from playwright.sync_api import expect

from soporte.training.models import Attendee

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_invites_an_organization_and_a_requester_accepts(
    new_page, sign_in, alice, maria, acme
):
    set_password(alice)
    set_password(maria)
    maria.time_zone = "America/Argentina/Buenos_Aires"
    maria.save(update_fields=["time_zone"])
    start = (timezone.now() + timedelta(days=5)).replace(second=0, microsecond=0)

    page = new_page()
    sign_in(page, alice)
    page.goto("/desk/training/")
    page.fill("#id_title", "Phishing awareness")
    page.get_by_role("button", name="Create course").click()
    expect(page.locator("h1")).to_have_text("Phishing awareness")

    page.fill("#id_starts_at", start.strftime("%Y-%m-%dT%H:%M"))
    page.fill("#id_time_zone", "UTC")
    page.fill("#id_duration_minutes", "60")
    page.fill("#id_capacity", "10")
    page.select_option("#id_trainer", str(alice.pk))
    page.fill("#id_place", "Room 4")
    page.get_by_role("button", name="Schedule").click()
    page.locator("table a", has_text=start.strftime("%Y-%m-%d")).click()
    page.select_option("#id_organizations", str(acme.pk))
    page.get_by_role("button", name="Send invitations").click()
    expect(page.locator("table")).to_contain_text("Invited")
    assert [m.to for m in mail.outbox] == [[maria.email]]
    assert "BEGIN:VCALENDAR" in mail.outbox[0].alternatives[0][0]

    requester = new_page()
    sign_in(requester, maria)
    requester.goto("/portal/training/")
    requester.get_by_role("link", name="Phishing awareness").click()
    local = start.astimezone(timezone.get_fixed_timezone(-180)).strftime("%Y-%m-%d %H:%M")
    expect(requester.locator("#local-start")).to_have_text(local)
    requester.get_by_role("button", name="Accept").click()
    expect(requester.locator("#my-status")).to_contain_text("Accepted")
    assert Attendee.objects.get(user=maria).status == "accepted"
