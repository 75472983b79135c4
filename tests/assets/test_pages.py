"""The agents' asset pages: the list (a fixed number of queries), the asset page with its
relations, recording and editing; bad input is a 4xx with a message, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.assets import cabling, services
from soporte.assets.models import Asset, AssetEvent


@pytest.fixture
def desk(alice) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def test_the_list_costs_the_same_queries_for_many_assets(
    desk, make_asset, maria, django_assert_max_num_queries
):
    for n in range(30):
        make_asset(tag=f"Q-{n:03d}", owner=maria, location=services.location_named("HQ"))
    with django_assert_max_num_queries(8):
        page = desk.get("/desk/assets/")
    assert page.status_code == 200
    assert page.content.count(b"Q-0") == 30


def test_the_list_filters_and_pages_with_htmx(desk, make_asset):
    for n in range(60):
        make_asset("Monitor" if n % 2 else "Mouse", tag=f"F-{n:03d}")
    first = desk.get("/desk/assets/", {"kind": "monitor"}, headers={"HX-Request": "true"})
    assert b"F-001" in first.content and b"F-000" not in first.content
    assert b"Next page" not in first.content  # 30 monitors fit one page
    everything = desk.get("/desk/assets/")
    assert b"Next page" in everything.content


def test_requesters_are_kept_out_of_the_desk(maria, laptop):
    client = Client()
    client.force_login(maria)
    assert client.get("/desk/assets/").status_code == 403
    assert client.get(f"/desk/assets/{laptop.pk}/").status_code == 403


def test_the_asset_page_shows_relations_tickets_cabling_and_history(
    desk, laptop, monitor, make_asset, make_ticket, alice, django_assert_max_num_queries
):
    outlet = make_asset("Wall outlet", tag="OUT-7")
    cabling.patch(
        cabling.get_port(laptop, "eth0"), cabling.get_port(outlet, "A"), acting_user=alice
    )
    ticket = make_ticket(subject="Screen flickers")
    services.link_ticket(laptop, ticket, acting_user=alice)
    with django_assert_max_num_queries(25):
        page = desk.get(f"/desk/assets/{laptop.pk}/")
    text = page.content.decode()
    assert "ACME-0002" in text  # the monitor attached to it
    assert "Screen flickers" in text
    assert "OUT-7</a>:A" in text
    assert "Ticket linked" in text


def test_an_agent_records_and_edits_an_asset_through_the_forms(desk, types, maria):
    created = desk.post(
        "/desk/assets/new/",
        {"tag": "NB-5", "type": types["Laptop"].pk, "status": "in_use", "owner": "maria",
         "location": "Porto", "custom": '{"battery_health_pct": 80}'},
    )  # fmt: skip
    asset = Asset.objects.get(tag="NB-5")
    assert created.status_code == 302 and created["Location"] == f"/desk/assets/{asset.pk}/"
    assert (asset.owner, asset.location.name, asset.custom) == (
        maria, "Porto", {"battery_health_pct": 80},
    )  # fmt: skip
    edited = desk.post(
        f"/desk/assets/{asset.pk}/edit/",
        {"tag": "NB-5", "type": types["Laptop"].pk, "status": "in_repair", "owner": "maria",
         "location": "Porto", "custom": '{"battery_health_pct": 80}', "version": asset.version},
    )  # fmt: skip
    assert edited.status_code == 302
    assert AssetEvent.objects.filter(asset=asset, field="status", new="in_repair").exists()


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"custom": '{"battery_health_pct": 500}'}, 422, b"battery_health_pct"),
        ({"custom": "{oops"}, 422, b"Not valid JSON"),
        ({"owner": "nobody"}, 422, b"No user nobody"),
        ({"attached_to": "NOPE"}, 422, b"No asset tagged NOPE"),
        ({"tag": ""}, 422, b"required"),
    ],
)
def test_bad_form_input_is_a_4xx_with_a_message(desk, types, fields, status, message):
    data = {"tag": "NB-6", "type": types["Laptop"].pk, "status": "in_use", **fields}
    response = desk.post("/desk/assets/new/", data)
    assert response.status_code == status
    assert message in response.content
    assert not Asset.objects.exists()


def test_a_stale_edit_is_refused_with_a_409(desk, laptop, alice, types):
    services.update_asset(laptop, acting_user=alice, name="changed meanwhile")
    response = desk.post(
        f"/desk/assets/{laptop.pk}/edit/",
        {"tag": laptop.tag, "type": types["Laptop"].pk, "status": "in_use", "version": 1},
    )
    assert response.status_code == 409


def test_software_and_patching_from_the_asset_page(desk, laptop, make_asset):
    make_asset("Wall outlet", tag="OUT-9")
    assert (
        desk.post(
            f"/desk/assets/{laptop.pk}/software/", {"name": "GIMP", "version": "2.10"}
        ).status_code
        == 302
    )  # noqa: E501
    patched = desk.post(
        f"/desk/assets/{laptop.pk}/patch/",
        {"port": "eth0", "other_tag": "OUT-9", "other_port": "A"},
    )
    assert patched.status_code == 302
    again = desk.post(
        f"/desk/assets/{laptop.pk}/patch/",
        {"port": "eth1", "other_tag": "OUT-9", "other_port": "A"},
    )
    assert again.status_code == 422 and b"already patched" in again.content
    assert laptop.installations.get().product.name == "GIMP"


def test_the_other_pages_render(desk, ada, laptop):
    for url in ("/desk/assets/import/", "/desk/assets/cabling/", "/desk/assets/licences/",
                "/desk/assets/maintenance/"):  # fmt: skip
        assert desk.get(url).status_code == 200, url
    admin = Client()
    admin.force_login(ada)
    assert admin.get("/desk/assets/tokens/").status_code == 200
