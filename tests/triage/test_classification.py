"""Suggestions from the site's own history: trained on demand, applied above the
threshold, offered below it, accepted or rejected in one step, and corrections fed back."""

from __future__ import annotations

import math

import pytest

from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from soporte.tickets import services as tickets
from soporte.tickets.models import EventKind, TicketEvent
from soporte.triage import ml, services
from soporte.triage.models import Suggestion, SuggestionStatus, TriageModel

PRINTER = "Hello, the printer jams on every page. Thanks!"


@pytest.fixture
def open_as(committed):
    """Open a ticket and run what its commit starts (the triage job)."""

    def make(user, subject="The printer jams on every page", body=PRINTER, **overrides):
        with committed():
            ticket = tickets.open_ticket(acting_user=user, subject=subject, body=body, **overrides)
        ticket.refresh_from_db()
        return ticket

    return make


def _suggested(ticket) -> dict[str, Suggestion]:
    return {s.field: s for s in Suggestion.objects.filter(ticket=ticket)}


def test_training_stores_a_new_version_with_held_out_metrics(trained, history, lucia, ada):
    spanish = sum(ticket.requester_id == lucia.pk for ticket in history)
    assert trained.version == 1
    assert trained.samples == 160
    assert set(trained.metrics) == {"en", "es", "overall"}
    for field in ("category", "priority", "team"):
        assert 0 <= trained.metrics["overall"][field]["macro_f1"] <= 1
        # The newest fifth of each language.
        assert trained.metrics["overall"][field]["test"] == math.ceil(
            spanish * ml.HOLDOUT
        ) + math.ceil((len(history) - spanish) * ml.HOLDOUT)
    assert trained.metrics["overall"]["category"]["accuracy"] >= 0.8
    assert services.train_model(acting_user=ada).version == 2


def test_only_administrators_train(history, carol, alice):
    for person in (carol, alice):
        with pytest.raises(PermissionDenied):
            services.train_model(acting_user=person)
    assert not TriageModel.objects.exists()


def test_too_little_history_is_a_clear_refusal(ada, make_ticket):
    make_ticket()
    with pytest.raises(InvalidInput, match="Not enough history"):
        services.train_model(acting_user=ada)


def test_a_new_ticket_gets_suggestions_after_commit_and_the_surest_are_applied(
    trained, maria, open_as, settings_row, kinds
):
    ticket = open_as(maria)
    suggested = _suggested(ticket)
    assert suggested["category"].label == "Printers"
    assert suggested["team"].label == "Service Desk L1"
    threshold = settings_row.auto_apply_threshold
    for suggestion in suggested.values():
        applied = suggestion.confidence >= threshold
        assert suggestion.status == (
            SuggestionStatus.APPLIED if applied else SuggestionStatus.PENDING
        )
        value = services._current(ticket, suggestion.field)
        assert (value == suggestion.value) == applied or suggestion.field == "priority"
    triaged = TicketEvent.objects.filter(ticket=ticket, kind=EventKind.TRIAGED)
    assert triaged.count() == (
        1 if any(s.confidence >= threshold for s in suggested.values()) else 0
    )


def test_nothing_is_applied_above_a_threshold_of_one(trained, maria, open_as, settings_row):
    settings_row.auto_apply_threshold = 1.01
    settings_row.save()
    ticket = open_as(maria)
    assert ticket.category is None and ticket.team is None
    assert {s.status for s in _suggested(ticket).values()} == {SuggestionStatus.PENDING}
    assert not TicketEvent.objects.filter(ticket=ticket, kind=EventKind.TRIAGED).exists()


def test_the_request_does_not_wait_for_the_model(trained, maria):
    """Inside the transaction only the job is recorded; nothing is classified yet."""
    ticket = tickets.open_ticket(acting_user=maria, subject="Printer jam", body=PRINTER)
    assert not Suggestion.objects.filter(ticket=ticket).exists()


def test_a_spanish_requester_is_classified_by_the_spanish_model(trained, lucia, open_as):
    ticket = open_as(
        lucia,
        subject="La impresora se atasca en cada hoja",
        body="Hola, la impresora se atasca en cada hoja. Gracias.",
    )
    assert _suggested(ticket)["category"].label == "Printers"


