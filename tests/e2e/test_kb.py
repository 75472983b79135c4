"""The help center in a browser: suggestions while a requester writes a ticket, and the
tickets they save (deflections), counted when the article solved the problem or when
the requester leaves without sending the ticket."""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from soporte.kb import services
from soporte.kb.models import Category, Deflection, Outcome, Section
from soporte.tickets.models import Ticket

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def guide(alice, carol):
    """A published article, indexed (each service commits here; its jobs run then)."""
    section = Section.objects.create(
        category=Category.objects.create(name="Printing"), name="Printers"
    )
    article = services.create_article(
        acting_user=alice,
        title="Printer jams on every page",
        body="Open tray 2 and **remove the torn paper**.",
        section=section,
        visibility="public",
    )
    services.transition_article(article, acting_user=carol, status="published")
    return article


def _eventually(check, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return True
        time.sleep(0.1)
    return check()


def test_a_suggested_article_solves_the_problem_before_a_ticket(
    new_page, sign_in, maria, guide, dialogs
):
    set_password(maria)
    page = new_page()
    sign_in(page, maria)
    page.goto("/portal/new/")

    # typing the subject brings up the matching article
    page.locator("#id_subject").press_sequentially("my printer jams", delay=20)
    suggestion = page.locator("#kb-suggestions a", has_text="Printer jams on every page")
    expect(suggestion).to_be_visible()

    # it opens beside the form, which keeps what was typed
    with page.context.expect_page() as opened:
        suggestion.click()
    article = opened.value
    article.wait_for_load_state()
    expect(article.locator(".kb-body")).to_contain_text("remove the torn paper")
    assert Deflection.objects.get(user=maria, article=guide).outcome == Outcome.VIEWED

    article.get_by_role("button", name="This solved my problem").click()
    expect(article.locator(".messages")).to_contain_text("Glad it helped")
    assert Deflection.objects.get(user=maria, article=guide).outcome == Outcome.SOLVED
    assert not Ticket.objects.exists()
    assert dialogs == []


def test_leaving_the_form_after_reading_a_suggestion_counts_as_deflected(
    new_page, sign_in, maria, guide
):
    set_password(maria)
    page = new_page()
    sign_in(page, maria)
    page.goto("/portal/new/")
    page.locator("#id_body").press_sequentially("the printer jams", delay=20)
    suggestion = page.locator("#kb-suggestions a", has_text="Printer jams on every page")
    with page.context.expect_page() as opened:
        suggestion.click()
    opened.value.wait_for_load_state()
    opened.value.close()

    page.goto("/portal/")  # leaves the form unsent: the page sends its beacon
    assert _eventually(lambda: Deflection.objects.filter(user=maria, outcome=Outcome.LEFT).exists())


def test_sending_the_ticket_anyway_is_not_a_deflection(new_page, sign_in, maria, guide):
    set_password(maria)
    page = new_page()
    sign_in(page, maria)
    page.goto("/portal/new/")
    page.fill("#id_body", "The printer on floor 2 jams on every page.")
    page.locator("#id_subject").press_sequentially("printer jams", delay=20)
    suggestion = page.locator("#kb-suggestions a", has_text="Printer jams on every page")
    with page.context.expect_page() as opened:
        suggestion.click()
    opened.value.wait_for_load_state()
    opened.value.close()

    page.get_by_role("button", name="Send").click()
    expect(page.locator(".messages")).to_contain_text("was opened")
    deflection = Deflection.objects.get(user=maria)
    assert deflection.outcome == Outcome.TICKET_OPENED
