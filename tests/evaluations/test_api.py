"""The evaluations API end to end: plan, test (checklist, matrix, scores, issues),
decide, tell the vendor, and the report by status and outcome."""

from __future__ import annotations

import csv
import io

import pytest
from django.core import mail

from soporte.evaluations.models import Evaluation, Feedback, Finding
from soporte.problems.models import BugReport, Problem


def _plan(api, user, inventory, **overrides):
    body = {
        "title": "Office Suite 2027",
        "kind": "software",
        "software_product_id": inventory["office"].pk,
        "product_version": "2027",
        "vendor": "Acme Soft",
        "vendor_contact": "Vera Vendor",
        "vendor_email": "vera@acmesoft.example",
        "steps": ["Installs silently", "Opens old documents"],
        **overrides,
    }
    return api(user).post("/evaluations", body)


def test_an_evaluation_runs_from_plan_to_decision(api, bob, sara, carol, inventory):
    # given a planned evaluation with a two-step test plan
    response = _plan(api, bob, inventory)
    assert response.status_code == 201, response.content
    data = response.json()
    ev = data["id"]
    assert data["status"] == "planned"
    assert [s["text"] for s in data["steps"]] == ["Installs silently", "Opens old documents"]
    assert "Office Suite" in data["product"]

    # when it is tested by two people
    assert api(bob).post(f"/evaluations/{ev}/status", {"status": "testing"}).status_code == 200
    step_id = data["steps"][0]["id"]
    response = api(sara).put(
        f"/evaluations/{ev}/steps/{step_id}", {"result": "fail", "note": "Needs a reboot"}
    )
    assert response.status_code == 200, response.content
    assert response.json()["checked_by"] == "sara"
    assert response.json()["checked_at"]
    compat = {"system_kind": "os", "os_name": "windows 11", "result": "issues", "note": "Slow"}
    response = api(bob).put(f"/evaluations/{ev}/compatibility", compat)
    assert response.status_code == 200, response.content
    assert response.json()["system"] == "Windows 11"
    laptop = {"system_kind": "asset_type", "system_id": inventory["laptop"].pk}
    api(bob).put(f"/evaluations/{ev}/compatibility", {**laptop, "result": "compatible"})
    api(bob).put(f"/evaluations/{ev}/score", {"score": 4})
    api(sara).put(f"/evaluations/{ev}/score", {"score": 1})
    api(sara).put(f"/evaluations/{ev}/score", {"score": 3})  # sara changes her mind
    finding = api(sara).post(f"/evaluations/{ev}/findings", {"title": "Macro warnings"})
    assert finding.status_code == 201

    # then the evaluation shows it all
    data = api(carol).get(f"/evaluations/{ev}").json()
    assert data["steps"][0]["result"] == "fail"
    assert data["steps"][1]["result"] == "pending"
    assert sorted((c["system"], c["result"]) for c in data["compatibility"]) == [
        ("Laptop", "compatible"),
        ("Windows 11", "issues"),
    ]
    assert sorted(s["score"] for s in data["scores"]) == [3, 4]
    assert data["average_score"] == 3.5
    assert [f["title"] for f in data["findings"]] == ["Macro warnings"]

    # when the supervisor decides
    response = api(carol).post(
        f"/evaluations/{ev}/status",
        {"status": "decided", "recommendation": "conditions", "conditions": "Only on Win 11"},
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["status"], data["recommendation"]) == ("decided", "conditions")
    assert data["decided_by"] == "carol"
    assert data["conditions"] == "Only on Win 11"


def test_setting_a_system_again_replaces_its_result(api, bob, make_evaluation):
    ev = make_evaluation(testing=True)
    cell = {"system_kind": "os", "os_name": "Windows 11"}
    api(bob).put(f"/evaluations/{ev.pk}/compatibility", {**cell, "result": "issues"})
    api(bob).put(f"/evaluations/{ev.pk}/compatibility", {**cell, "result": "incompatible"})
    rows = api(bob).get(f"/evaluations/{ev.pk}").json()["compatibility"]
    assert [(r["system"], r["result"]) for r in rows] == [("Windows 11", "incompatible")]
    response = api(bob).delete(f"/evaluations/{ev.pk}/compatibility/{rows[0]['id']}")
    assert response.status_code == 204
    assert api(bob).get(f"/evaluations/{ev.pk}").json()["compatibility"] == []


