"""Recording and changing assets: fields, custom fields by type schema, owners and
organizations, attachments, history, and who may see what."""

from __future__ import annotations

import pytest

from soporte.assets import policy, services
from soporte.assets.models import Asset, AssetEvent, AssetStatus, EventKind
from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied


def test_an_asset_is_recorded_with_a_created_event(make_asset, ada):
    asset = make_asset("Server", tag="SRV-1", custom={"rack_units": 2})
    assert asset.kind == "computer"
    event = AssetEvent.objects.get(asset=asset)
    assert (event.kind, event.actor, event.new) == (EventKind.CREATED, ada, "SRV-1")


def test_every_change_is_kept_as_who_when_old_and_new(laptop, alice):
    services.update_asset(laptop, acting_user=alice, ram_mb=16384, status=AssetStatus.IN_REPAIR)
    services.update_asset(laptop, acting_user=alice, ram_mb=32768)
    changes = list(
        AssetEvent.objects.filter(asset=laptop, kind=EventKind.CHANGED)
        .order_by("id")
        .values_list("actor__username", "field", "old", "new")
    )
    assert changes == [
        ("alice", "status", "in_use", "in_repair"),
        ("alice", "ram_mb", "", "16384"),
        ("alice", "ram_mb", "16384", "32768"),
    ]
    laptop.refresh_from_db()
    assert laptop.version == 3


def test_an_unchanged_save_writes_no_history(laptop, alice):
    services.update_asset(laptop, acting_user=alice, model="T14", serial=" 5CD1234XYZ ")
    assert not AssetEvent.objects.filter(asset=laptop, kind=EventKind.CHANGED).exists()


def test_a_change_made_since_loading_is_refused(laptop, alice, bob):
    stale_copy = Asset.objects.get(pk=laptop.pk)
    services.update_asset(laptop, acting_user=alice, model="T14 Gen 4")
    with pytest.raises(Conflict):
        services.update_asset(stale_copy, acting_user=bob, model="X1", expected_version=1)
    laptop.refresh_from_db()
    assert laptop.model == "T14 Gen 4"


def test_custom_fields_must_satisfy_the_types_schema(make_asset):
    with pytest.raises(InvalidInput, match="battery_health_pct"):
        make_asset("Laptop", custom={"battery_health_pct": 140})
    with pytest.raises(InvalidInput, match="ip_address"):
        make_asset("Printer", custom={"ip_address": "not an address"})
    assert make_asset("Printer", custom={"ip_address": "10.0.0.9", "duplex": True}).pk


def test_a_type_schema_that_is_not_json_schema_is_refused(ada):
    with pytest.raises(InvalidInput, match="JSON Schema"):
        services.save_type(
            acting_user=ada, name="Tablet", kind="computer", schema={"type": "nonsense"}
        )


def test_a_new_schema_must_hold_for_the_assets_already_recorded(make_asset, types, ada):
    make_asset("Keyboard", custom={"layout": "es-ES-long"})
    strict = {"type": "object", "properties": {"layout": {"type": "string", "maxLength": 5}}}
    with pytest.raises(InvalidInput, match="would not satisfy"):
        services.save_type(
            acting_user=ada, name="Keyboard", kind="peripheral", schema=strict,
            asset_type=types["Keyboard"],
        )  # fmt: skip


def test_the_owners_organization_is_the_assets(make_asset, maria, acme, globex):
    asset = make_asset(owner=maria)
    assert asset.organization == acme
    with pytest.raises(InvalidInput, match="belongs to Acme"):
        make_asset(owner=maria, organization=globex)


def test_tags_are_unique(make_asset):
    make_asset(tag="DUP-1")
    with pytest.raises(InvalidInput, match="taken"):
        make_asset(tag="DUP-1")


def test_attachments_cannot_go_round_in_a_circle(laptop, monitor, alice):
    with pytest.raises(InvalidInput, match="attached to itself"):
        services.update_asset(laptop, acting_user=alice, attached_to=monitor)
    assert list(laptop.attachments.all()) == [monitor]


def test_text_is_bounded_and_nul_free(make_asset):
    with pytest.raises(InvalidInput, match="longer than 64"):
        make_asset(tag="x" * 65)
    with pytest.raises(InvalidInput, match="NUL"):
        make_asset(serial="a\x00b")


def test_requesters_change_no_asset(laptop, maria):
    with pytest.raises(PermissionDenied):
        services.update_asset(laptop, acting_user=maria, name="mine")


def test_requesters_see_only_their_own_assets(laptop, monitor, pedros_pc, maria, marco, pedro):
    assert set(policy.visible_assets(maria)) == {laptop, monitor}
    assert list(policy.visible_assets(marco)) == []
    assert list(policy.visible_assets(pedro)) == [pedros_pc]
    with pytest.raises(NotFound):
        policy.get_visible_asset(pedro, laptop.pk)


def test_an_owned_asset_of_another_organization_stays_hidden(laptop, maria, globex, alice):
    """Should data ever disagree (an owner moved organizations), the organization wins."""
    Asset.objects.filter(pk=laptop.pk).update(organization=globex)
    assert list(policy.visible_assets(maria)) == []


def test_agents_see_every_asset(laptop, pedros_pc, alice, carol, ada):
    for person in (alice, carol, ada):
        assert set(policy.visible_assets(person)) == {laptop, pedros_pc}
