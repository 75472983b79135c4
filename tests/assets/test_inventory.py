"""The inventory agent's intake: upsert by hardware UUID or serial, idempotent, the
differences kept as history, enrollment tokens, stale machines."""

from __future__ import annotations

import copy
import hashlib
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from soporte.assets import services
from soporte.assets.inventory import flag_stale
from soporte.assets.models import Asset, AssetEvent, EventKind, Installation, MachineSoftware

REPORT = {
    "agent_version": "1.0.0",
    "hardware_uuid": "4C4C4544-0042-3510-8052-B4C04F4A4E32",
    "serial": "5CD1234XYZ",
    "hostname": "acme-mlopez",
    "manufacturer": "LENOVO",
    "model": "21CF",
    "chassis": "laptop",
    "os_name": "Debian GNU/Linux",
    "os_version": "12",
    "cpu": "AMD Ryzen 7 PRO 6850U",
    "ram_mb": 15734,
    "disks": [{"name": "/dev/nvme0n1p2", "mountpoint": "/", "fstype": "ext4", "size_gb": 510.1}],
    "interfaces": [{"name": "wlp2s0", "mac": "AA:BB:CC:00:11:22", "ips": ["10.0.0.7"]}],
    "software": [
        {"name": "bash", "version": "5.2.15-2+b7"},
        {"name": "firefox-esr", "version": "128.5.0esr-1~deb12u1"},
        {"name": "openssh-client", "version": "1:9.2p1-2+deb12u3"},
    ],
}


def software(asset_id: int) -> dict[str, str]:
    """Name -> version, as the asset's pages list it."""
    listed = services.installed_software(Asset.objects.get(pk=asset_id))
    return {item.name: item.version for item in listed}


@pytest.fixture
def send(api, enrollment):
    _token, key = enrollment
    client = api(token=key)

    def post(report=None, **changes):
        body = copy.deepcopy(report or REPORT)
        body.update(changes)
        return client.post("/assets/inventory", body)

    return post


def test_a_new_machine_is_recorded_with_its_packages(api, acme, ada):
    _token, key = services.create_enrollment_token(acting_user=ada, name="Acme", organization=acme)
    response = api(token=key).post("/assets/inventory", REPORT)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["created"] is True and body["tag"].startswith("INV-")
    asset = Asset.objects.get(pk=body["id"])
    assert (asset.hostname, asset.type.name, asset.kind, asset.ram_mb) == (
        "acme-mlopez",
        "Laptop",
        "computer",
        15734,
    )
    assert asset.hardware_uuid == REPORT["hardware_uuid"].lower()
    assert asset.interfaces == [{"name": "wlp2s0", "mac": "aa:bb:cc:00:11:22", "ips": ["10.0.0.7"]}]
    assert sorted(software(asset.pk)) == ["bash", "firefox-esr", "openssh-client"]
    assert not Installation.objects.exists()  # one package list per machine, no rows
    assert asset.last_inventory_at is not None
    assert asset.organization == acme  # the token's


def test_the_same_report_again_changes_nothing(send):
    first = send().json()
    events = AssetEvent.objects.count()
    second = send().json()
    assert (second["id"], second["created"], second["changes"]) == (first["id"], False, [])
    assert AssetEvent.objects.count() == events
    assert Asset.objects.count() == 1


def test_changes_are_kept_as_history(send):
    asset_id = send().json()["id"]
    software = [
        {"name": "bash", "version": "5.2.15-2+b8"},  # upgraded
        {"name": "openssh-client", "version": "1:9.2p1-2+deb12u3"},
        {"name": "libreoffice", "version": "4:7.4.7-1"},  # added; firefox-esr removed
    ]
    response = send(ram_mb=31734, software=software)
    assert set(response.json()["changes"]) == {"ram_mb", "software"}
    history = set(
        AssetEvent.objects.filter(asset_id=asset_id)
        .exclude(kind__in=[EventKind.CREATED])
        .values_list("kind", "field", "old", "new")
    )
    assert history >= {
        ("inventory", "ram_mb", "15734", "31734"),
        ("software_added", "libreoffice", "", "4:7.4.7-1"),
        ("software_removed", "firefox-esr", "128.5.0esr-1~deb12u1", ""),
        ("software_changed", "bash", "5.2.15-2+b7", "5.2.15-2+b8"),
    }
    assert AssetEvent.objects.filter(asset_id=asset_id, actor__isnull=True).exists()


