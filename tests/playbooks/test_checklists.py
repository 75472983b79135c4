"""Checklists on tickets: attached by category or by hand, steps checked and unchecked
with who and when, and required steps holding back the resolution."""

from __future__ import annotations

import pytest

from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.playbooks import services
from soporte.playbooks.defaults import DEFAULT_TEMPLATES, ensure_default_templates
from soporte.playbooks.models import Checklist, ChecklistStep, ChecklistTemplate
from soporte.tickets import services as tickets
from soporte.tickets.models import Category, EventKind, Status, TicketEvent

from .conftest import check_all

pytestmark = pytest.mark.django_db


def _steps(ticket):
    return list(ChecklistStep.objects.filter(checklist__ticket=ticket).order_by("position"))


def test_the_five_default_templates_are_made_once(malware):
    assert ChecklistTemplate.objects.count() == len(DEFAULT_TEMPLATES) == 5
    assert ensure_default_templates() == 0
    assert ChecklistTemplate.objects.count() == 5
    removal = ChecklistTemplate.objects.get(key="malware-removal")
    assert list(removal.categories.all()) == [malware]
    titles = [s.title for s in removal.steps.all()]
    assert titles[0].startswith("Isolate") and "root cause" in titles[4]


def test_a_ticket_opened_in_a_category_gets_its_checklist(malware_ticket, removal, alice):
    checklist = Checklist.objects.get(ticket=malware_ticket)
    assert checklist.template == removal and checklist.added_by == alice
    assert [s.title for s in checklist.steps.all()] == [s.title for s in removal.steps.all()]
    event = TicketEvent.objects.get(ticket=malware_ticket, kind=EventKind.CHECKLIST_ADDED)
    assert event.data["summary"] == removal.name and event.data["automatic"] is True


def test_a_template_of_a_parent_category_applies_to_its_subcategories(make_ticket, malware, carol):
    services.create_template(
        acting_user=carol, name="Security intake", steps=[("Ask what was clicked", True)],
        categories=[malware.parent],
    )  # fmt: skip
    ticket = make_ticket(category=malware)
    names = sorted(Checklist.objects.filter(ticket=ticket).values_list("name", flat=True))
    assert names == ["Malware and spyware removal", "Security intake"]


def test_moving_a_ticket_to_the_category_attaches_it_once(ticket, malware, alice):
    assert not Checklist.objects.filter(ticket=ticket).exists()
    tickets.update_ticket(ticket, acting_user=alice, category=malware)
    assert Checklist.objects.filter(ticket=ticket).count() == 1
    tickets.update_ticket(ticket, acting_user=alice, category=None)
    tickets.update_ticket(ticket, acting_user=alice, category=malware)
    assert Checklist.objects.filter(ticket=ticket).count() == 1


def test_other_changes_and_retired_templates_attach_nothing(ticket, malware, removal, alice):
    removal.active = False
    removal.save()
    tickets.update_ticket(ticket, acting_user=alice, category=malware)
    tickets.update_ticket(ticket, acting_user=alice, subject="Still pop-ups")
    assert not Checklist.objects.filter(ticket=ticket).exists()


def test_an_agent_attaches_a_checklist_by_hand_once(ticket, alice, malware):
    template = ChecklistTemplate.objects.get(key="data-recovery")
    services.attach_checklist(ticket, template, acting_user=alice)
    assert Checklist.objects.get(ticket=ticket).steps.count() == template.steps.count()
    with pytest.raises(Conflict):
        services.attach_checklist(ticket, template, acting_user=alice)


def test_requesters_and_other_teams_cannot_touch_checklists(malware_ticket, maria, bob, pedro):
    step = _steps(malware_ticket)[0]
    with pytest.raises(PermissionDenied):
        services.set_step(malware_ticket, step.pk, acting_user=maria, done=True)
    for outsider in (bob, pedro):
        with pytest.raises((NotFound, PermissionDenied)):
            services.set_step(malware_ticket, step.pk, acting_user=outsider, done=True)
    assert not ChecklistStep.objects.filter(done=True).exists()


def test_a_step_of_another_ticket_is_not_found(malware_ticket, make_ticket, malware, alice):
    other = make_ticket(category=malware)
    with pytest.raises(NotFound):
        services.set_step(malware_ticket, _steps(other)[0].pk, acting_user=alice, done=True)


def test_checking_and_unchecking_record_who_and_when(malware_ticket, alice, carol):
    step = _steps(malware_ticket)[0]
    services.set_step(malware_ticket, step.pk, acting_user=alice, done=True, note="Wi-Fi off")
    step.refresh_from_db()
    assert (step.done, step.done_by, step.note) == (True, alice, "Wi-Fi off")
    assert step.done_at is not None
    services.set_step(malware_ticket, step.pk, acting_user=carol, done=False)
    step.refresh_from_db()
    assert (step.done, step.done_by, step.done_at, step.note) == (False, None, None, "Wi-Fi off")
    events = TicketEvent.objects.filter(ticket=malware_ticket, kind=EventKind.CHECKLIST_STEP)
    assert [(e.actor, e.data["done"]) for e in events] == [(alice, True), (carol, False)]
    assert "unchecked" in events[1].data["summary"]


