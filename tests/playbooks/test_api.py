"""/api/v1/playbooks: templates, a ticket's checklists, sub-tasks and remote sessions;
and resolving through the tickets API while required steps are open."""

from __future__ import annotations

import pytest

from soporte.playbooks.models import ChecklistStep, ChecklistTemplate, RemoteSession, SubTask
from soporte.tickets.models import Status

pytestmark = pytest.mark.django_db

TEMPLATE = {
    "name": "Printer swap",
    "description": "A new printer for a desk.",
    "steps": [{"title": "Unpack"}, {"title": "Test page", "required": False}],
}


def test_agents_read_templates_and_supervisors_write_them(api, alice, carol, malware):
    assert len(api(alice).get("/playbooks/templates").json()) == 5
    assert api(alice).post("/playbooks/templates", TEMPLATE).status_code == 403
    made = api(carol).post("/playbooks/templates", {**TEMPLATE, "category_ids": [malware.pk]})
    assert made.status_code == 201, made.content
    body = made.json()
    assert [(s["title"], s["required"]) for s in body["steps"]] == [
        ("Unpack", True), ("Test page", False),
    ]  # fmt: skip
    assert body["category_ids"] == [malware.pk]
    path = f"/playbooks/templates/{body['id']}"
    replaced = api(carol).put(path, {**TEMPLATE, "name": "Printer swap v2", "active": False})
    assert replaced.status_code == 200 and replaced.json()["active"] is False
    assert api(alice).get(path).json()["name"] == "Printer swap v2"
    assert api(carol).delete(path).status_code == 204
    assert api(alice).get(path).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {**TEMPLATE, "steps": []},
        {**TEMPLATE, "name": ""},
        {**TEMPLATE, "steps": [{"title": "a\x00b"}]},
        {**TEMPLATE, "category_ids": [999999]},
        {**TEMPLATE, "steps": [{"title": "   "}]},
    ],
)
def test_bad_templates_are_refused_with_422(api, carol, body):
    response = api(carol).post("/playbooks/templates", body)
    assert response.status_code == 422, response.content
    assert not ChecklistTemplate.objects.exists()


def test_requesters_see_no_templates(api, maria):
    assert api(maria).get("/playbooks/templates").status_code == 403


def test_an_agent_works_the_checklist_through_the_api(api, alice, malware_ticket):
    path = f"/playbooks/tickets/{malware_ticket.number}"
    (checklist,) = api(alice).get(f"{path}/checklists").json()
    step = checklist["steps"][1]
    checked = api(alice).post(f"{path}/steps/{step['id']}", {"done": True, "note": "Adware.X"})
    assert checked.status_code == 200, checked.content
    assert checked.json()["done"] is True and checked.json()["note"] == "Adware.X"
    assert checked.json()["done_by"] == str(alice)
    # Without a note, the note stays.
    unchecked = api(alice).post(f"{path}/steps/{step['id']}", {"done": False}).json()
    assert unchecked["done"] is False and unchecked["note"] == "Adware.X"
    assert api(alice).post(f"{path}/steps/999999", {"done": True}).status_code == 404


def test_resolving_through_the_api_is_refused_until_the_steps_are_done(api, alice, malware_ticket):
    resolve = f"/tickets/{malware_ticket.number}/resolve"
    first = ChecklistStep.objects.filter(checklist__ticket=malware_ticket).first()
    api(alice).post(f"/playbooks/tickets/{malware_ticket.number}/steps/{first.pk}", {"done": True})
    refused = api(alice).post(resolve, {"resolution": "Cleaned."})
    assert refused.status_code == 409
    assert "Verify with a second, clean scan" in refused.json()["detail"]
    malware_ticket.refresh_from_db()
    assert malware_ticket.status == Status.OPEN
    assert ChecklistStep.objects.get(pk=first.pk).done  # nothing lost
    for step in ChecklistStep.objects.filter(checklist__ticket=malware_ticket, required=True):
        api(alice).post(
            f"/playbooks/tickets/{malware_ticket.number}/steps/{step.pk}", {"done": True}
        )
    assert api(alice).post(resolve, {"resolution": "Cleaned."}).status_code == 200


def test_attaching_by_hand(api, alice, ticket, malware):
    recovery = ChecklistTemplate.objects.get(key="data-recovery")
    path = f"/playbooks/tickets/{ticket.number}/checklists"
    # Maria's ticket has no team: every agent may work it.
    made = api(alice).post(path, {"template_id": recovery.pk})
    assert made.status_code == 201, made.content
    assert made.json()["name"] == "Data recovery" and len(made.json()["steps"]) == 5
    assert api(alice).post(path, {"template_id": recovery.pk}).status_code == 409
    assert api(alice).post(path, {"template_id": 999999}).status_code == 422


def test_sub_tasks_through_the_api(api, alice, carol, maria, malware_ticket):
    path = f"/playbooks/tickets/{malware_ticket.number}/subtasks"
    body = {"title": "Check proxy logs", "assignee_id": carol.pk,
            "due_at": "2030-01-02T09:00:00+01:00", "required": True}  # fmt: skip
    made = api(alice).post(path, body)
    assert made.status_code == 201, made.content
    task = made.json()
    assert task["ticket"] == malware_ticket.number and task["due_at"].startswith("2030-01-02T08")
    assert api(alice).post(path, {"title": "x", "assignee_id": maria.pk}).status_code == 422
    assert api(carol).get("/playbooks/subtasks/mine").json()[0]["id"] == task["id"]
    changed = api(alice).patch(f"/playbooks/subtasks/{task['id']}", {"title": "Proxy logs"})
    assert changed.status_code == 200 and changed.json()["title"] == "Proxy logs"
    assert api(alice).patch(f"/playbooks/subtasks/{task['id']}", {"title": None}).status_code == 422
    done = api(carol).post(f"/playbooks/subtasks/{task['id']}/done", {"done": True})
    assert done.json()["done"] is True
    assert api(carol).get("/playbooks/subtasks/mine").json() == []
    assert api(maria).get(path).status_code == 403
    assert SubTask.objects.count() == 1


def test_remote_sessions_through_the_api(api, alice, malware_ticket):
    path = f"/playbooks/tickets/{malware_ticket.number}/remote-sessions"
    missing = api(alice).post(path, {"tool": "anydesk", "consent_method": "verbal"})
    assert missing.status_code == 422
    made = api(alice).post(path, {"tool": "anydesk", "session_id": "123",
                                  "consent_by": "Maria", "consent_method": "in_tool"})  # fmt: skip
    assert made.status_code == 201, made.content
    session = made.json()
    assert session["consent_by"] == "Maria" and session["ended_at"] is None
    ended = api(alice).post(f"/playbooks/remote-sessions/{session['id']}/end", {"summary": "ok"})
    assert ended.status_code == 200 and ended.json()["ended_at"]
    again = api(alice).post(f"/playbooks/remote-sessions/{session['id']}/end", {})
    assert again.status_code == 409
    assert [s["id"] for s in api(alice).get(path).json()] == [session["id"]]
    assert RemoteSession.objects.count() == 1
