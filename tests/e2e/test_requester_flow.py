import pytest
from playwright.sync_api import expect

from soporte.tickets import services
from soporte.tickets.models import Attachment, Status, Ticket

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_requester_submits_with_a_file_reads_the_answer_and_reopens(
    new_page, sign_in, maria, alice, category, tmp_path
):
    set_password(maria)
    page = new_page()
    sign_in(page, maria)

    # submit a ticket with an attachment
    page.goto("/portal/new/")
    page.select_option("#id_category", str(category.pk))
    expect(page.locator("#category-hint")).to_contain_text("Printers")
    page.fill("#id_subject", "Printer prints blank pages")
    page.fill("#id_body", "Every page comes out blank since this morning.")
    shot = tmp_path / "error-screen.png"
    shot.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
    page.set_input_files("#id_files", str(shot))
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".messages")).to_contain_text("was opened")

    ticket = Ticket.objects.get(subject="Printer prints blank pages")
    assert ticket.requester == maria and ticket.channel == "web"
    assert Attachment.objects.get(ticket=ticket).filename == "error-screen.png"

    # an agent answers (and writes a note the requester must not see)
    services.reply(ticket, acting_user=alice, body="Please check the toner cartridge.")
    services.add_note(ticket, acting_user=alice, body="Secret: toner stock is empty.")
    services.resolve(ticket, acting_user=alice, resolution="Toner replaced.")

    page.reload()
    expect(page.locator(".timeline")).to_contain_text("Please check the toner cartridge.")
    expect(page.locator(".timeline")).not_to_contain_text("toner stock is empty")
    expect(page.get_by_role("link", name="error-screen.png")).to_be_visible()

    # reopen: not solved after all
    page.get_by_role("button", name="It is not solved: reopen").click()
    expect(page.locator(".status")).to_contain_text("Open")
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN


def test_a_requester_cannot_open_another_organizations_ticket(
    new_page, sign_in, pedro, make_ticket
):
    acme_ticket = make_ticket()
    set_password(pedro)
    page = new_page()
    sign_in(page, pedro)
    response = page.goto(f"/portal/tickets/{acme_ticket.number}/")
    assert response.status == 404
    page.goto("/portal/")
    expect(page.locator("table")).not_to_contain_text(acme_ticket.subject)
