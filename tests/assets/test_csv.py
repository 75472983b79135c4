"""CSV import and export: checked row by row, all or nothing, each error listed, the
progress followed on the run's page; export and import round-trip."""

from __future__ import annotations

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from soporte.assets import imports
from soporte.assets.models import Asset, AssetEvent, ImportRun, Location

HEADER = (
    "tag,type,status,serial,owner,organization,location,purchase_date,ram_mb,attached_to,custom"
)


@pytest.fixture(autouse=True)
def _default_types(types):
    """The files name the default types (a browser test's flush elsewhere in this process
    may have removed the migration's rows)."""


@pytest.fixture
def upload(django_capture_on_commit_callbacks):
    """POST a CSV file to the API; the import job runs as the request's commit would
    run it."""

    def send(client: Client, text: str, kind: str = "assets"):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                "/api/v1/assets/imports",
                {"kind": kind, "file": SimpleUploadedFile("assets.csv", text.encode())},
            )

    return send


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_a_clean_file_creates_and_updates_assets(upload, alice, laptop, maria, acme):
    text = "\n".join(
        [
            HEADER,
            "NB-1,Laptop,in use,SN1,maria,Acme,Madrid,2025-02-01,16384,,"
            '"{""battery_health_pct"": 90}"',
            "MON-1,Monitor,In stock,,,,Madrid,,,NB-1,",
            "ACME-0001,Laptop,in_repair,5CD1234XYZ,maria,,,,,,",
        ]
    )  # fmt: skip
    response = upload(_signed_in(alice), text)
    assert response.status_code == 202, response.content
    run = ImportRun.objects.get(pk=response.json()["id"])
    assert (run.status, run.created, run.updated, run.errors) == ("done", 2, 1, [])
    nb = Asset.objects.get(tag="NB-1")
    assert (nb.owner, nb.organization, nb.ram_mb, nb.custom) == (
        maria,
        acme,
        16384,
        {"battery_health_pct": 90},
    )
    assert Asset.objects.get(tag="MON-1").attached_to == nb
    assert Location.objects.filter(name="Madrid").count() == 1
    laptop.refresh_from_db()
    assert laptop.status == "in_repair"
    assert AssetEvent.objects.filter(asset=laptop, field="status", new="in_repair").exists()
    assert AssetEvent.objects.filter(asset=nb, kind="imported").exists()


def test_a_file_with_errors_imports_nothing_and_lists_each_one(upload, alice, maria):
    text = "\n".join(
        [
            HEADER,
            "OK-1,Laptop,in use,,,,,,,,",
            "BAD-1,Toaster,in use,,,,,,,,",
            "BAD-2,Laptop,lost,,nobody,,,2025-13-01,lots,,",
            "OK-1,Laptop,,,,,,,,,",
            "BAD-3,Laptop,,,maria,Globex,,,,,{not json}",
            "BAD-4,Monitor,,,,,,,,NOWHERE,",
        ]
    )
    response = upload(_signed_in(alice), text)
    run = ImportRun.objects.get(pk=response.json()["id"])
    assert run.status == "refused"
    found = {(e["row"], e["column"]) for e in run.errors}
    assert found == {
        (3, "type"), (4, "status"), (5, "tag"), (6, "organization"), (7, "attached_to"),
    }  # fmt: skip
    assert not Asset.objects.exists()
    page = _signed_in(alice).get(f"/desk/assets/import/{run.pk}/")
    assert b"nothing was imported" in page.content and b"Toaster" in page.content


def test_each_bad_cell_of_a_row_reports_the_first_problem(alice):
    rows, errors = imports.check_assets(HEADER + "\nX,Laptop,,,nobody,,,2025-13-01,,,\n")
    assert rows == [] and [e["column"] for e in errors] == ["owner"]


