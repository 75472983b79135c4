"""Sub-tasks (for agents, with due dates; only required ones hold back resolution) and
remote sessions (never without the user's consent)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.playbooks import services
from soporte.playbooks.models import RemoteSession, SubTask
from soporte.tickets import services as tickets
from soporte.tickets.models import EventKind, Status, TicketEvent

pytestmark = pytest.mark.django_db


@pytest.fixture
def queued(make_ticket, alice, maria, teams):
    """Maria's ticket in the Service Desk queue, no category."""
    return make_ticket(acting_user=alice, requester=maria, team=teams["L1"])


def test_an_agent_adds_a_sub_task_for_a_colleague(queued, alice, carol):
    due = timezone.now() + timedelta(days=1)
    task = services.create_subtask(queued, acting_user=alice, title="Order toner",
                                   assignee=carol, due_at=due)  # fmt: skip
    assert (task.assignee, task.due_at, task.done) == (carol, due, False)
    event = TicketEvent.objects.get(ticket=queued, kind=EventKind.TASK_ADDED)
    assert event.actor == alice and "Order toner" in event.data["summary"]


def test_sub_tasks_go_to_agents_who_can_see_the_ticket(queued, alice, maria, bob):
    with pytest.raises(InvalidInput):
        services.create_subtask(queued, acting_user=alice, title="Call", assignee=maria)
    with pytest.raises(InvalidInput, match="cannot see"):
        services.create_subtask(queued, acting_user=alice, title="Call", assignee=bob)
    assert not SubTask.objects.exists()


def test_requesters_cannot_add_sub_tasks(queued, maria):
    with pytest.raises(PermissionDenied):
        services.create_subtask(queued, acting_user=maria, title="Please hurry")


def test_done_and_undone_are_recorded(queued, alice, carol):
    task = services.create_subtask(queued, acting_user=alice, title="Order toner")
    services.set_subtask_done(task, acting_user=carol, done=True)
    task.refresh_from_db()
    assert task.done and task.done_by == carol
    services.set_subtask_done(task, acting_user=alice, done=False)
    task.refresh_from_db()
    assert not task.done and task.done_by is None
    events = TicketEvent.objects.filter(ticket=queued, kind=EventKind.TASK_DONE)
    assert [e.data["done"] for e in events] == [True, False]


def test_open_sub_tasks_warn_but_only_required_ones_block(queued, alice):
    services.create_subtask(queued, acting_user=alice, title="Nice to have")
    required = services.create_subtask(
        queued, acting_user=alice, title="Replace the drum", required=True
    )
    with pytest.raises(Conflict, match="Replace the drum"):
        tickets.resolve(queued, acting_user=alice, resolution="Done.")
    services.set_subtask_done(required, acting_user=alice, done=True)
    tickets.resolve(queued, acting_user=alice, resolution="Done.")
    queued.refresh_from_db()
    assert queued.status == Status.RESOLVED


def test_my_sub_tasks_are_my_open_ones_on_tickets_i_see(queued, make_ticket, alice, carol, teams):
    mine = services.create_subtask(queued, acting_user=carol, title="Mine", assignee=alice)
    services.create_subtask(queued, acting_user=carol, title="Carol's", assignee=carol)
    done = services.create_subtask(queued, acting_user=carol, title="Done", assignee=alice)
    services.set_subtask_done(done, acting_user=alice, done=True)
    moved = make_ticket(acting_user=carol, team=teams["L1"])
    hidden = services.create_subtask(moved, acting_user=carol, title="Moved", assignee=alice)
    tickets.update_ticket(moved, acting_user=carol, team=teams["L2"])
    assert list(services.my_subtasks(alice)) == [mine]
    assert hidden.assignee == alice


def test_editing_a_sub_task_checks_the_new_assignee(queued, alice, carol, maria):
    task = services.create_subtask(queued, acting_user=alice, title="Order toner")
    services.update_subtask(task, acting_user=alice, title="Order two toners", assignee=carol)
    task.refresh_from_db()
    assert (task.title, task.assignee) == ("Order two toners", carol)
    with pytest.raises(InvalidInput):
        services.update_subtask(task, acting_user=alice, assignee=maria)


def test_a_remote_session_records_the_users_consent(queued, alice):
    consent = timezone.now() - timedelta(minutes=2)
    session = services.start_remote_session(
        queued, acting_user=alice, tool="anydesk", session_id="123 456 789",
        consent_by="Maria", consent_method="verbal", consent_at=consent,
    )  # fmt: skip
    assert (session.consent_by, session.consent_method, session.consent_at) == (
        "Maria", "verbal", consent,
    )  # fmt: skip
    services.end_remote_session(session, acting_user=alice, summary="Removed the toolbar.")
    session.refresh_from_db()
    assert session.ended_at >= session.started_at and session.summary == "Removed the toolbar."
    kinds = TicketEvent.objects.filter(ticket=queued, kind=EventKind.REMOTE_SESSION)
    assert kinds.count() == 2
    with pytest.raises(Conflict):
        services.end_remote_session(session, acting_user=alice)


@pytest.mark.parametrize(
    "consent",
    [
        {"consent_by": "", "consent_method": "verbal"},
        {"consent_by": "  ", "consent_method": "verbal"},
        {"consent_by": "Maria", "consent_method": "telepathy"},
        {"consent_by": "Maria", "consent_method": "verbal", "consent_at": "later"},
        {"consent_by": "Maria", "consent_method": "verbal", "consent_at": "future"},
    ],
)
def test_no_session_without_consent_given_before_it(queued, alice, consent):
    now = timezone.now()
    when = {"later": now + timedelta(minutes=1), "future": now + timedelta(hours=1)}
    if "consent_at" in consent:
        consent = {**consent, "consent_at": when[consent["consent_at"]]}
    with pytest.raises(InvalidInput):
        services.start_remote_session(
            queued, acting_user=alice, tool="rdp", started_at=now, **consent
        )
    assert not RemoteSession.objects.exists()


def test_requesters_never_reach_sessions_or_sub_tasks(queued, alice, maria, pedro):
    session = services.start_remote_session(
        queued, acting_user=alice, tool="phone", consent_by="Maria", consent_method="verbal"
    )
    task = services.create_subtask(queued, acting_user=alice, title="Call back")
    with pytest.raises(PermissionDenied):
        services.get_session(maria, session.pk)
    with pytest.raises(PermissionDenied):
        services.get_subtask(maria, task.pk)
    with pytest.raises(NotFound):
        services.get_session(pedro, session.pk)
    with pytest.raises(NotFound):
        services.get_subtask(pedro, task.pk)
