"""The playbooks pages: the box on the ticket page (htmx and without JavaScript), the
checklist templates, and "My sub-tasks"."""

from __future__ import annotations

import pytest
from django.test import Client

from soporte.playbooks import services
from soporte.playbooks.models import ChecklistStep, ChecklistTemplate, SubTask
from soporte.tickets.models import Status

pytestmark = pytest.mark.django_db

HTMX = {"HX-Request": "true"}


def _step(ticket, position=1):
    return ChecklistStep.objects.get(checklist__ticket=ticket, position=position)


@pytest.mark.parametrize(
    "path", ["/desk/playbooks/", "/desk/playbooks/new/", "/desk/tasks/", "/desk/playbooks/1/"]
)
def test_requesters_are_kept_out(desk, maria, malware, path):
    assert desk(maria).get(path).status_code in (403, 404)


def test_the_ticket_page_loads_the_box_on_its_own(desk, alice, malware_ticket):
    page = desk(alice).get(f"/desk/tickets/{malware_ticket.number}/")
    assert page.status_code == 200
    assert f"/desk/playbooks/tickets/{malware_ticket.number}/" in page.content.decode()
    box = desk(alice).get(f"/desk/playbooks/tickets/{malware_ticket.number}/", headers=HTMX)
    html = box.content.decode()
    assert "Malware and spyware removal" in html and "Isolate the machine" in html
    assert "<html" not in html


def test_the_box_takes_a_fixed_number_of_queries(desk, alice, carol, malware_ticket,
                                                 django_assert_max_num_queries):  # fmt: skip
    for n in range(5):
        services.create_subtask(malware_ticket, acting_user=alice, title=f"T{n}", assignee=carol)
        services.set_step(malware_ticket, _step(malware_ticket, n + 1).pk, acting_user=alice,
                          done=True)  # fmt: skip
    client = desk(alice)
    with django_assert_max_num_queries(12):
        response = client.get(f"/desk/playbooks/tickets/{malware_ticket.number}/", headers=HTMX)
    assert response.status_code == 200


def test_requesters_and_other_teams_get_no_box(desk, maria, bob, malware_ticket):
    path = f"/desk/playbooks/tickets/{malware_ticket.number}/"
    assert desk(maria).get(path).status_code == 403
    assert desk(bob).get(path).status_code == 404
    step = _step(malware_ticket)
    assert desk(bob).post(f"{path}steps/{step.pk}/", {"done": "1"}).status_code == 404
    assert not ChecklistStep.objects.filter(done=True).exists()


def test_checking_a_step_with_htmx_answers_the_box(desk, alice, malware_ticket):
    step = _step(malware_ticket)
    path = f"/desk/playbooks/tickets/{malware_ticket.number}/steps/{step.pk}/"
    response = desk(alice).post(path, {"done": "1", "note": "<script>x</script>"}, headers=HTMX)
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="playbooks"' in html and "<script>x" not in html and "&lt;script&gt;" in html
    step.refresh_from_db()
    assert step.done and step.done_by.username == "alice"


def test_without_javascript_the_step_form_goes_back_to_the_ticket(desk, alice, malware_ticket):
    step = _step(malware_ticket)
    path = f"/desk/playbooks/tickets/{malware_ticket.number}/steps/{step.pk}/"
    response = desk(alice).post(path, {"done": "1"})
    assert response.status_code == 302
    assert response["Location"].startswith(f"/desk/tickets/{malware_ticket.number}/")
    step.refresh_from_db()
    assert step.done


def test_the_forms_need_the_csrf_token(desk, alice, malware_ticket):
    step = _step(malware_ticket)
    client = desk(alice, enforce_csrf_checks=True)
    path = f"/desk/playbooks/tickets/{malware_ticket.number}/steps/{step.pk}/"
    assert client.post(path, {"done": "1"}).status_code == 403
    step.refresh_from_db()
    assert not step.done


def test_resolving_from_the_ticket_page_is_refused_with_the_steps_named(
    desk, alice, malware_ticket
):
    response = desk(alice).post(
        f"/desk/tickets/{malware_ticket.number}/resolve/",
        {"resolution": "Cleaned <the> registry.", "version": malware_ticket.version},
    )
    assert response.status_code == 409
    assert "Isolate the machine from the network" in response.content.decode()
    # The summary she typed is still in its box (escaped), to send again once she may.
    assert "Cleaned &lt;the&gt; registry.</textarea>" in response.content.decode()
    malware_ticket.refresh_from_db()
    assert malware_ticket.status == Status.OPEN


