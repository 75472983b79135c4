"""Assets in the browser: an agent records an asset, imports a CSV (a refused file lists
its errors, a clean one fills the progress bar), and a requester picks her laptop on the
new-ticket form."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from soporte.assets import services
from soporte.assets.defaults import ensure_default_types
from soporte.assets.models import Asset, AssetType, TicketAsset
from soporte.tickets.models import Ticket

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _types(transactional_db):
    ensure_default_types()  # another browser test's flush removed the migration's rows


def test_an_agent_records_an_asset_and_imports_a_csv(new_page, sign_in, alice, maria, tmp_path):
    set_password(alice)
    page = new_page()
    sign_in(page, alice)

    # record an asset through the form
    page.goto("/desk/assets/")
    page.get_by_role("link", name="New asset").click()
    page.fill("#id_tag", "NB-100")
    page.select_option("#id_type", label="Laptop")
    page.fill("#id_owner", "maria")
    page.fill("#id_custom", '{"battery_health_pct": 97}')
    page.get_by_role("button", name="Save").click()
    expect(page.locator(".messages")).to_contain_text("Asset NB-100 recorded.")
    expect(page.locator("h1")).to_contain_text("NB-100")
    assert Asset.objects.get(tag="NB-100").owner == maria

    # a file with an error imports nothing and lists the error
    bad = tmp_path / "bad.csv"
    bad.write_text("tag,type\nNB-101,Laptop\nNB-102,Toaster\n")
    page.goto("/desk/assets/import/")
    page.set_input_files("#id_file", str(bad))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-progress")).to_contain_text("nothing was imported")
    expect(page.locator(".import-errors")).to_contain_text("Toaster")
    assert not Asset.objects.filter(tag="NB-101").exists()

    # a clean file: the progress bar fills and the assets are there
    good = tmp_path / "good.csv"
    good.write_text("tag,type,attached_to\nNB-101,Laptop,\nMON-101,Monitor,NB-101\n")
    page.goto("/desk/assets/import/")
    page.set_input_files("#id_file", str(good))
    page.get_by_role("button", name="Import").click()
    expect(page.locator("#import-progress")).to_contain_text("2 created, 0 updated")
    expect(page.locator("#import-progress progress")).to_have_attribute("value", "100")
    assert Asset.objects.get(tag="MON-101").attached_to.tag == "NB-101"

    # the list finds it
    page.goto("/desk/assets/")
    page.fill("#id_q", "MON-101")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("#results")).to_contain_text("MON-101")
    expect(page.locator("#results")).not_to_contain_text("NB-100")


def test_a_requester_opens_a_ticket_about_her_laptop(new_page, sign_in, maria, ada):
    services.create_asset(
        acting_user=ada, tag="ACME-0001", name="Maria's laptop",
        type=AssetType.objects.get(name="Laptop"), owner=maria,
    )  # fmt: skip
    set_password(maria)
    page = new_page()
    sign_in(page, maria)
    page.goto("/portal/new/")
    page.select_option("#id_asset", label="ACME-0001 — Maria's laptop (Laptop)")
    page.fill("#id_subject", "The fan is loud")
    page.fill("#id_body", "It whirs all day.")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".messages")).to_contain_text("about ACME-0001")
    ticket = Ticket.objects.get(subject="The fan is loud")
    assert TicketAsset.objects.filter(ticket=ticket, asset__tag="ACME-0001").exists()

    page.goto("/portal/assets/")
    page.get_by_role("link", name="ACME-0001").click()
    expect(page.locator("main")).to_contain_text("The fan is loud")