@pytest.mark.parametrize(
    ("cell", "status"),
    [
        ({"system_kind": "os", "os_name": "BeOS", "result": "compatible"}, 422),
        ({"system_kind": "os", "result": "compatible"}, 422),
        ({"system_kind": "asset_type", "system_id": 999999, "result": "compatible"}, 422),
        ({"system_kind": "software", "result": "compatible"}, 422),
        ({"system_kind": "os", "os_name": "Windows 11", "result": "maybe"}, 422),
        ({"system_kind": "planet", "os_name": "Windows 11", "result": "compatible"}, 422),
    ],
)
def test_a_system_outside_the_inventory_or_a_bad_result_is_refused(
    api, bob, make_evaluation, cell, status
):
    ev = make_evaluation(testing=True)
    response = api(bob).put(f"/evaluations/{ev.pk}/compatibility", cell)
    assert response.status_code == status, response.content
    assert not ev.compatibility.exists()


def test_the_status_flow_cannot_be_skipped_or_reversed(api, bob, make_evaluation):
    ev = make_evaluation()
    decide = {"status": "decided", "recommendation": "adopt"}
    assert api(bob).post(f"/evaluations/{ev.pk}/status", decide).status_code == 409
    assert api(bob).post(f"/evaluations/{ev.pk}/status", {"status": "testing"}).status_code == 200
    assert api(bob).post(f"/evaluations/{ev.pk}/status", {"status": "testing"}).status_code == 409
    assert api(bob).post(f"/evaluations/{ev.pk}/status", decide).status_code == 200
    assert api(bob).post(f"/evaluations/{ev.pk}/status", decide).status_code == 409
    response = api(bob).patch(f"/evaluations/{ev.pk}", {"title": "Other"})
    assert response.status_code == 409
    ev.refresh_from_db()
    assert (ev.status, ev.recommendation, ev.title) == ("decided", "adopt", "Dock model X200")


def test_results_are_recorded_only_while_testing(api, bob, make_evaluation):
    ev = make_evaluation()
    step = ev.steps.first()
    response = api(bob).put(f"/evaluations/{ev.pk}/steps/{step.pk}", {"result": "pass"})
    assert response.status_code == 409
    assert api(bob).put(f"/evaluations/{ev.pk}/score", {"score": 5}).status_code == 409
    assert api(bob).post(f"/evaluations/{ev.pk}/findings", {"title": "x"}).status_code == 409
    step.refresh_from_db()
    assert step.result == "pending"


@pytest.mark.parametrize(
    ("decision", "message"),
    [
        ({"status": "decided", "recommendation": "conditions"}, "conditions"),
        ({"status": "decided"}, "recommendation"),
        ({"status": "decided", "recommendation": "perhaps"}, ""),
        ({"status": "planned"}, ""),
    ],
)
def test_a_decision_needs_a_valid_recommendation(api, bob, make_evaluation, decision, message):
    ev = make_evaluation(testing=True)
    response = api(bob).post(f"/evaluations/{ev.pk}/status", decision)
    assert response.status_code == 422, response.content
    assert message in str(response.json()["detail"])
    ev.refresh_from_db()
    assert ev.status == "testing"


def test_conditions_are_dropped_when_the_product_is_simply_adopted(api, bob, make_evaluation):
    ev = make_evaluation(testing=True)
    body = {"status": "decided", "recommendation": "adopt", "conditions": "ignored"}
    assert api(bob).post(f"/evaluations/{ev.pk}/status", body).json()["conditions"] == ""


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "software"},  # no software product
        {"kind": "hardware", "asset_type_id": None, "model": ""},
        {"kind": "hardware", "asset_type_id": 999999},
        {"kind": "gadget"},
        {"title": ""},
        {"title": "x" * 201},
        {"title": "a\x00b"},
        {"steps": [""]},
        {"steps": ["ok"] * 201},
        {"vendor_email": "x" * 300},
    ],
)
def test_bad_input_is_a_4xx_and_creates_nothing(api, bob, body):
    base = {"title": "Dock", "kind": "hardware", "model": "X200"}
    response = api(bob).post("/evaluations", {**base, **body})
    assert 400 <= response.status_code < 500, response.content
    assert response.json()["detail"]
    assert not Evaluation.objects.exists()


@pytest.mark.parametrize("score", [0, 6, "high", None, 2.5])
def test_a_score_is_a_whole_number_from_one_to_five(api, bob, make_evaluation, score):
    ev = make_evaluation(testing=True)
    response = api(bob).put(f"/evaluations/{ev.pk}/score", {"score": score})
    assert response.status_code == 422, response.content
    assert not ev.scores.exists()


def test_a_step_of_another_evaluation_is_not_found(api, bob, make_evaluation):
    first = make_evaluation(testing=True)
    other = make_evaluation(title="Other", testing=True)
    step = other.steps.first()
    response = api(bob).put(f"/evaluations/{first.pk}/steps/{step.pk}", {"result": "pass"})
    assert response.status_code == 404
    step.refresh_from_db()
    assert step.result == "pending"


