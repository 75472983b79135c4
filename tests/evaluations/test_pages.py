"""The agents' evaluation pages through the real test client: list, new, the evaluation
page with its forms, the report and its CSV; who may see and do what; the demo."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.evaluations import demo
from soporte.evaluations.models import Evaluation, Feedback

NEW = {
    "title": "Laser printer L9",
    "kind": "hardware",
    "model": "L9",
    "manufacturer": "Printco",
    "steps": "Prints duplex\n\n  Scans to e-mail  \n",
}


def client(user) -> Client:
    c = Client()
    c.force_login(user)
    return c


def test_an_agent_plans_tests_and_decides_through_the_pages(bob, sara, inventory):
    c = client(bob)
    response = c.post("/desk/evaluations/new/", NEW)
    assert response.status_code == 302
    ev = Evaluation.objects.get()
    assert [s.text for s in ev.steps.all()] == ["Prints duplex", "Scans to e-mail"]
    page = f"/desk/evaluations/{ev.pk}/"

    assert c.post(page + "start/").status_code == 302
    step = ev.steps.first()
    assert c.post(page + f"steps/{step.pk}/", {"result": "pass", "note": "ok"}).status_code == 302
    assert (
        c.post(page + "compatibility/", {"system": "os:Windows 11", "result": "issues"}).status_code
        == 302
    )
    laptop = f"asset_type:{inventory['laptop'].pk}"
    assert (
        c.post(page + "compatibility/", {"system": laptop, "result": "compatible"}).status_code
        == 302
    )
    assert c.post(page + "score/", {"score": "5"}).status_code == 302
    assert client(sara).post(page + "score/", {"score": "2"}).status_code == 302
    assert c.post(page + "findings/", {"title": "Jams with thick paper"}).status_code == 302
    finding = ev.findings.get()
    assert c.post(page + f"findings/{finding.pk}/problem/", {"report": ""}).status_code == 302
    finding.refresh_from_db()
    assert finding.problem is not None

    body = c.get(page).content.decode()
    assert "Prints duplex" in body
    assert "Windows 11" in body and "Compatible with issues" in body
    assert "Average 3.5 of 5 (2 testers)" in body
    assert "Jams with thick paper" in body
    assert f"/desk/problems/{finding.problem_id}/" in body

    response = c.post(page + "decide/", {"recommendation": "reject"})
    assert response.status_code == 302
    ev.refresh_from_db()
    assert (ev.status, ev.recommendation) == ("decided", "reject")
    assert "Reject" in c.get(page).content.decode()


def test_the_evaluation_page_takes_a_bounded_number_of_queries(
    bob, make_evaluation, django_assert_max_num_queries
):
    ev = make_evaluation(testing=True)
    c = client(bob)
    c.get(f"/desk/evaluations/{ev.pk}/")
    with django_assert_max_num_queries(25):
        assert c.get(f"/desk/evaluations/{ev.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("post", "status"),
    [
        ({"system": "os:BeOS", "result": "compatible"}, 422),
        ({"system": "nonsense", "result": "compatible"}, 422),
        ({"system": "asset_type:abc", "result": "compatible"}, 422),
        ({"system": "os:Windows 11", "result": "great"}, 422),
    ],
)
def test_a_bad_compatibility_is_refused_with_a_message(bob, make_evaluation, post, status):
    ev = make_evaluation(testing=True)
    response = client(bob).post(f"/desk/evaluations/{ev.pk}/compatibility/", post)
    assert response.status_code == status
    assert "Not done" in response.content.decode()
    assert not ev.compatibility.exists()


def test_a_decision_out_of_order_is_a_409(bob, make_evaluation):
    ev = make_evaluation()
    response = client(bob).post(f"/desk/evaluations/{ev.pk}/decide/", {"recommendation": "adopt"})
    assert response.status_code == 409
    ev.refresh_from_db()
    assert ev.status == "planned"


def test_an_invalid_new_evaluation_shows_the_form_again(bob, inventory):
    response = client(bob).post("/desk/evaluations/new/", {**NEW, "model": "", "kind": "hardware"})
    assert response.status_code == 422
    assert not Evaluation.objects.exists()


def test_feedback_recorded_by_hand_from_the_page(bob, make_evaluation):
    ev = make_evaluation(testing=True)
    response = client(bob).post(
        f"/desk/evaluations/{ev.pk}/feedback/",
        {"method": "by_hand", "body": "Called Dana.", "sent_on": "2026-02-01T10:00"},
    )
    assert response.status_code == 302
    feedback = Feedback.objects.get()
    assert (feedback.status, feedback.body) == ("sent", "Called Dana.")
    assert feedback.sent_at.date().isoformat() == "2026-02-01"


def test_the_report_page_and_csv(bob, carol, make_evaluation):
    make_evaluation(title="One")
    ev = make_evaluation(title="Two", testing=True)
    client(bob).post(f"/desk/evaluations/{ev.pk}/decide/", {"recommendation": "adopt"})
    body = client(carol).get("/desk/evaluations/report/").content.decode()
    assert "Adopt" in body and "Undecided" in body
    response = client(carol).get("/desk/evaluations/report.csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "Status,Recommendation,Evaluations"
    assert sorted(lines[1:]) == ["Decided,Adopt,1", "Planned,Undecided,1"]


def test_the_list_filters_by_status(bob, make_evaluation):
    make_evaluation(title="Planned dock")
    make_evaluation(title="Tested dock", testing=True)
    body = client(bob).get("/desk/evaluations/?status=testing").content.decode()
    assert "Tested dock" in body and "Planned dock" not in body
    assert client(bob).get("/desk/evaluations/?status=bogus").status_code == 400


@pytest.mark.parametrize(
    "path",
    ["/desk/evaluations/", "/desk/evaluations/new/", "/desk/evaluations/report/",
     "/desk/evaluations/report.csv", "/desk/evaluations/{id}/"],
)  # fmt: skip
def test_requesters_never_see_evaluation_pages(maria, make_evaluation, path):
    ev = make_evaluation()
    assert client(maria).get(path.format(id=ev.pk)).status_code == 403


def test_nobody_signed_in_is_sent_to_sign_in(make_evaluation):
    ev = make_evaluation()
    response = Client().get(f"/desk/evaluations/{ev.pk}/")
    assert response.status_code == 302
    assert "login" in response["Location"]


def test_an_l1_agent_reads_but_cannot_change(alice, make_evaluation):
    ev = make_evaluation(testing=True)
    c = client(alice)
    body = c.get(f"/desk/evaluations/{ev.pk}/").content.decode()
    assert "Connects two monitors" in body
    assert "Start testing" not in body and 'name="score"' not in body
    assert c.post(f"/desk/evaluations/{ev.pk}/score/", {"score": "5"}).status_code == 403
    assert c.get("/desk/evaluations/new/").status_code == 403
    assert not ev.scores.exists()


def test_pages_need_the_csrf_token(bob, make_evaluation):
    ev = make_evaluation()
    c = Client(enforce_csrf_checks=True)
    c.force_login(bob)
    assert c.post(f"/desk/evaluations/{ev.pk}/start/").status_code == 403
    ev.refresh_from_db()
    assert ev.status == "planned"


def test_html_in_texts_is_escaped(bob, make_evaluation):
    ev = make_evaluation(title="<script>alert(1)</script>", testing=True)
    body = client(bob).get(f"/desk/evaluations/{ev.pk}/").content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_the_demo_plans_one_evaluation_and_decides_another(bob, maria):
    demo.load({"people": {"luis": bob, "maria": maria}})
    outcomes = sorted(Evaluation.objects.values_list("status", "recommendation"))
    assert outcomes == [("decided", "conditions"), ("testing", "")]
    assert Feedback.objects.get().status == "sent"


def test_the_matrix_offers_each_system_of_the_inventory_once(bob, ada, make_evaluation, inventory):
    from soporte.assets import services as assets

    for tag in ("NB-2", "NB-3"):
        assets.create_asset(
            acting_user=ada, tag=tag, type=inventory["laptop"], os_name="Ubuntu 24.04"
        )
    ev = make_evaluation(testing=True)
    body = client(bob).get(f"/desk/evaluations/{ev.pk}/").content.decode()
    assert body.count('value="os:Ubuntu 24.04"') == 1
    assert body.count('value="os:Windows 11"') == 1
    assert f'value="software:{inventory["office"].pk}"' in body


def test_failed_feedback_is_sent_again_from_the_page(bob, alice, make_evaluation, committed):
    from django.core import mail

    ev = make_evaluation(testing=True)
    feedback = Feedback.objects.create(
        evaluation=ev, method="mail", to="v@example.org", subject="Dock", body="Hangs",
        status="failed", recorded_by=bob,
    )  # fmt: skip
    url = f"/desk/evaluations/{ev.pk}/feedback/{feedback.pk}/retry/"
    assert "Try again" in client(bob).get(f"/desk/evaluations/{ev.pk}/").content.decode()
    assert client(alice).post(url).status_code == 403
    with committed():
        assert client(bob).post(url).status_code == 302
    feedback.refresh_from_db()
    assert feedback.status == "sent"
    assert [m.to for m in mail.outbox] == [["v@example.org"]]
    assert client(bob).post(url).status_code == 409
    other = make_evaluation(title="Other")
    assert (
        client(bob).post(f"/desk/evaluations/{other.pk}/feedback/{feedback.pk}/retry/").status_code
        == 404
    )
