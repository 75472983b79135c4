import re

import pytest
from playwright.sync_api import expect

from soporte.tickets.models import Message, Status, Ticket

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_works_a_ticket_from_the_queue_to_resolved(new_page, sign_in, alice, bob, ticket):
    """Sign in, open the ticket from the queue, reply, note, escalate, resolve."""
    # given
    set_password(alice)
    page = new_page()
    sign_in(page, alice)

    # when: open it from the ticket list
    page.goto("/desk/tickets/")
    page.get_by_role("link", name=ticket.subject).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(ticket.subject)

    # reply
    page.check("input[name=kind][value=reply]")
    page.fill("#body", "Please try the other tray.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".entry-reply").last).to_contain_text("Please try the other tray.")

    # internal note
    page.check("input[name=kind][value=note]")
    page.fill("#body", "Tray 2 sensor looks broken.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".entry-note").last).to_contain_text("Tray 2 sensor looks broken.")

    # escalate, with a reason
    page.get_by_text("Escalate", exact=True).first.click()
    page.fill("#escalate-reason", "Needs a technician on site.")
    page.locator("form[action$='/escalate/'] button").click()
    expect(page.locator(".messages")).to_contain_text("moved to Infrastructure L2")

    # then the ticket left Alice's queues, so Bob (L2) resolves it
    set_password(bob)
    page2 = new_page()
    sign_in(page2, bob)
    page2.goto(f"/desk/tickets/{ticket.number}/")
    page2.get_by_text("Resolve", exact=True).first.click()
    page2.fill("#resolution", "Replaced the tray sensor.")
    page2.locator("form[action$='/resolve/'] button").click()
    expect(page2.locator(".facts")).to_contain_text("Resolved")

    ticket.refresh_from_db()
    assert ticket.status == Status.RESOLVED
    assert ticket.resolution == "Replaced the tray sensor."
    kinds = list(Message.objects.filter(ticket=ticket).values_list("kind", flat=True))
    assert kinds == ["reply", "reply", "note"]


def test_a_stale_reply_shows_the_conflict_and_keeps_the_text(
    new_page, sign_in, alice, carol, ticket
):
    set_password(alice)
    page = new_page()
    sign_in(page, alice)
    page.goto(f"/desk/tickets/{ticket.number}/")
    # The page's boxes load after it (htmx); the test's SQLite is in memory, where a write
    # beside a running request fails instead of waiting.
    page.wait_for_load_state("networkidle")

    # Meanwhile Carol changes the ticket.
    from soporte.tickets import services

    services.add_note(ticket, acting_user=carol, body="Carol was here.")

    page.fill("#body", "My long careful answer.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".message.error")).to_contain_text(re.compile("changed by someone else"))
    expect(page.locator("#body")).to_have_value("My long careful answer.")
    assert (
        not Ticket.objects.get(pk=ticket.pk).messages.filter(body_text__contains="careful").exists()
    )


def test_the_page_warns_when_another_agent_is_replying(new_page, sign_in, alice, carol, ticket):
    from soporte.tickets import workspace

    set_password(alice)
    page = new_page()
    sign_in(page, alice)
    page.goto(f"/desk/tickets/{ticket.number}/")
    workspace.mark_composing(ticket, acting_user=carol)
    page.reload()
    expect(page.locator("#activity")).to_contain_text("is replying right now")
