"""The assets API: list and read as each person, create and change, history, software
and licences, types; bad input is a 4xx with a message."""

from __future__ import annotations

import pytest

from soporte.assets.models import Asset, AssetEvent, Installation


def test_the_list_pages_through_assets_in_tag_order(api, make_asset, alice):
    for n in range(5):
        make_asset(tag=f"LST-{n}")
    client = api(alice)
    first = client.get("/assets", {"limit": 2}).json()
    assert [row["tag"] for row in first["items"]] == ["LST-0", "LST-1"]
    second = client.get("/assets", {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [row["tag"] for row in second["items"]] == ["LST-2", "LST-3"]


def test_the_list_filters_by_kind_status_and_words(api, laptop, monitor, pedros_pc, alice):
    client = api(alice)

    def tags(**params):
        return [row["tag"] for row in client.get("/assets", params).json()["items"]]

    assert tags(kind="monitor") == ["ACME-0002"]
    assert tags(status="in_use") == ["ACME-0001"]
    assert tags(q="5cd1234") == ["ACME-0001"]
    assert tags(owner=pedros_pc.owner_id) == ["GLX-0001"]


def test_a_requester_lists_and_reads_only_their_own(api, laptop, pedros_pc, maria, pedro):
    listed = api(maria).get("/assets").json()["items"]
    assert [row["tag"] for row in listed] == ["ACME-0001"]
    assert api(pedro).get(f"/assets/{laptop.pk}").status_code == 404
    assert api(maria).get(f"/assets/{laptop.pk}").json()["owner"]["id"] == maria.pk


def test_a_bad_cursor_is_a_400(api, alice):
    response = api(alice).get("/assets", {"cursor": "nonsense!"})
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def test_an_agent_records_an_asset(api, alice, types, maria):
    response = api(alice).post(
        "/assets",
        {
            "tag": "NB-77", "type_id": types["Laptop"].pk, "owner_id": maria.pk,
            "location": "Lisbon office", "purchase_date": "2025-01-31", "ram_mb": 8192,
            "interfaces": [{"name": "wlan0", "mac": "aa:bb:cc:dd:ee:ff", "ips": ["10.1.2.3"]}],
            "custom": {"battery_health_pct": 99},
        },
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["organization"]["name"] == "Acme"
    assert body["location"]["name"] == "Lisbon office"
    assert body["interfaces"][0]["ips"] == ["10.1.2.3"]


@pytest.mark.parametrize(
    ("body", "status", "detail"),
    [
        pytest.param({"tag": "X", "type_id": 999_999}, 422, "Type 999999", id="unknown type"),
        pytest.param({"tag": "", "type_id": "{type}"}, 422, "", id="blank tag"),
        pytest.param({"tag": "X", "type_id": "{type}", "status": "lost"}, 422, "", id="status"),
        pytest.param(
            {"tag": "X", "type_id": "{type}", "custom": {"battery_health_pct": "full"}},
            422,
            "battery_health_pct",
            id="custom field of the wrong type",
        ),  # fmt: skip
        pytest.param({"tag": "ACME-0001", "type_id": "{type}"}, 422, "taken", id="taken tag"),
        pytest.param({"tag": "X", "type_id": "{type}", "ram_mb": -1}, 422, "", id="negative"),
        pytest.param({"tag": "X\x00", "type_id": "{type}"}, 422, "", id="NUL"),
        pytest.param(
            {"tag": "X", "type_id": "{type}", "custom": {"note\x00": "a"}},
            422,
            "NUL",
            id="NUL in a custom field (PostgreSQL's jsonb refuses it)",
        ),  # fmt: skip
    ],
)
def test_bad_input_is_refused_with_a_message(api, alice, laptop, types, body, status, detail):
    body = {k: types["Laptop"].pk if v == "{type}" else v for k, v in body.items()}
    response = api(alice).post("/assets", body)
    assert response.status_code == status, response.content
    assert detail in str(response.json()["detail"])
    assert Asset.objects.count() == 1


def test_a_patch_with_an_old_version_is_a_409(api, laptop, alice, bob):
    assert api(alice).patch(f"/assets/{laptop.pk}", {"name": "A", "version": 1}).status_code == 200
    response = api(bob).patch(f"/assets/{laptop.pk}", {"name": "B", "version": 1})
    assert response.status_code == 409
    assert "changed by someone else" in response.json()["detail"]


def test_the_history_lists_changes_newest_first(api, laptop, alice):
    api(alice).patch(f"/assets/{laptop.pk}", {"status": "in_repair"})
    history = api(alice).get(f"/assets/{laptop.pk}/history").json()
    assert [(e["kind"], e["field"], e["old"], e["new"]) for e in history[:1]] == [
        ("changed", "status", "in_use", "in_repair")
    ]
    assert history[0]["actor"]["name"] == "Alice"


def test_licensed_software_needs_a_free_seat(api, laptop, make_asset, alice):
    other = make_asset()
    client = api(alice)
    licence = client.post("/assets/licences", {"name": "Visio", "vendor": "Microsoft", "seats": 1})
    assert licence.status_code == 201
    assert licence.json() == {**licence.json(), "seats": 1, "used": 0, "free": 1}
    install = {"name": "Visio", "vendor": "Microsoft", "version": "16"}
    assert client.post(f"/assets/{laptop.pk}/software", install).status_code == 201
    refused = client.post(f"/assets/{other.pk}/software", install)
    assert refused.status_code == 422
    assert "No free licence" in refused.json()["detail"]
    # A new version on the same machine takes no new seat.
    upgrade = client.post(f"/assets/{laptop.pk}/software", {**install, "version": "17"})
    assert upgrade.status_code == 201
    assert client.get("/assets/licences").json()[0]["used"] == 1
    kinds = list(AssetEvent.objects.filter(asset=laptop).values_list("kind", "old", "new"))
    assert ("software_added", "", "16") in kinds and ("software_changed", "16", "17") in kinds


def test_uninstalling_frees_the_seat_and_is_recorded(api, laptop, alice):
    client = api(alice)
    client.post(f"/assets/{laptop.pk}/software", {"name": "7-Zip", "version": "24.08"})
    product_id = Installation.objects.get().product_id
    assert client.delete(f"/assets/{laptop.pk}/software/{product_id}").status_code == 204
    assert not Installation.objects.exists()
    assert client.delete(f"/assets/{laptop.pk}/software/{product_id}").status_code == 404
    assert AssetEvent.objects.filter(asset=laptop, kind="software_removed").exists()


def test_admins_define_types_with_a_schema(api, ada, alice):
    body = {"name": "Tablet", "kind": "computer", "custom_schema": {"type": "object"}}
    assert api(alice).post("/assets/types", body).status_code == 403
    created = api(ada).post("/assets/types", body)
    assert created.status_code == 201
    assert created.json()["custom_schema"] == {"type": "object"}
    bad = api(ada).post("/assets/types", {**body, "name": "Other", "custom_schema": {"type": 5}})
    assert bad.status_code == 422