def test_steps_are_added_at_the_end_of_the_plan(api, bob, make_evaluation):
    ev = make_evaluation()
    response = api(bob).post(f"/evaluations/{ev.pk}/steps", {"text": "Survives sleep"})
    assert response.status_code == 201
    texts = [s["text"] for s in api(bob).get(f"/evaluations/{ev.pk}").json()["steps"]]
    assert texts == ["Connects two monitors", "Charges the laptop", "Survives sleep"]


def test_l1_agents_read_but_do_not_run_evaluations(api, alice, make_evaluation):
    ev = make_evaluation(testing=True)
    assert api(alice).get(f"/evaluations/{ev.pk}").status_code == 200
    assert api(alice).put(f"/evaluations/{ev.pk}/score", {"score": 5}).status_code == 403
    assert (
        api(alice)
        .post("/evaluations", {"title": "x", "kind": "hardware", "model": "m"})
        .status_code
        == 403
    )
    assert not ev.scores.exists()


def test_requesters_never_see_evaluations(api, maria, make_evaluation):
    ev = make_evaluation()
    assert api(maria).get("/evaluations").status_code == 403
    assert api(maria).get(f"/evaluations/{ev.pk}").status_code == 403
    assert api(maria).get("/evaluations/report").status_code == 403
    assert api(maria).get("/evaluations/report.csv").status_code == 403


def test_the_list_filters_by_status_and_outcome(api, bob, make_evaluation):
    planned = make_evaluation(title="Planned one")
    rejected = make_evaluation(title="Rejected one", testing=True)
    api(bob).post(
        f"/evaluations/{rejected.pk}/status", {"status": "decided", "recommendation": "reject"}
    )
    ids = lambda r: [item["id"] for item in r.json()["items"]]  # noqa: E731
    assert ids(api(bob).get("/evaluations", {"status": "planned"})) == [planned.pk]
    assert ids(api(bob).get("/evaluations", {"recommendation": "reject"})) == [rejected.pk]
    assert sorted(ids(api(bob).get("/evaluations"))) == sorted([planned.pk, rejected.pk])
    assert api(bob).get("/evaluations", {"status": "nope"}).status_code == 422