def test_an_unknown_or_missing_column_refuses_the_file(alice):
    rows, errors = imports.check_assets("tag,colour\nA,red\n")
    assert {(e["column"], e["message"]) for e in errors} == {
        ("colour", "Unknown column."), ("type", "This column is missing."),
    }  # fmt: skip


def test_attachments_in_a_circle_are_refused(alice):
    text = "tag,type,attached_to\nA,Monitor,B\nB,Monitor,A\n"
    _rows, errors = imports.check_assets(text)
    assert [e["message"] for e in errors] == ["These attachments go round in a circle."] * 2


def test_the_progress_is_recorded_as_rows_are_checked(upload, alice, monkeypatch):
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    seen = []
    original = imports._finish

    def spy(run_id, status, **values):
        seen.append(ImportRun.objects.get(pk=run_id).processed)
        original(run_id, status, **values)

    monkeypatch.setattr(imports, "_finish", spy)
    text = "tag,type\n" + "\n".join(f"P-{n},Mouse" for n in range(5))
    run = ImportRun.objects.get(pk=upload(_signed_in(alice), text).json()["id"])
    assert (run.status, run.total, run.processed, run.percent) == ("done", 5, 5, 100)
    assert seen == [5]


def test_the_run_page_polls_until_finished(alice):
    run = ImportRun.objects.create(kind="assets", content="tag,type\n", created_by=alice,
                                   status="checking", total=10, processed=4)  # fmt: skip
    client = _signed_in(alice)
    fragment = client.get(f"/desk/assets/import/{run.pk}/", headers={"HX-Request": "true"})
    assert b'hx-trigger="every 1s"' in fragment.content
    assert b'value="40"' in fragment.content
    ImportRun.objects.filter(pk=run.pk).update(status="done", processed=10)
    done = client.get(f"/desk/assets/import/{run.pk}/", headers={"HX-Request": "true"})
    assert b"every 1s" not in done.content


def test_export_then_import_round_trips(upload, alice, laptop, monitor, maria):
    client = _signed_in(alice)
    response = client.get("/desk/assets/export.csv")
    assert response["Content-Type"].startswith("text/csv")
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert [row["tag"] for row in rows] == ["ACME-0001", "ACME-0002"]
    assert rows[1]["attached_to"] == "ACME-0001" and rows[0]["owner"] == "maria"
    run = ImportRun.objects.get(pk=upload(client, text).json()["id"])
    assert (run.status, run.created, run.updated) == ("done", 0, 0)


def test_export_neutralizes_spreadsheet_formulas(alice, make_asset):
    make_asset(tag="=HYPERLINK(1)")
    text = b"".join(_signed_in(alice).get("/desk/assets/export.csv").streaming_content)
    assert b"'=HYPERLINK(1)" in text


def test_the_api_export_streams_csv(api, laptop, alice, maria):
    response = api(alice).get("/assets/export")
    assert response.status_code == 200
    assert b"ACME-0001" in b"".join(response.streaming_content)
    assert api(maria).get("/assets/export").status_code == 403


def test_a_file_that_is_not_utf8_text_is_refused(upload, alice):
    response = upload(_signed_in(alice), "")
    assert response.status_code == 422
    bad = Client()
    bad.force_login(alice)
    latin = bad.post(
        "/api/v1/assets/imports",
        {
            "kind": "assets",
            "file": SimpleUploadedFile("a.csv", "tag,type\nÑ,Mouse".encode("cp1252")),
        },
    )
    assert latin.status_code == 422 and "UTF-8" in latin.json()["detail"]


def test_the_import_page_uploads_and_redirects_to_the_run(
    alice, django_capture_on_commit_callbacks
):
    client = _signed_in(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/desk/assets/import/",
            {"kind": "assets", "file": SimpleUploadedFile("a.csv", b"tag,type\nK-1,Keyboard\n")},
        )
    run = ImportRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/desk/assets/import/{run.pk}/"
    assert Asset.objects.filter(tag="K-1").exists()