def test_a_machine_recorded_by_hand_is_found_by_its_serial(send, laptop):
    body = send().json()
    assert (body["id"], body["created"]) == (laptop.pk, False)
    laptop.refresh_from_db()
    assert laptop.hardware_uuid == REPORT["hardware_uuid"].lower()
    assert laptop.hostname == "acme-mlopez"
    assert laptop.owner.username == "maria"  # what the agent does not know stays


def test_firmware_placeholder_serials_never_match(send, make_asset):
    make_asset("Desktop", serial="To be filled by O.E.M.")
    body = send(serial="To be filled by O.E.M.", hardware_uuid="other-uuid").json()
    assert body["created"] is True


def test_software_entered_by_hand_survives_reports(send, api, alice):
    asset_id = send().json()["id"]
    api(alice).post(f"/assets/{asset_id}/software", {"name": "In-house ERP", "version": "3"})
    send(software=REPORT["software"][:1])
    assert set(software(asset_id)) == {"bash", "In-house ERP"}


def test_a_report_without_a_package_list_leaves_the_software_alone(send):
    asset_id = send().json()["id"]
    send(software=None, ram_mb=1)
    assert len(software(asset_id)) == 3


@pytest.mark.parametrize(
    ("headers", "status"),
    [({}, 403), ({"Authorization": "Bearer enr_nothex_secret"}, 403),
     ({"Authorization": "Basic abc"}, 403)],
)  # fmt: skip
def test_a_report_needs_a_valid_enrollment_token(api, db, headers, status):
    response = api().post("/assets/inventory", REPORT, **headers)
    assert response.status_code == status
    assert "enrollment token" in response.json()["detail"]
    assert not Asset.objects.exists()


def test_a_revoked_token_is_refused(send, enrollment, ada):
    services.revoke_enrollment_token(acting_user=ada, token_id=enrollment[0].pk)
    assert send().status_code == 403


def test_a_personal_api_token_is_not_an_enrollment_token(api, ada):
    from soporte.accounts.services import create_api_token

    _token, key = create_api_token(acting_user=ada, name="mine")
    assert api(token=key).post("/assets/inventory", REPORT).status_code == 403


@pytest.mark.parametrize(
    "changes",
    [
        {"hardware_uuid": "", "serial": ""},
        {"ram_mb": -5},
        {"hostname": "x" * 300},
        {"software": [{"name": ""}]},
        {"interfaces": "eth0"},
        {"hostname": "nul\x00"},
    ],
)
def test_a_malformed_report_is_a_422(send, changes):
    response = send(**changes)
    assert response.status_code == 422, response.content
    assert response.json()["detail"]
    assert not Asset.objects.exists()


def test_machines_not_reported_lately_are_flagged_stale_then_cleared(send, settings):
    settings.ASSETS_STALE_DAYS = 14
    asset_id = send().json()["id"]
    Asset.objects.filter(pk=asset_id).update(last_inventory_at=timezone.now() - timedelta(days=15))
    assert flag_stale() == 1
    assert flag_stale() == 0  # flagged once
    assert Asset.objects.get(pk=asset_id).stale is True
    send()  # the same report: the machine is back
    asset = Asset.objects.get(pk=asset_id)
    assert asset.stale is False
    kinds = list(asset.events.values_list("kind", "field", "new"))
    assert ("stale", "stale", "True") in kinds and ("inventory", "stale", "False") in kinds