def test_a_refusal_in_the_box_is_shown_in_it(desk, alice, malware_ticket):
    number = malware_ticket.number
    services.attach_checklist(
        malware_ticket, ChecklistTemplate.objects.get(key="data-recovery"), acting_user=alice
    )
    again = ChecklistTemplate.objects.get(key="data-recovery").pk
    htmx = desk(alice).post(f"/desk/playbooks/tickets/{number}/checklists/",
                            {"template": again}, headers=HTMX)  # fmt: skip
    assert htmx.status_code == 200 and 'role="alert"' in htmx.content.decode()
    plain = desk(alice).post(f"/desk/playbooks/tickets/{number}/checklists/", {"template": again})
    assert plain.status_code == 409
    assert desk(alice).post(f"/desk/playbooks/tickets/{number}/checklists/",
                            {"template": "x"}).status_code == 422  # fmt: skip


def test_sub_tasks_and_sessions_from_the_box(desk, alice, carol, malware_ticket):
    number = malware_ticket.number
    client = desk(alice)
    made = client.post(f"/desk/playbooks/tickets/{number}/tasks/",
                       {"title": "Call the vendor", "assignee": carol.pk,
                        "due_at": "2030-01-02T10:00"}, headers=HTMX)  # fmt: skip
    assert made.status_code == 200 and "Call the vendor" in made.content.decode()
    task = SubTask.objects.get()
    assert task.assignee == carol and task.due_at is not None
    no_consent = {"tool": "anydesk", "consent_by": "", "consent_method": "verbal"}
    refused = client.post(f"/desk/playbooks/tickets/{number}/sessions/", no_consent)
    assert refused.status_code == 422
    client.post(f"/desk/playbooks/tickets/{number}/sessions/",
                {"tool": "anydesk", "consent_by": "Maria", "consent_method": "verbal"})  # fmt: skip
    session = malware_ticket.remote_sessions.get()
    ended = client.post(f"/desk/remote-sessions/{session.pk}/end/", {"summary": "Done"})
    assert ended.status_code == 302
    session.refresh_from_db()
    assert session.ended_at is not None


def test_my_sub_tasks_lists_mine_and_marks_them_done(desk, alice, carol, malware_ticket):
    services.create_subtask(malware_ticket, acting_user=carol, title="Carol's own", assignee=carol)
    mine = services.create_subtask(
        malware_ticket, acting_user=carol, title="Re-image the laptop", assignee=alice
    )
    page = desk(alice).get("/desk/tasks/").content.decode()
    assert "Re-image the laptop" in page and "Carol&#x27;s own" not in page
    done = desk(alice).post(f"/desk/tasks/{mine.pk}/done/", {"done": "1", "back": "tasks"})
    assert done.status_code == 302 and done["Location"] == "/desk/tasks/"
    mine.refresh_from_db()
    assert mine.done


def test_agents_read_templates_and_supervisors_edit_them(desk, alice, carol, malware):
    removal = ChecklistTemplate.objects.get(key="malware-removal")
    assert "Malware and spyware removal" in desk(alice).get("/desk/playbooks/").content.decode()
    read = desk(alice).get(f"/desk/playbooks/{removal.pk}/")
    assert read.status_code == 200 and "disabled" in read.content.decode()
    form = {"name": "Malware v2", "steps": "Isolate\n? Advise", "categories": [malware.pk],
            "active": "on"}  # fmt: skip
    assert desk(alice).post(f"/desk/playbooks/{removal.pk}/", form).status_code == 403
    saved = desk(carol).post(f"/desk/playbooks/{removal.pk}/", form)
    assert saved.status_code == 302
    removal.refresh_from_db()
    assert removal.name == "Malware v2"
    assert [(s.title, s.required) for s in removal.steps.all()] == [
        ("Isolate", True), ("Advise", False),
    ]  # fmt: skip
    assert desk(carol).post("/desk/playbooks/new/", {"name": "x", "steps": " "}).status_code == 422
    assert desk(alice).post(f"/desk/playbooks/{removal.pk}/delete/").status_code == 403
    assert desk(carol).post(f"/desk/playbooks/{removal.pk}/delete/").status_code == 302
    assert not ChecklistTemplate.objects.filter(pk=removal.pk).exists()


def test_signed_out_people_are_sent_to_sign_in(db):
    response = Client().get("/desk/tasks/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
