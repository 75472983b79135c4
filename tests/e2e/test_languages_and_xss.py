import pytest
from playwright.sync_api import expect

from soporte.tickets import services

from .conftest import set_password

pytestmark = pytest.mark.django_db(transaction=True)


def test_the_sign_in_page_speaks_spanish_to_a_spanish_browser(new_page):
    page = new_page(locale="es-ES")
    page.goto("/login/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Iniciar sesión")
    expect(page.locator("html")).to_have_attribute("lang", "es")


def test_a_users_language_preference_wins_over_the_browser(new_page, sign_in, alice, ticket):
    alice.language = "es"
    alice.save(update_fields=["language"])
    set_password(alice)
    page = new_page(locale="en-US")
    sign_in(page, alice)
    page.goto(f"/desk/tickets/{ticket.number}/")
    expect(page.get_by_role("heading", name="Conversación")).to_be_visible()
    expect(page.get_by_role("button", name="Asignarme")).to_be_visible()


XSS = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


def test_script_in_a_subject_body_or_file_name_never_runs(
    new_page, sign_in, maria, alice, dialogs, tmp_path
):
    ticket = services.open_ticket(
        acting_user=maria,
        subject=f"Broken {XSS}",
        body=f"See {XSS}",
        body_html=f'<p>See</p>{XSS}<a href="javascript:alert(3)">link</a>',
    )
    evil = tmp_path / "x.txt"
    evil.write_text("hello")
    with evil.open("rb") as fh:
        services.add_attachment(
            ticket,
            acting_user=maria,
            upload=fh,
            filename='"><svg onload=alert(4)>.txt',
            size=5,
        )
    services.reply(ticket, acting_user=alice, body=f"Reply {XSS}")

    set_password(alice)
    set_password(maria)
    agent = new_page()
    sign_in(agent, alice)
    agent.goto(f"/desk/tickets/{ticket.number}/")
    expect(agent.get_by_role("heading", level=1)).to_contain_text("Broken")
    agent.goto("/desk/tickets/")
    expect(agent.locator("table")).to_contain_text("Broken")
    requester = new_page()
    sign_in(requester, maria)
    requester.goto(f"/portal/tickets/{ticket.number}/")
    requester.goto("/portal/")
    for page in (agent, requester):
        page.wait_for_timeout(300)
    assert dialogs == []