def test_admins_manage_enrollment_tokens(api, ada, alice, acme):
    client = api(ada)
    created = client.post(
        "/assets/enrollment-tokens", {"name": "Acme HQ", "organization_id": acme.pk}
    )
    assert created.status_code == 201
    key = created.json()["key"]
    assert key.startswith("enr_")
    listed = client.get("/assets/enrollment-tokens").json()
    assert "key" not in listed[0] and listed[0]["name"] == "Acme HQ"
    assert api(alice).get("/assets/enrollment-tokens").status_code == 403
    revoked = client.delete(f"/assets/enrollment-tokens/{created.json()['id']}")
    assert revoked.status_code == 200 and revoked.json()["revoked_at"]
    assert api(token=key).post("/assets/inventory", REPORT).status_code == 403


def test_the_tokens_page_shows_a_new_key_once(ada, alice):
    from django.test import Client

    client = Client()
    client.force_login(ada)
    page = client.post("/desk/assets/tokens/", {"name": "Lisbon"})
    assert b"enr_" in page.content
    assert b"enr_" not in client.get("/desk/assets/tokens/").content
    other = Client()
    other.force_login(alice)
    assert other.get("/desk/assets/tokens/").status_code == 403


def test_an_unchanged_report_records_nothing_and_still_moves_last_seen(
    send, django_assert_max_num_queries
):
    """The daily run of an unchanged machine: no event, no installation touched, only
    last_inventory_at moves, in two queries (the token, one UPDATE)."""
    asset_id = send().json()["id"]
    long_ago = timezone.now() - timedelta(days=3)
    Asset.objects.filter(pk=asset_id).update(last_inventory_at=long_ago)
    events, installed = AssetEvent.objects.count(), list(MachineSoftware.objects.values())
    with django_assert_max_num_queries(2):
        body = send().json()
    assert (body["id"], body["created"], body["changes"]) == (asset_id, False, [])
    assert AssetEvent.objects.count() == events
    assert list(MachineSoftware.objects.values()) == installed
    assert Asset.objects.get(pk=asset_id).last_inventory_at > long_ago


def test_only_what_changed_is_recorded_when_the_hardware_changes(send):
    """Disks and interfaces read back from the database compare equal to the report's:
    a new RAM size is the only change, and the package list is not rewritten."""
    asset_id = send().json()["id"]
    installed = list(MachineSoftware.objects.values())
    last = AssetEvent.objects.filter(asset_id=asset_id).latest("id").pk
    response = send(ram_mb=31734)
    assert response.json()["changes"] == ["ram_mb"]
    assert list(MachineSoftware.objects.values()) == installed
    new = AssetEvent.objects.filter(asset_id=asset_id, pk__gt=last)
    assert list(new.values_list("field", "old", "new")) == [("ram_mb", "15734", "31734")]


def test_a_changed_disk_is_recorded_old_and_new(send):
    asset_id = send().json()["id"]
    disks = [{"name": "/dev/sda1", "mountpoint": "/", "fstype": "ext4", "size_gb": 1000.0}]
    assert send(disks=disks).json()["changes"] == ["disks"]
    event = AssetEvent.objects.get(asset_id=asset_id, field="disks")
    assert '"/dev/nvme0n1p2"' in event.old and '"/dev/sda1"' in event.new
    assert Asset.objects.get(pk=asset_id).disks == disks


def test_the_creation_event_keeps_its_data(send):
    asset_id = send().json()["id"]
    created = AssetEvent.objects.get(asset_id=asset_id, kind=EventKind.CREATED)
    assert created.data == {"source": "agent"} and created.actor is None


def test_a_new_machine_whose_tag_is_taken_gets_the_next_free_one(send, make_asset):
    """The tag comes from the hardware UUID's hash; taken (by hand, or by another
    machine with the same 8 hex digits), the machine gets -2, -3..."""
    stem = "INV-" + hashlib.sha256(REPORT["hardware_uuid"].lower().encode()).hexdigest()[:8]
    make_asset("Laptop", tag=stem.upper())
    make_asset("Laptop", tag=f"{stem.upper()}-2")
    body = send().json()
    assert (body["created"], body["tag"]) == (True, f"{stem.upper()}-3")
    assert AssetEvent.objects.filter(asset_id=body["id"], kind=EventKind.CREATED).count() == 1
    assert send().json()["id"] == body["id"]


