"""GET /api/v1/search: ranked tickets with safe snippets, for anyone signed in."""

from __future__ import annotations

import pytest

from soporte.tickets import services

pytestmark = pytest.mark.django_db


@pytest.fixture
def printer_ticket(make_ticket, alice, maria, teams, index):
    ticket = make_ticket(
        acting_user=alice,
        requester=maria,
        team=teams["L1"],
        subject="Impresora <b>atascada</b>",
        body='La impresora dice <script>alert("x")</script> & no imprime.',
    )
    services.add_note(ticket, acting_user=alice, body="Impresora: el proveedor es un fraude")
    index(ticket)
    return ticket


def test_a_requester_gets_her_tickets_with_a_highlighted_snippet(api, maria, printer_ticket):
    response = api(maria).get("/search", {"q": "IMPRESORAS"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["next_offset"] is None
    [hit] = body["items"]
    assert hit["number"] == printer_ticket.number
    assert hit["subject"] == "Impresora <b>atascada</b>"  # plain text, as stored
    assert hit["kind"] == "ticket"
    assert hit["snippet"] == (
        "La <mark>impresora</mark> dice &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; "
        "&amp; no imprime."
    )
    assert set(hit) == {"number", "subject", "status", "updated_at", "kind", "snippet", "score"}


def test_an_internal_note_shows_only_to_agents(api, maria, alice, printer_ticket):
    assert api(maria).get("/search", {"q": "proveedor"}).json()["items"] == []
    [hit] = api(alice).get("/search", {"q": "proveedor"}).json()["items"]
    assert hit["kind"] == "message"
    assert "<mark>proveedor</mark>" in hit["snippet"]


def test_another_organization_finds_nothing(api, pedro, printer_ticket):
    response = api(pedro).get("/search", {"q": "impresora"})
    assert response.status_code == 200
    assert response.json()["items"] == []


def test_a_token_works_too(api, maria, printer_ticket):
    from soporte.accounts.services import create_api_token

    _, key = create_api_token(acting_user=maria, name="script")
    response = api(token=key).get("/search", {"q": "impresora"})
    assert [hit["number"] for hit in response.json()["items"]] == [printer_ticket.number]


def test_nobody_signed_in_gets_401(api, printer_ticket):
    response = api().get("/search", {"q": "impresora"})
    assert response.status_code == 401
    assert response.json()["detail"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        pytest.param({}, "Type one or more words", id="no q"),
        pytest.param({"q": ""}, "Type one or more words", id="empty"),
        pytest.param({"q": "   "}, "Type one or more words", id="blank"),
        pytest.param({"q": '"*-()'}, "Type one or more words", id="punctuation only"),
        pytest.param({"q": "impresora " * 30}, "too long", id="too long"),
    ],
)
def test_a_search_without_words_or_too_long_is_422_with_a_message(api, maria, params, message):
    response = api(maria).get("/search", params)
    assert response.status_code == 422, response.content
    assert message in response.json()["detail"]


@pytest.mark.parametrize(
    "params", [{"q": "x", "limit": 0}, {"q": "x", "limit": 101}, {"q": "x", "offset": -1}]
)
def test_limit_and_offset_are_bounded(api, maria, params):
    assert api(maria).get("/search", params).status_code == 422


@pytest.mark.parametrize(
    "q", ['"impresora', "impresora*", "impresora -x", "NEAR(impresora x)", "title:impresora"]
)
def test_query_syntax_is_plain_text(api, maria, printer_ticket, q):
    response = api(maria).get("/search", {"q": q})
    assert response.status_code == 200, response.content


def test_pages_of_results(api, carol, make_ticket, maria, index):
    for i in range(3):
        index(make_ticket(acting_user=maria, subject=f"Monitor {i}", body="Monitor roto"))
    client = api(carol)
    first = client.get("/search", {"q": "monitor", "limit": 2}).json()
    second = client.get("/search", {"q": "monitor", "limit": 2, "offset": 2}).json()
    assert (len(first["items"]), first["next_offset"]) == (2, 2)
    assert (len(second["items"]), second["next_offset"]) == (1, None)


def test_the_search_runs_a_bounded_number_of_queries(
    api, carol, make_ticket, maria, index, django_assert_max_num_queries
):
    for i in range(30):
        index(make_ticket(acting_user=maria, subject=f"Teclado {i}", body="Teclado roto"))
    client = api(carol)
    with django_assert_max_num_queries(8):
        response = client.get("/search", {"q": "teclado", "limit": 30})
    assert len(response.json()["items"]) == 30