def test_the_report_counts_evaluations_by_status_and_outcome(api, bob, carol, make_evaluation):
    make_evaluation(title="A")
    make_evaluation(title="B")
    for title, outcome in [("C", "adopt"), ("D", "adopt"), ("E", "reject")]:
        ev = make_evaluation(title=title, testing=True)
        api(bob).post(
            f"/evaluations/{ev.pk}/status", {"status": "decided", "recommendation": outcome}
        )
    data = api(carol).get("/evaluations/report").json()
    counts = {(r["status"], r["recommendation"]): r["count"] for r in data["rows"]}
    assert counts == {("planned", ""): 2, ("decided", "adopt"): 2, ("decided", "reject"): 1}
    assert data["total"] == 5

    response = api(carol).get("/evaluations/report.csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == ["Status", "Recommendation", "Evaluations"]
    assert ["Decided", "Adopt", "2"] in rows
    assert ["Planned", "Undecided", "2"] in rows


def test_feedback_is_mailed_to_the_vendor_by_a_job(api, bob, make_evaluation, committed):
    ev = make_evaluation(testing=True)
    finding = api(bob).post(f"/evaluations/{ev.pk}/findings", {"title": "Flickers"}).json()
    with committed():
        response = api(bob).post(
            f"/evaluations/{ev.pk}/feedback",
            {"body": "The dock flickers at 144 Hz.", "finding_ids": [finding["id"]]},
        )
    assert response.status_code == 201, response.content
    feedback = Feedback.objects.get()
    assert (feedback.status, feedback.to) == ("sent", "sales@vendor.example")
    assert feedback.sent_at is not None
    assert [(m.to, m.body) for m in mail.outbox] == [
        (["sales@vendor.example"], "The dock flickers at 144 Hz.")
    ]
    assert Finding.objects.get(pk=finding["id"]).feedback_id == feedback.pk


def test_feedback_sent_by_hand_is_recorded_with_its_date(api, bob, make_evaluation):
    ev = make_evaluation(testing=True)
    body = {
        "method": "by_hand",
        "body": "Told them on the phone.",
        "contact": "Vera",
        "sent_at": "2026-01-10T10:00:00Z",
    }
    response = api(bob).post(f"/evaluations/{ev.pk}/feedback", body)
    assert response.status_code == 201, response.content
    data = response.json()
    assert (data["status"], data["contact"]) == ("sent", "Vera")
    assert data["sent_at"].startswith("2026-01-10T10:00")
    assert mail.outbox == []


@pytest.mark.parametrize(
    "body",
    [
        {"body": "x", "to": "not an address"},
        {"body": ""},
        {"body": "x", "method": "pigeon"},
        {"body": "x", "finding_ids": [999999]},
        {"body": "x", "sent_at": "2026-01-10T10:00:00Z"},
        {"body": "x", "method": "by_hand", "sent_at": "2999-01-10T10:00:00Z"},
    ],
)
def test_bad_feedback_is_refused(api, bob, make_evaluation, body):
    ev = make_evaluation(testing=True)
    response = api(bob).post(f"/evaluations/{ev.pk}/feedback", body)
    assert response.status_code == 422, response.content
    assert not Feedback.objects.exists()


def test_feedback_without_a_vendor_address_cannot_be_mailed(api, bob, make_evaluation):
    ev = make_evaluation(testing=True, vendor_email="")
    response = api(bob).post(f"/evaluations/{ev.pk}/feedback", {"body": "x"})
    assert response.status_code == 422
    assert "e-mail" in response.json()["detail"]


def test_an_issue_becomes_a_problem_once(api, bob, make_evaluation):
    ev = make_evaluation(testing=True)
    finding = (
        api(bob)
        .post(
            f"/evaluations/{ev.pk}/findings", {"title": "Firmware hangs", "description": "On wake"}
        )
        .json()
    )
    url = f"/evaluations/{ev.pk}/findings/{finding['id']}/problem"
    first = api(bob).post(url, {})
    assert first.status_code == 201, first.content
    problem = Problem.objects.get()
    assert problem.title == "Firmware hangs"
    assert "On wake" in problem.description
    assert first.json()["problem_id"] == problem.pk
    assert api(bob).post(url, {}).json()["problem_id"] == problem.pk
    assert Problem.objects.count() == 1


def test_reporting_an_issue_needs_a_tracker(api, bob, make_evaluation):
    ev = make_evaluation(testing=True)
    finding = api(bob).post(f"/evaluations/{ev.pk}/findings", {"title": "Hangs"}).json()
    url = f"/evaluations/{ev.pk}/findings/{finding['id']}/problem"
    response = api(bob).post(url, {"report": True})
    assert response.status_code == 422
    assert "tracker" in response.json()["detail"]
    assert not Problem.objects.exists()  # the whole step was undone


def test_an_issue_is_reported_to_development(api, bob, make_evaluation, make_tracker, committed):
    tracker = make_tracker("github")
    ev = make_evaluation(testing=True)
    finding = api(bob).post(f"/evaluations/{ev.pk}/findings", {"title": "Hangs"}).json()
    with committed():
        response = api(bob).post(
            f"/evaluations/{ev.pk}/findings/{finding['id']}/problem",
            {"report": True, "tracker_id": tracker.pk},
        )
    assert response.status_code == 201, response.content
    report = BugReport.objects.get()
    assert (report.problem_id, report.status) == (response.json()["problem_id"], "sent")
    assert Problem.objects.get().bug_key


def test_changing_the_product_keeps_it_consistent(api, bob, make_evaluation, inventory):
    ev = make_evaluation()
    url = f"/evaluations/{ev.pk}"
    assert api(bob).patch(url, {"kind": "software"}).status_code == 422
    response = api(bob).patch(
        url, {"kind": "software", "software_product_id": inventory["office"].pk}
    )
    assert response.status_code == 200, response.content
    data = response.json()
    assert (data["kind"], data["asset_type_id"]) == ("software", None)
    assert data["software_product_id"] == inventory["office"].pk
    assert api(bob).patch(url, {"title": None}).status_code == 422
    assert api(bob).patch(url, {"software_product_id": 999999}).status_code == 422
    ev.refresh_from_db()
    assert ev.title == "Dock model X200"


def test_an_issue_of_another_evaluation_is_not_found(api, bob, make_evaluation):
    first = make_evaluation(testing=True)
    other = make_evaluation(title="Other", testing=True)
    finding = api(bob).post(f"/evaluations/{other.pk}/findings", {"title": "Hangs"}).json()
    response = api(bob).post(f"/evaluations/{first.pk}/findings/{finding['id']}/problem", {})
    assert response.status_code == 404
    assert not Problem.objects.exists()
    response = api(bob).post(
        f"/evaluations/{first.pk}/feedback", {"body": "x", "finding_ids": [finding["id"]]}
    )
    assert response.status_code == 422
