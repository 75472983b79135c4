"""A macro in the browser: Alice picks one on the ticket page, sees what it will do, and
applies it in one click; the reply and the new status show on the page."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from soporte.tickets import workspace
from soporte.tickets.models import MacroKind, Status, Ticket

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_applies_a_macro_and_sees_the_reply_and_the_new_status(
    new_page, sign_in, alice, carol, maria, teams, make_ticket
):
    # given: a shared macro, and Maria's ticket in Alice's queue
    ticket = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    macro = workspace.create_macro(
        acting_user=carol,
        title="Ask for the printer model",
        body="Hello {{ requester.first_name }}, which printer model is it? (#{{ ticket.number }})",
        kind=MacroKind.REPLY,
        status=Status.PENDING_CUSTOMER,
        tags=["needs-info"],
        shared=True,
    )
    set_password(alice)
    page = new_page()
    sign_in(page, alice)
    page.goto(f"/desk/tickets/{ticket.number}/")

    # when: she picks the macro, its preview appears (htmx), and she applies it
    page.select_option("#macro", str(macro.pk))
    preview = page.locator("#macro-preview")
    expect(preview).to_contain_text(f"Hello Maria, which printer model is it? (#{ticket.number})")
    expect(preview).to_contain_text("Status: Pending customer")
    page.get_by_role("button", name="Apply", exact=True).click()

    # then: the reply, the status and the tag show on the page
    expect(page.locator(".messages")).to_contain_text("Macro Ask for the printer model applied.")
    expect(page.locator(".entry-reply").last).to_contain_text(
        f"Hello Maria, which printer model is it? (#{ticket.number})"
    )
    expect(page.locator(".facts")).to_contain_text("Pending customer")
    expect(page.locator(".facts")).to_contain_text("needs-info")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == Status.PENDING_CUSTOMER

    # and the history says which macro did it
    page.get_by_role("link", name="Show every change to this ticket").click()
    expect(page.locator("#history")).to_contain_text("Ask for the printer model")


def test_an_agent_makes_a_personal_macro_from_the_desk(new_page, sign_in, alice):
    set_password(alice)
    page = new_page()
    sign_in(page, alice)
    page.goto("/desk/")
    page.get_by_role("link", name="Macros", exact=True).click()

    page.fill("#id_title", "Leak")
    page.fill("#id_body", "Your password: {{ requester.password }}")
    page.get_by_role("button", name="Save macro").click()
    expect(page.locator(".error").first).to_contain_text("{{ requester.password }}")

    page.fill("#id_body", "Thanks, {{ requester.first_name }}!")
    page.fill("#id_title", "Thanks")
    page.get_by_role("button", name="Save macro").click()
    expect(page.locator(".messages")).to_contain_text("Macro Thanks saved.")
    expect(page.locator("table.macros")).to_contain_text("Thanks")
