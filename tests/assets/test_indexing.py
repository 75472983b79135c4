"""Assets in the search index: an agent finds a machine by its serial, tag, model,
location or the person it is assigned to; the documents follow the asset's changes
(services, imports, inventory reports) and a requester never finds one."""

from __future__ import annotations

import json

import pytest

from soporte.assets import indexing, services
from soporte.assets.models import Asset, SearchBacklog
from soporte.jobs.models import Job
from soporte.lib.errors import InvalidInput
from soporte.search.models import Document, Kind

pytestmark = pytest.mark.django_db


def found(user, text: str, **kwargs) -> list[str]:
    return [hit.tag for hit in indexing.search_assets(user, text, **kwargs).items]


@pytest.fixture
def indexed_laptop(committed, make_asset, maria):
    with committed():
        return make_asset(
            "Laptop", tag="ACME-0001", name="Maria's laptop", owner=maria, serial="5CD1234XYZ",
            manufacturer="Lenovo", model="ThinkPad T14",
            location=services.location_named("Madrid HQ"),
        )  # fmt: skip


def test_an_agent_finds_a_machine_by_its_serial_tag_model_place_or_owner(
    alice, maria, indexed_laptop
):
    for text in ("5cd1234xyz", "ACME-0001", "thinkpad", "madrid", maria.username, "lenovo"):
        assert found(alice, text) == ["ACME-0001"], text


def test_the_snippet_marks_the_words_and_escapes_the_text(committed, make_asset, alice):
    with committed():
        make_asset(tag="X-1", name="Kiosk", serial="<script>alert(1)</script>")
    [hit] = indexing.search_assets(alice, "script").items
    assert "<script>" not in hit.snippet and "&lt;" in hit.snippet
    assert "<mark>script</mark>" in hit.snippet


def test_a_requester_finds_no_asset_not_even_her_own(maria, indexed_laptop):
    assert found(maria, "5CD1234XYZ") == []


def test_a_change_of_a_searched_field_is_indexed_and_the_old_words_are_gone(
    committed, alice, indexed_laptop
):
    with committed():
        services.update_asset(indexed_laptop, acting_user=alice, serial="NEWSERIAL77")
    assert found(alice, "NEWSERIAL77") == ["ACME-0001"]
    assert found(alice, "5CD1234XYZ") == []


def test_a_change_of_another_field_leaves_the_document_alone(committed, alice, indexed_laptop):
    before = Document.objects.get(kind=Kind.ASSET, object_id=indexed_laptop.pk).updated_at
    with committed():
        services.update_asset(indexed_laptop, acting_user=alice, os_name="Debian")
    Asset.objects.filter(pk=indexed_laptop.pk).update(serial="UNSEEN")  # no service: no index
    with committed():
        services.update_asset(indexed_laptop, acting_user=alice, os_version="12")
    assert Document.objects.get(kind=Kind.ASSET, object_id=indexed_laptop.pk).updated_at == before
    assert found(alice, "UNSEEN") == []


def test_an_inventory_report_indexes_the_new_machine(client, committed, alice, enrollment):
    _token, key = enrollment
    report = {"hardware_uuid": "4c4c4544-0042-3510-8051-b7c04f4e3132", "serial": "PF3ABCDE",
              "hostname": "ws-ventas-07", "model": "21CF", "software": []}  # fmt: skip
    with committed():
        response = client.post(
            "/api/v1/assets/inventory", json.dumps(report), content_type="application/json",
            headers={"Authorization": f"Bearer {key}"},
        )  # fmt: skip
    assert response.status_code == 200, response.content
    [hit] = indexing.search_assets(alice, "PF3ABCDE").items
    assert hit.id == response.json()["id"]
    assert found(alice, "ws ventas 07") == [hit.tag]


def _report(client, key, **fields):
    report = {"hardware_uuid": "", "model": "21CF", "software": []} | fields
    response = client.post(
        "/api/v1/assets/inventory", json.dumps(report), content_type="application/json",
        headers={"Authorization": f"Bearer {key}"},
    )  # fmt: skip
    assert response.status_code == 200, response.content
    return response.json()


def test_a_burst_of_new_machines_is_indexed_by_one_job(
    client, committed, alice, enrollment, settings, monkeypatch
):
    """With a worker (not eager), the machines of reports within BACKLOG_WINDOW wait in
    the backlog for the one job the first queued; the job writes them all."""
    settings.JOBS_MODE = "worker"
    monkeypatch.setattr(indexing, "_backlog_due", [0.0])
    _token, key = enrollment
    for n in range(3):
        with committed():
            _report(client, key, serial=f"BURST{n}", hostname=f"burst-{n}")
    assert Job.objects.filter(name="assets.index_backlog").count() == 1
    assert SearchBacklog.objects.count() == 3
    assert found(alice, "BURST1") == []
    assert indexing.index_backlog() == 3
    assert not SearchBacklog.objects.exists()
    assert len(indexing.search_assets(alice, "burst").items) == 3


def test_a_renamed_machine_is_indexed_again_and_a_deleted_one_dropped(
    client, committed, alice, enrollment
):
    _token, key = enrollment
    with committed():
        machine = _report(client, key, serial="RENAME1", hostname="old-name")
        other = _report(client, key, serial="GONE1", hostname="gone-host")
    assert found(alice, "old name") == [machine["tag"]]
    with committed():
        assert _report(client, key, serial="RENAME1", hostname="new-name")["changes"] == [
            "hostname"
        ]
    # Found by its new hostname (its name, given at its first report, stays).
    assert found(alice, "new name") == [machine["tag"]]
    SearchBacklog.objects.create(asset_id=other["id"])
    Asset.objects.filter(pk=other["id"]).delete()
    indexing.index_backlog()
    assert not Document.objects.filter(kind=Kind.ASSET, object_id=other["id"]).exists()


def test_reindex_rewrites_every_asset_and_drops_the_deleted(committed, make_asset, alice):
    with committed():
        keep = make_asset(tag="KEEP-1", serial="KEEPSERIAL")
        gone = make_asset(tag="GONE-1", serial="GONESERIAL")
    Document.objects.filter(kind=Kind.ASSET, object_id=keep.pk).delete()
    Asset.objects.filter(pk=gone.pk).delete()  # bypassing the services, as a bulk tool would
    assert indexing.reindex_assets() == Asset.objects.count()
    assert found(alice, "KEEPSERIAL") == ["KEEP-1"]
    assert not Document.objects.filter(kind=Kind.ASSET, object_id=gone.pk).exists()


def test_an_empty_search_is_refused_with_a_message(alice):
    with pytest.raises(InvalidInput):
        indexing.search_assets(alice, "  ...  ")
