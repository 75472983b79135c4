"""Search in the browser: an agent types a serial number into the header's search box
and finds the machine, the ticket and the article about it, grouped by kind, with the
words highlighted and a hostile subject shown as text."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from soporte.assets import services as assets
from soporte.assets.defaults import ensure_default_types
from soporte.assets.models import AssetType
from soporte.kb import services as kb
from soporte.tickets import services as tickets

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_agent_finds_a_machine_its_ticket_and_an_article_from_the_header(
    new_page, sign_in, alice, ada, maria, dialogs
):
    # given: each service commits here, and its indexing runs then
    ensure_default_types()
    assets.create_asset(
        acting_user=ada, tag="NB-4242", type=AssetType.objects.get(name="Laptop"),
        name="Sales laptop", serial="PF2XK9QZ", model="ThinkPad X1",
    )  # fmt: skip
    tickets.open_ticket(
        acting_user=maria, subject='<img src=x onerror=alert("xss")> PF2XK9QZ fan noise',
        body="My laptop PF2XK9QZ is loud.",
    )  # fmt: skip
    kb.create_article(acting_user=ada, title="Replacing the fan of PF2XK9QZ", body="Steps.")
    set_password(alice)
    page = new_page()
    sign_in(page, alice)

    # when: the serial goes into the header's search box
    page.goto("/desk/")
    box = page.get_by_role("searchbox", name="Search tickets, articles and assets")
    box.fill("pf2xk9qz")
    box.press("Enter")

    # then: one group per kind, the words marked, the hostile subject as text
    expect(page).to_have_url(re.compile(r"/desk/search/\?q=pf2xk9qz$"))
    expect(page.locator("#results-assets")).to_contain_text("NB-4242 Sales laptop")
    expect(page.locator("#results-tickets")).to_contain_text('<img src=x onerror=alert("xss")>')
    expect(page.locator("#results-articles")).to_contain_text("Replacing the fan of PF2XK9QZ")
    expect(page.locator("#results-assets mark").first).to_have_text("PF2XK9QZ")
    assert dialogs == []

    # and the machine's page is one click away
    page.locator("#results-assets a", has_text="NB-4242").click()
    expect(page.locator("h1")).to_contain_text("NB-4242")
