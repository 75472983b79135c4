"""The agents' search page, /desk/search/: tickets, articles and assets grouped by kind,
snippets escaped, paged by kind; only agents, and only what they may see."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.assets import services as assets
from soporte.assets.defaults import ensure_default_types
from soporte.assets.models import AssetType
from soporte.kb import services as kb

pytestmark = pytest.mark.django_db


def results(page, kind: str = "tickets") -> str:
    """The HTML of one group of results (the header has ticket links of its own)."""
    html = page.content.decode()
    start = html.index(f'id="results-{kind}"')
    return html[start : html.index("</section>", start)]


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def printer_world(committed, make_ticket, alice, ada, maria, index):
    """A ticket, an article and an asset, each about the printer "Zebra" in its own way."""
    ticket = make_ticket(
        requester=maria, subject="Zebra printer <b>jams</b>", body="The Zebra prints blank."
    )
    index(ticket)
    ensure_default_types()
    with committed():
        kb.create_article(acting_user=ada, title="Cleaning the Zebra printer", body="Open it.")
        assets.create_asset(
            acting_user=ada, tag="PRN-0007", type=AssetType.objects.get(name="Printer"),
            name="Label printer", model="Zebra ZD421", serial="D4J224700123",
        )  # fmt: skip
    return ticket


def test_an_agent_sees_tickets_articles_and_assets_grouped(alice, printer_world):
    page = signed_in(alice).get("/desk/search/", {"q": "zebra"})
    assert page.status_code == 200
    html = page.content.decode()
    tickets, articles, assets_ = (
        html.index('id="results-tickets"'), html.index('id="results-articles"'),
        html.index('id="results-assets"'),
    )  # fmt: skip
    assert tickets < articles < assets_
    assert f"/desk/tickets/{printer_world.number}/" in html[tickets:articles]
    assert "Cleaning the Zebra printer" in html[articles:assets_]
    assert "PRN-0007" in html[assets_:]
    assert "<mark>Zebra</mark>" in html


def test_a_serial_number_finds_the_machine(alice, printer_world):
    html = signed_in(alice).get("/desk/search/", {"q": "D4J224700123"}).content.decode()
    assert "PRN-0007" in html
    assert f"/desk/tickets/{printer_world.number}/" not in html


def test_text_is_escaped_in_titles_and_snippets(alice, printer_world):
    html = signed_in(alice).get("/desk/search/", {"q": "jams"}).content.decode()
    assert "Zebra printer &lt;b&gt;jams&lt;/b&gt;" in html
    assert "<b>jams</b>" not in html


def test_one_kind_is_paged_by_offset(alice, make_ticket, maria, index):
    for n in range(23):
        index(make_ticket(requester=maria, subject=f"Toner cartridge empty {n}"))
    client = signed_in(alice)
    first = results(client.get("/desk/search/", {"q": "toner", "kind": "tickets"}))
    assert first.count("/desk/tickets/") == 20
    assert 'rel="next"' in first and "offset=20" in first
    second = results(client.get("/desk/search/", {"q": "toner", "kind": "tickets", "offset": 20}))
    assert second.count("/desk/tickets/") == 3
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_the_grouped_page_links_to_the_rest_of_a_group(alice, make_ticket, maria, index):
    for n in range(7):
        index(make_ticket(requester=maria, subject=f"Scanner offline {n}"))
    html = results(signed_in(alice).get("/desk/search/", {"q": "scanner"}))
    assert html.count("/desk/tickets/") == 5
    assert "kind=tickets" in html


def test_an_agent_does_not_find_tickets_policy_hides(
    alice, carol, make_ticket, maria, index, teams
):
    hidden = make_ticket(
        acting_user=carol, requester=maria, subject="Payroll confidential", team=teams["L3"]
    )
    index(hidden)
    assert (
        f"/desk/tickets/{hidden.number}/".encode()
        in signed_in(carol).get("/desk/search/", {"q": "payroll"}).content
    )
    html = signed_in(alice).get("/desk/search/", {"q": "payroll"}).content.decode()
    assert f"/desk/tickets/{hidden.number}/" not in html


@pytest.mark.parametrize(
    ("params", "status"),
    [({"q": "x" * 300}, 422), ({"q": "...", "kind": "tickets"}, 422),
     ({"q": "zebra", "kind": "spaceships"}, 422), ({"q": "zebra", "offset": "-1"}, 422),
     ({"q": "zebra", "offset": "abc"}, 422), ({}, 200)],
)  # fmt: skip
def test_bad_input_is_a_4xx_with_a_message(alice, params, status):
    page = signed_in(alice).get("/desk/search/", params)
    assert page.status_code == status
    if status != 200:
        assert b'role="alert"' in page.content


def test_requesters_are_refused_and_signed_out_people_sent_to_sign_in(maria, printer_world):
    assert signed_in(maria).get("/desk/search/", {"q": "zebra"}).status_code == 403
    response = Client().get("/desk/search/", {"q": "zebra"})
    assert response.status_code == 302 and "login" in response.url


def test_the_desk_header_has_the_search_box_and_the_portal_does_not(alice, maria):
    assert b'action="/desk/search/"' in signed_in(alice).get("/desk/").content
    assert b'action="/desk/search/"' not in signed_in(maria).get("/portal/").content


def test_the_page_costs_a_bounded_number_of_queries(
    alice, printer_world, django_assert_max_num_queries
):
    client = signed_in(alice)
    client.get("/desk/search/", {"q": "zebra"})
    with django_assert_max_num_queries(25):
        assert client.get("/desk/search/", {"q": "zebra printer"}).status_code == 200