def test_a_report_costs_the_same_queries_for_many_packages_as_for_few(send):
    """Bulk reads and writes: the number of queries does not grow with the packages
    added, upgraded or removed."""

    def queries(**changes) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert send(**changes).status_code == 200
        return len(captured.captured_queries)

    few = queries(hardware_uuid="few", serial="F1")
    few_changed = queries(hardware_uuid="few", serial="F1", software=REPORT["software"][:2] + [
        {"name": "vim", "version": "9"}, {"name": "bash", "version": "6"}])  # fmt: skip
    many = [{"name": f"pkg-{n}", "version": "1.0"} for n in range(400)]
    assert queries(software=many) <= few
    changed = [{"name": f"pkg-{n}", "version": "2.0"} for n in range(100)]  # 300 removed
    changed += [{"name": f"new-{n}", "version": "1.0"} for n in range(100)]
    assert queries(software=changed) <= few_changed
    asset_id = Asset.objects.get(serial=REPORT["serial"]).pk
    versions = software(asset_id)
    assert len(versions) == 200 and versions["pkg-7"] == "2.0" and versions["new-7"] == "1.0"
    summary = AssetEvent.objects.get(asset_id=asset_id, kind=EventKind.INVENTORY, field="software",
                                     new__startswith="+")  # fmt: skip
    assert summary.new == "+100 -300 ~100 packages"


def test_a_token_records_its_use_at_most_once_a_minute(send, enrollment):
    token = enrollment[0]
    send()
    token.refresh_from_db()
    first_use = token.last_used_at
    assert first_use is not None
    send(ram_mb=1)
    token.refresh_from_db()
    assert token.last_used_at == first_use
    type(token).objects.filter(pk=token.pk).update(last_used_at=first_use - timedelta(minutes=5))
    send(ram_mb=2)
    token.refresh_from_db()
    assert token.last_used_at > first_use


def test_licences_count_the_machines_the_agent_reports(send, api, alice):
    """Licensed products are the ones whose installations count: the agent's reports
    keep their rows (before and after the licence is bought), others stay in the one
    package list per machine."""
    # given: a machine reporting firefox-esr, not yet licensed
    asset_id = send().json()["id"]
    client = api(alice)

    # when: two seats are bought, then a second machine reports it too
    client.post("/assets/licences", {"name": "firefox-esr", "seats": 2})
    send(hardware_uuid="second", serial="S2", hostname="second")

    # then both count; an upgrade keeps the seat, a removal frees it
    assert client.get("/assets/licences").json()[0]["used"] == 2
    upgraded = [dict(p, version="129") if p["name"] == "firefox-esr" else p
                for p in REPORT["software"]]  # fmt: skip
    send(software=upgraded)
    rows = Installation.objects.filter(product__name="firefox-esr")
    assert sorted(rows.values_list("asset_id", "version", "source")) == sorted(
        [(asset_id, "129", "agent"), (rows.exclude(asset_id=asset_id).get().asset_id,
                                      REPORT["software"][1]["version"], "agent")]
    )  # fmt: skip
    send(software=REPORT["software"][:1])
    assert client.get("/assets/licences").json()[0]["used"] == 1
    assert Installation.objects.filter(product__name="bash").count() == 0  # not licensed


def test_agent_reported_software_is_listed_and_removed_by_hand(send, api, alice):
    asset_id = send().json()["id"]
    client = api(alice)
    listed = client.get(f"/assets/{asset_id}/software").json()
    assert [(p["name"], p["source"]) for p in listed] == [
        ("bash", "agent"), ("firefox-esr", "agent"), ("openssh-client", "agent"),
    ]  # fmt: skip
    assert all(p["installed_at"] and p["product_id"] for p in listed)
    bash = listed[0]["product_id"]
    assert client.delete(f"/assets/{asset_id}/software/{bash}").status_code == 204
    assert set(software(asset_id)) == {"firefox-esr", "openssh-client"}
    assert client.delete(f"/assets/{asset_id}/software/{bash}").status_code == 404
    removed = AssetEvent.objects.get(asset_id=asset_id, kind=EventKind.SOFTWARE_REMOVED)
    assert (removed.field, removed.old, removed.actor) == ("bash", "5.2.15-2+b7", alice)