@pytest.fixture
def offered(trained, maria, open_as, settings_row):
    settings_row.auto_apply_threshold = 1.01
    settings_row.save()
    return open_as(maria, body=PRINTER + " Urgent, I have a deadline today.")


def test_an_agent_accepts_a_suggestion_in_one_step(offered, alice, kinds):
    ticket = services.accept_suggestion(offered, "category", acting_user=alice)
    ticket.refresh_from_db()
    assert ticket.category == kinds["Printers"]
    suggestion = _suggested(ticket)["category"]
    assert (suggestion.status, suggestion.decided_by) == (SuggestionStatus.ACCEPTED, alice)
    event = TicketEvent.objects.get(ticket=ticket, kind=EventKind.TRIAGED)
    assert event.actor == alice and event.data["automatic"] is False
    with pytest.raises(Conflict):
        services.accept_suggestion(ticket, "category", acting_user=alice)


def test_accepting_with_an_old_version_is_a_conflict(offered, alice):
    with pytest.raises(Conflict):
        services.accept_suggestion(
            offered, "team", acting_user=alice, expected_version=offered.version - 1
        )
    assert _suggested(offered)["team"].status == SuggestionStatus.PENDING


def test_requesters_and_agents_outside_the_queue_cannot_decide(offered, maria, pedro, alice):
    with pytest.raises(PermissionDenied):
        services.accept_suggestion(offered, "team", acting_user=maria)
    with pytest.raises(PermissionDenied):
        services.reject_suggestion(offered, "team", acting_user=pedro)
    with pytest.raises(NotFound):
        services.accept_suggestion(offered, "tags", acting_user=alice)


def test_a_rejected_suggestion_weighs_more_in_the_next_training(offered, alice, teams):
    services.reject_suggestion(offered, "team", acting_user=alice)
    tickets.update_ticket(offered, acting_user=alice, team=teams["L2"])
    sample = next(s for s in services.training_samples() if s.key == offered.pk)
    assert sample.labels["team"] == str(teams["L2"].pk)
    assert sample.weights["team"] == services.CORRECTION_WEIGHT
    assert "category" not in sample.weights


def test_changing_a_suggested_field_afterwards_is_a_correction(offered, alice, kinds, carol):
    services.accept_suggestion(offered, "category", acting_user=alice)
    offered.refresh_from_db()
    tickets.update_ticket(offered, acting_user=carol, category=kinds["Hardware"])
    assert _suggested(offered)["category"].status == SuggestionStatus.CORRECTED


def test_a_value_the_model_applied_itself_teaches_nothing_until_the_ticket_is_done(
    trained, maria, open_as, alice
):
    ticket = open_as(maria)
    applied = [s for s in _suggested(ticket).values() if s.status == SuggestionStatus.APPLIED]
    assert applied, "the history makes printer tickets a sure guess"
    field = applied[0].field
    sample = next(s for s in services.training_samples() if s.key == ticket.pk)
    assert field not in sample.labels
    tickets.resolve(ticket, acting_user=alice, resolution="Cleared the jam.")
    sample = next(s for s in services.training_samples() if s.key == ticket.pk)
    assert field in sample.labels


def test_an_agent_who_set_the_priority_gets_no_priority_suggestion(trained, alice, open_as):
    ticket = open_as(alice, requester=None, priority="P4")
    assert "priority" not in _suggested(ticket)


def test_the_model_is_reloaded_when_a_newer_version_exists(trained, ada):
    assert services.current_model()[0] == 1
    services._cache.update(version=None, bundle=None)
    assert services.current_model()[0] == 1
    services.train_model(acting_user=ada)
    services._cache["version"] = 1  # another process trained: this one still holds v1
    assert services.current_model()[0] == 2


def test_without_a_model_a_ticket_gets_no_suggestion_but_is_still_checked(maria, open_as):
    ticket = open_as(maria)
    assert not Suggestion.objects.filter(ticket=ticket).exists()
