"""A malware ticket in a browser: its checklist is attached, resolving is refused until
the required steps are checked (htmx, on the ticket page), then it resolves."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from soporte.playbooks.defaults import ensure_default_templates
from soporte.playbooks.models import ChecklistStep
from soporte.tickets import services
from soporte.tickets.models import Category, Status

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def malware_ticket(alice, maria, teams):
    security = Category.objects.create(name="Security")
    malware = Category.objects.create(name="Malware", parent=security)
    ensure_default_templates()
    return services.open_ticket(
        acting_user=alice, requester=maria, team=teams["L1"], assignee=alice,
        category=malware, subject="Pop-ups everywhere", body="Ads pop up since yesterday.",
    )  # fmt: skip


def test_resolving_waits_for_the_required_checklist_steps(
    new_page, sign_in, alice, malware_ticket, dialogs
):
    set_password(alice)
    page = new_page()
    sign_in(page, alice)
    page.goto(f"/desk/tickets/{malware_ticket.number}/")
    panel = page.locator("#playbooks")
    expect(panel).to_contain_text("Malware and spyware removal")

    def resolve():
        page.locator("details summary", has_text="Resolve").first.click()
        page.fill("#resolution", "Removed the adware and changed the passwords.")
        page.locator("form[action$='/resolve/'] button[type=submit]").click()
        page.wait_for_load_state()

    # refused: the required steps are named, the ticket stays open
    resolve()
    expect(page.locator(".messages")).to_contain_text("Isolate the machine from the network")
    malware_ticket.refresh_from_db()
    assert malware_ticket.status == Status.OPEN

    required = ChecklistStep.objects.filter(checklist__ticket=malware_ticket, required=True)
    for step in required:
        row = page.locator(f"#playbooks li[data-step='{step.pk}']")
        row.locator("input[type=checkbox]").check()
        expect(row).to_contain_text("by ")  # the box came back with who checked it
    assert all(s.done and s.done_by == alice for s in required.all())

    resolve()
    expect(page.locator(".status")).to_have_text("Resolved")
    malware_ticket.refresh_from_db()
    assert malware_ticket.status == Status.RESOLVED
    assert dialogs == []