def test_checking_a_checked_step_again_changes_nothing(malware_ticket, alice, carol):
    step = _steps(malware_ticket)[0]
    services.set_step(malware_ticket, step.pk, acting_user=alice, done=True)
    services.set_step(malware_ticket, step.pk, acting_user=carol, done=True)
    step.refresh_from_db()
    assert step.done_by == alice
    assert TicketEvent.objects.filter(kind=EventKind.CHECKLIST_STEP).count() == 1


def test_a_note_is_kept_as_plain_text_and_bounded(malware_ticket, alice):
    step = _steps(malware_ticket)[1]
    services.set_step(malware_ticket, step.pk, acting_user=alice, done=True,
                      note="<b>Trojan.X</b>\x00\x07 found")  # fmt: skip
    step.refresh_from_db()
    assert step.note == "<b>Trojan.X</b> found"  # escaped where shown, never markup
    with pytest.raises(InvalidInput):
        services.set_step(malware_ticket, step.pk, acting_user=alice, done=True, note="x" * 2001)


def test_required_steps_block_resolution_and_name_the_steps(malware_ticket, alice):
    services.set_step(malware_ticket, _steps(malware_ticket)[0].pk, acting_user=alice, done=True)
    with pytest.raises(Conflict) as refused:
        tickets.resolve(malware_ticket, acting_user=alice, resolution="Cleaned.")
    message = refused.value.message
    assert "Malware and spyware removal" in message
    assert "Remove or quarantine what was found" in message
    assert "Isolate the machine" not in message  # done
    assert "Advise the user" not in message  # optional
    malware_ticket.refresh_from_db()
    assert malware_ticket.status == Status.OPEN and malware_ticket.resolution == ""
    assert _steps(malware_ticket)[0].done  # nothing lost


def test_a_reply_that_resolves_is_held_back_too(malware_ticket, alice):
    with pytest.raises(Conflict):
        tickets.reply(malware_ticket, acting_user=alice, body="Fixed.", status="resolved")
    malware_ticket.refresh_from_db()
    assert malware_ticket.status == Status.OPEN
    assert not malware_ticket.messages.filter(body_text="Fixed.").exists()


def test_with_the_required_steps_done_the_ticket_resolves(malware_ticket, alice):
    check_all(malware_ticket, alice)
    tickets.resolve(malware_ticket, acting_user=alice, resolution="Removed adware.")
    malware_ticket.refresh_from_db()
    assert malware_ticket.status == Status.RESOLVED


def test_a_resolved_tickets_checklist_is_frozen_until_reopened(malware_ticket, alice):
    check_all(malware_ticket, alice)
    tickets.resolve(malware_ticket, acting_user=alice, resolution="Removed adware.")
    step = _steps(malware_ticket)[0]
    with pytest.raises(Conflict):
        services.set_step(malware_ticket, step.pk, acting_user=alice, done=False)
    tickets.reopen(malware_ticket, acting_user=alice)
    services.set_step(malware_ticket, step.pk, acting_user=alice, done=False)
    with pytest.raises(Conflict):
        tickets.resolve(malware_ticket, acting_user=alice, resolution="Again.")


def test_editing_a_template_leaves_attached_checklists_as_they_were(malware_ticket, removal, carol):
    before = [s.title for s in _steps(malware_ticket)]
    services.update_template(removal, acting_user=carol, name=removal.name,
                             steps=[("Only step", True)], categories=[])  # fmt: skip
    assert [s.title for s in _steps(malware_ticket)] == before
    services.delete_template(removal, acting_user=carol)
    assert Checklist.objects.get(ticket=malware_ticket).template is None


def test_only_supervisors_and_admins_edit_templates(alice, carol, ada):
    with pytest.raises(PermissionDenied):
        services.create_template(acting_user=alice, name="Mine", steps=[("A", True)])
    for user in (carol, ada):
        made = services.create_template(acting_user=user, name=f"By {user}", steps=[("A", True)])
        assert made.steps.count() == 1


@pytest.mark.parametrize(
    ("name", "steps"),
    [("", [("A", True)]), ("Empty", []), ("Blank step", [("  ", True)]), ("x" * 121, [("A", 1)])],
)
def test_a_template_needs_a_name_and_steps(carol, name, steps):
    with pytest.raises(InvalidInput):
        services.create_template(acting_user=carol, name=name, steps=steps)
    assert not ChecklistTemplate.objects.exists()


def test_category_names_are_matched_case_insensitively(db):
    Category.objects.create(name="network")
    ensure_default_templates()
    network = ChecklistTemplate.objects.get(key="network-connection")
    assert [c.name for c in network.categories.all()] == ["network"]


def test_a_requesters_ticket_gets_the_checklist_from_the_system(make_ticket, maria, malware):
    ticket = make_ticket(acting_user=maria, category=malware)
    checklist = Checklist.objects.get(ticket=ticket)
    assert checklist.added_by is None
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.CHECKLIST_ADDED)
    assert event.actor is None
