"""Cabling: patch cords, the chain device -> wall outlet -> patch panel port -> switch
port, certifier CSV imports (all or nothing), and the certification report."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from soporte.assets import cabling
from soporte.assets.models import CableLink, Certification, ImportRun
from soporte.lib.errors import InvalidInput

HEADER = (
    "Cable ID,From,To,Cable Type,Test Limit,Length (m),Date / Time,Operator,Tester,"
    "Overall Result,NEXT Margin (dB),Insertion Loss Margin (dB),Return Loss Margin (dB)"
)


@pytest.fixture
def office(make_asset, laptop):
    return {
        "pc": laptop,
        "outlet": make_asset("Wall outlet", tag="OUT-1"),
        "outlet2": make_asset("Wall outlet", tag="OUT-2"),
        "panel": make_asset("Patch panel", tag="PP-1"),
        "switch": make_asset("Switch", tag="SW-1"),
    }


@pytest.fixture
def import_csv(alice, django_capture_on_commit_callbacks):
    def send(text: str) -> ImportRun:
        client = Client()
        client.force_login(alice)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/api/v1/assets/imports",
                {"kind": "certifications", "file": SimpleUploadedFile("dsx.csv", text.encode())},
            )
        assert response.status_code == 202, response.content
        return ImportRun.objects.get(pk=response.json()["id"])

    return send


def test_the_chain_runs_from_the_pc_to_the_switch(office, alice, import_csv):
    port = cabling.get_port
    cabling.patch(port(office["pc"], "eth0"), port(office["outlet"], "A"), acting_user=alice)
    run = import_csv(
        HEADER + "\nL-001,OUT-1:A,PP-1:1,Cat 6A,ISO11801 PL Class EA,41.2,2025-06-02 10:31,"
        "J. Ortega,DSX-8000,PASS,4.1,12.0,3.3\n"
    )  # fmt: skip
    assert run.status == "done", run.errors
    cabling.patch(port(office["panel"], "1"), port(office["switch"], "Gi1/0/1"), acting_user=alice)
    hops = cabling.trace(port(office["pc"], "eth0"))
    assert [(h.port.asset.tag, h.port.name, h.via) for h in hops] == [
        ("ACME-0001", "eth0", ""),
        ("OUT-1", "A", "patch"),
        ("PP-1", "1", "link"),
        ("SW-1", "Gi1/0/1", "patch"),
    ]
    assert hops[2].link.link_id == "L-001"
    # Traced from the switch, the same chain backwards.
    back = cabling.trace(port(office["switch"], "Gi1/0/1"))
    assert [h.port.asset.tag for h in back] == ["SW-1", "PP-1", "OUT-1", "ACME-0001"]


def test_a_port_takes_one_patch_cord(office, alice):
    port = cabling.get_port
    cabling.patch(port(office["pc"], "eth0"), port(office["outlet"], "A"), acting_user=alice)
    with pytest.raises(InvalidInput, match="already patched"):
        cabling.patch(port(office["outlet"], "A"), port(office["switch"], "1"), acting_user=alice)
    cabling.unpatch(port(office["outlet"], "A"), acting_user=alice)
    cabling.patch(port(office["outlet"], "A"), port(office["switch"], "1"), acting_user=alice)
    kinds = list(office["pc"].events.values_list("kind", "field"))
    assert ("connected", "eth0") in kinds and ("disconnected", "eth0") in kinds


def test_the_cabling_api_patches_and_traces(api, office, alice, maria):
    body = {
        "a": {"asset_id": office["pc"].pk, "port": "eth0"},
        "b": {"asset_id": office["outlet"].pk, "port": "A"},
    }
    assert api(maria).post("/assets/cabling/patch", body).status_code == 403
    response = api(alice).post("/assets/cabling/patch", body)
    assert response.status_code == 201
    assert [h["tag"] for h in response.json()["hops"]] == ["ACME-0001", "OUT-1"]
    traced = api(alice).get(f"/assets/{office['pc'].pk}/cabling").json()
    assert [h["port"] for h in traced[0]["hops"]] == ["eth0", "A"]


def test_a_certifier_export_with_an_error_imports_nothing(office, import_csv):
    run = import_csv(
        HEADER
        + "\nL-001,OUT-1:A,PP-1:1,Cat6A,TIA Cat 6A Perm. Link,40,2025-06-02,JO,DSX,PASS,4,12,3"
        "\nL-002,OUT-2:A,SW-1:1,Cat6A,TIA Cat 6A Perm. Link,40,2025-06-02,JO,DSX,PASS,4,12,3"
        "\nL-003,OUT-9:A,PP-1:3,Cat7,Whatever,40,yesterday,JO,DSX,MAYBE,x,12,3\n"
    )
    assert run.status == "refused"
    assert {(e["row"], e["column"]) for e in run.errors} == {
        (3, "to"), (4, "from"), (4, "category"), (4, "standard"), (4, "tested_on"),
        (4, "result"), (4, "next"),
    }  # fmt: skip
    assert not CableLink.objects.exists()


def test_reimporting_the_same_export_adds_nothing(office, import_csv):
    text = HEADER + "\nL-001,OUT-1:A,PP-1:1,cat6,TIA-568,40,2025-06-02,JO,DSX,PASS,4,12,3\n"
    assert (import_csv(text).created, Certification.objects.count()) == (1, 1)
    again = import_csv(text)
    assert (again.status, again.created, again.updated) == ("done", 0, 0)


def test_a_link_keeps_its_two_ends(office, import_csv):
    import_csv(HEADER + "\nL-001,OUT-1:A,PP-1:1,cat6,TIA-568,40,2025-06-02,JO,DSX,PASS,,,\n")
    run = import_csv(HEADER + "\nL-001,OUT-2:A,PP-1:1,cat6,TIA-568,40,2025-07-02,JO,DSX,PASS,,,\n")
    assert run.status == "refused"
    assert "runs from OUT-1:A" in run.errors[0]["message"]


def test_the_report_finds_failing_never_certified_and_due_links(office, api, alice, settings):
    settings.CABLE_RECERTIFY_DAYS = 365
    port = cabling.get_port
    links = {}
    for n, (outlet, panel_port) in enumerate(
        [("outlet", "1"), ("outlet", "B"), ("outlet2", "3"), ("outlet2", "D")]
    ):
        outlet_port = port(office[outlet], f"J{n}")
        links[n] = CableLink.objects.create(
            link_id=f"L-{n}", outlet_port=outlet_port, panel_port=port(office["panel"], panel_port),
            category="cat6", standard="tia-568",
        )  # fmt: skip
    today = date.today()

    def certify(n, days_ago, passed):
        Certification.objects.create(
            link=links[n], tested_on=today - timedelta(days=days_ago), technician="JO",
            tester_model="DSX", passed=passed,
        )  # fmt: skip

    certify(0, 10, True)  # fine
    certify(1, 400, True)
    certify(1, 5, False)  # failed its last test
    certify(2, 500, True)  # due again
    report = api(alice).get("/assets/cabling/report").json()
    assert [link["link_id"] for link in report["failing"]] == ["L-1"]
    assert [link["link_id"] for link in report["due"]] == ["L-2"]
    assert [link["link_id"] for link in report["never_certified"]] == ["L-3"]
    page = Client()
    page.force_login(alice)
    assert b"L-3" in page.get("/desk/assets/cabling/").content


def test_the_testers_report_is_attached(office, api, alice, import_csv):
    import_csv(HEADER + "\nL-001,OUT-1:A,PP-1:1,cat6,TIA-568,40,2025-06-02,JO,DSX,FAIL,-1,2,3\n")
    certification = Certification.objects.get()
    assert certification.passed is False
    client = api(alice)
    response = client.client.post(
        f"/api/v1/assets/cabling/certifications/{certification.pk}/report",
        {"file": SimpleUploadedFile("L-001.pdf", b"%PDF-1.4 report")},
    )
    assert response.status_code == 200 and response.json()["has_report"] is True
    listed = client.get(f"/assets/cabling/links/{certification.link_id}/certifications").json()
    assert listed[0]["next_margin_db"] == -1.0


@pytest.mark.parametrize(
    ("text", "parsed"),
    [("Cat 6A", "cat6a"), ("CAT5e", "cat5e"), ("cat6", "cat6"), ("OM3", "fibre"),
     ("Fiber", "fibre")],
)  # fmt: skip
def test_cable_categories_are_read_as_certifiers_write_them(text, parsed):
    assert cabling.parse_category(text) == parsed
