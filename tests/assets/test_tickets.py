"""Tickets about assets: linked from either side, listed on the asset, shown in a box on
the agent's ticket page, and offered to requesters when they open a ticket."""

from __future__ import annotations

from django.test import Client

from soporte.assets import services
from soporte.assets.models import TicketAsset
from soporte.tickets.models import Ticket


def test_an_agent_links_a_ticket_and_the_asset_lists_it(api, laptop, make_ticket, alice, teams):
    ticket = make_ticket(acting_user=alice, team=teams["L1"])
    response = api(alice).post(f"/assets/{laptop.pk}/tickets", {"number": ticket.number})
    assert response.status_code == 201
    listed = api(alice).get(f"/assets/{laptop.pk}/tickets").json()
    assert [t["number"] for t in listed] == [ticket.number]
    assert laptop.events.filter(kind="ticket_linked", new=f"#{ticket.number}").exists()


def test_the_asset_lists_only_the_tickets_the_person_may_see(
    api, laptop, make_ticket, alice, bob, maria, teams
):
    hidden = make_ticket(acting_user=alice, requester=maria, team=teams["L1"])
    services.link_ticket(laptop, hidden, acting_user=alice)
    assert api(bob).get(f"/assets/{laptop.pk}/tickets").json() == []
    assert [t["number"] for t in api(maria).get(f"/assets/{laptop.pk}/tickets").json()] == [
        hidden.number
    ]


def test_the_ticket_page_shows_the_assets_box(laptop, make_ticket, alice):
    ticket = make_ticket()
    services.link_ticket(laptop, ticket, acting_user=alice)
    client = Client()
    client.force_login(alice)
    page = client.get(f"/desk/tickets/{ticket.number}/")
    assert page.status_code == 200
    assert b'id="ticket-assets"' in page.content and b"ACME-0001" in page.content


def test_an_agent_links_an_asset_from_the_ticket_page_by_tag(laptop, make_ticket, alice):
    ticket = make_ticket()
    client = Client()
    client.force_login(alice)
    response = client.post(f"/desk/assets/tickets/{ticket.number}/link/", {"tag": "ACME-0001"})
    assert response.status_code == 302
    assert TicketAsset.objects.filter(ticket=ticket, asset=laptop).exists()
    missing = client.post(f"/desk/assets/tickets/{ticket.number}/link/", {"tag": "NOPE"})
    assert missing.status_code == 422
    unlink = client.post(f"/desk/assets/tickets/{ticket.number}/unlink/{laptop.pk}/")
    assert unlink.status_code == 302
    assert not TicketAsset.objects.exists()


def test_the_new_ticket_form_offers_the_requesters_own_assets(laptop, monitor, pedros_pc, maria):
    client = Client()
    client.force_login(maria)
    fragment = client.get("/portal/assets/offer/", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert b"ACME-0001" in fragment.content and b"ACME-0002" in fragment.content
    assert b"GLX-0001" not in fragment.content


def test_a_requester_opens_a_ticket_about_her_laptop(laptop, maria):
    client = Client()
    client.force_login(maria)
    response = client.post(
        "/portal/assets/new-ticket/",
        {"subject": "Fan noise", "body": "It whirs all day.", "impact": "low",
         "urgency": "low", "asset": laptop.pk},
    )  # fmt: skip
    assert response.status_code == 302
    ticket = Ticket.objects.get(subject="Fan noise")
    assert response["Location"] == f"/portal/tickets/{ticket.number}/"
    assert list(TicketAsset.objects.filter(ticket=ticket).values_list("asset_id", flat=True)) == [
        laptop.pk
    ]


def test_a_requester_cannot_file_about_someone_elses_asset(pedros_pc, maria):
    client = Client()
    client.force_login(maria)
    response = client.post(
        "/portal/assets/new-ticket/",
        {"subject": "Hi", "body": "x", "impact": "low", "urgency": "low", "asset": pedros_pc.pk},
    )
    assert response.status_code == 404
    assert not Ticket.objects.exists()


def test_requesters_see_their_assets_and_their_tickets_in_the_portal(
    laptop, pedros_pc, make_ticket, maria, alice
):
    ticket = make_ticket()
    services.link_ticket(laptop, ticket, acting_user=alice)
    client = Client()
    client.force_login(maria)
    listing = client.get("/portal/assets/")
    assert b"ACME-0001" in listing.content and b"GLX-0001" not in listing.content
    page = client.get(f"/portal/assets/{laptop.pk}/")
    assert page.status_code == 200 and f"#{ticket.number}".encode() in page.content
    assert client.get(f"/portal/assets/{pedros_pc.pk}/").status_code == 404
