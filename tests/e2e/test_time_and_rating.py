"""Time and satisfaction in a browser: an agent answers with the time spent and runs the
timer across a reload; the requester follows the link in the resolved mail, without
signing in, and rates the resolution."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.core import mail
from playwright.sync_api import expect

from soporte.tickets import services
from soporte.tickets.models import SatisfactionRating, TimeEntry

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_logs_time_and_the_requester_rates_from_the_resolved_mail(
    new_page, sign_in, alice, maria, teams, make_ticket
):
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])

    # the agent answers with the time spent, then starts a timer that survives a reload
    set_password(alice)
    page = new_page()
    sign_in(page, alice)
    page.goto(f"/desk/tickets/{ticket.number}/")
    page.fill("#body", "Please restart the printer.")
    page.fill("#time-spent", "1h 30m")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".time-total")).to_contain_text("Total 1h 30m")
    page.get_by_role("button", name="Start timer").click()
    # Let the start land before reloading (a reload during its navigation has no page).
    expect(page.get_by_role("button", name="Stop and log")).to_be_visible()
    page.wait_for_load_state("networkidle")
    page.reload()
    expect(page.locator(".timer.running")).to_contain_text("Your timer is running")
    page.get_by_role("button", name="Stop and log").click()
    expect(page.locator(".timer.running")).to_have_count(0)
    page.wait_for_load_state("networkidle")  # no request running beside the writes below
    assert sorted(TimeEntry.objects.values_list("seconds", flat=True))[-1] == 5400
    assert TimeEntry.objects.count() == 2

    # resolved: the mail (sent by its job after the commit) carries the rating link
    mail.outbox.clear()
    ticket.refresh_from_db()
    services.resolve(ticket, acting_user=alice, resolution="Printer restarted.")
    [sent] = [m for m in mail.outbox if m.to == [maria.email]]
    link = re.search(r"https?://\S+/rate/\S+/", sent.body).group(0)

    # the requester, not signed in, rates from the link
    requester = new_page()
    requester.goto(urlsplit(link).path)
    expect(requester.locator("h1")).to_contain_text("How did we do?")
    expect(requester.locator("article")).to_contain_text(ticket.subject)
    assert not SatisfactionRating.objects.exists()  # opening the link records nothing
    requester.get_by_label("4 - Good").check()
    requester.fill("textarea[name=comment]", "Quick and kind.")
    requester.get_by_role("button", name="Send my rating").click()
    expect(requester.locator(".notice")).to_contain_text("Thank you")
    rating = SatisfactionRating.objects.get()
    assert (rating.ticket_id, rating.rating, rating.comment) == (ticket.pk, 4, "Quick and kind.")

    # the agent sees it on the ticket page
    page.reload()
    expect(page.locator(".rating-box")).to_contain_text("4/5")
