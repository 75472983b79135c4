"""Triage: learn category, priority and team from the site's own history, suggest them
for new tickets (applied at once above the admin's confidence threshold), flag probable
duplicates and group storms of similar tickets into probable major incidents.

The model is trained from tickets as agents left them: a suggestion rejected or a field
changed afterwards counts more in the next training (CORRECTION_WEIGHT). Nothing here
runs inside a request that opens a ticket: `triage_ticket` is a job queued on commit.
"""

from __future__ import annotations

import logging
import threading
import time
from bisect import bisect_left
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice
from typing import Any

import numpy as np
from django.db import IntegrityError, connection, transaction
from django.db.models import Max, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import Team, User
from soporte.accounts.services import system_user
from soporte.lib.db import insert_rows
from soporte.lib.errors import Conflict, InvalidInput, NotFound
from soporte.search.text import Query
from soporte.tickets import services as tickets
from soporte.tickets.models import (
    ACTIVE_STATUSES,
    Category,
    EventKind,
    Message,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)

from . import ml
from .models import (
    FIELDS,
    DuplicateFlag,
    DuplicateStatus,
    Field,
    Incident,
    IncidentStatus,
    IncidentTicket,
    Suggestion,
    SuggestionStatus,
    TicketVector,
    TriageModel,
    TriageSettings,
)

log = logging.getLogger(__name__)

HISTORY_LIMIT = 50_000  # newest tickets a training reads
CORRECTION_WEIGHT = 3.0
STORM_SCAN_LIMIT = 200  # the newest tickets of the storm window compared at most
STORM_CHUNK = 50  # new tickets whose similarities to their windows are one product
DUPLICATE_SCAN = 50  # the newest earlier tickets of the same requester compared at most
OPEN_INCIDENTS_SCAN = 20  # the most recently fed open incidents a new ticket may join
SIMILAR_WORDS = 3  # a ticket's rarest words, that similar tickets hold (all, or else one)
SIMILAR_CANDIDATES = 200  # the newest tickets holding one, ranked by text similarity
SIMILAR_SCAN = 400  # newest matches checked per query for someone who sees part of them


# -- settings ----------------------------------------------------------------------------


def get_settings() -> TriageSettings:
    found = TriageSettings.objects.filter(pk=1).first()
    if found is None:
        found, _created = TriageSettings.objects.get_or_create(pk=1)
    return found


RANGES: dict[str, tuple[float, float]] = {
    "auto_apply_threshold": (0.0, 1.01),
    "duplicate_hours": (1, 24 * 30),
    "duplicate_similarity": (0.1, 1.0),
    "storm_size": (2, 1000),
    "storm_minutes": (1, 24 * 60),
    "storm_similarity": (0.05, 1.0),
}


@transaction.atomic
def update_settings(*, acting_user: User, **values: Any) -> TriageSettings:
    policy.require_admin(acting_user)
    row = get_settings()
    for name, value in values.items():
        if not hasattr(row, name) or name in ("id", "pk"):
            raise InvalidInput(_("Unknown setting %(name)s.") % {"name": name})
        if name in RANGES:
            low, high = RANGES[name]
            if not low <= value <= high:
                raise InvalidInput(
                    _("%(name)s must be between %(low)s and %(high)s.")
                    % {"name": name, "low": low, "high": high}
                )
        setattr(row, name, value)
    row.save()
    return row


# -- training ----------------------------------------------------------------------------


def _first_text() -> Subquery:
    return Subquery(
        Message.objects.filter(ticket=OuterRef("pk"), internal=False)
        .order_by("created_at", "id")
        .values("body_text")[:1]
    )


def training_samples(limit: int = HISTORY_LIMIT) -> list[ml.Sample]:
    """The newest `limit` tickets (not merged away), oldest first, as samples.

    A field counts with the value the ticket has now. A value the model applied itself
    on a ticket still open teaches nothing (no agent confirmed it yet); a value an agent
    chose over a suggestion weighs CORRECTION_WEIGHT."""
    rows = list(
        Ticket.objects.filter(merged_into__isnull=True)
        .order_by("-created_at", "-id")
        .annotate(first_body=_first_text())
        .values(
            "pk", "subject", "first_body", "category_id", "team_id", "priority", "status",
            "requester__language",
        )[:limit]
    )  # fmt: skip
    rows.reverse()
    marks: dict[tuple[int, str], str] = {}
    ids = [row["pk"] for row in rows]
    for start in range(0, len(ids), 5000):
        for ticket_id, name, status in Suggestion.objects.filter(
            ticket_id__in=ids[start : start + 5000],
            status__in=[
                SuggestionStatus.APPLIED,
                SuggestionStatus.REJECTED,
                SuggestionStatus.CORRECTED,
            ],
        ).values_list("ticket_id", "field", "status"):
            marks[(ticket_id, name)] = status
    samples = []
    for row in rows:
        text = ml.ticket_text(row["subject"], row["first_body"] or "")
        values = {
            Field.CATEGORY: row["category_id"],
            Field.TEAM: row["team_id"],
            Field.PRIORITY: row["priority"],
        }
        labels, weights = {}, {}
        for name, value in values.items():
            if value is None:
                continue
            mark = marks.get((row["pk"], name))
            if mark == SuggestionStatus.APPLIED and row["status"] in ACTIVE_STATUSES:
                continue
            labels[str(name)] = str(value)
            if mark in (SuggestionStatus.REJECTED, SuggestionStatus.CORRECTED):
                weights[str(name)] = CORRECTION_WEIGHT
        language = ml.language_of(row["requester__language"], text)
        samples.append(ml.Sample(language, text, labels, weights, key=row["pk"]))
    return samples


def train_model(*, acting_user: User | None = None, seed: int = 0) -> TriageModel:
    """Fit a new model on the history and store it as the next version. Anyone's request
    goes through policy: administrators only (the schedule passes no user)."""
    if acting_user is not None:
        policy.require_admin(acting_user)
    samples = training_samples()
    bundle, metrics = ml.train(samples, FIELDS, seed=seed)
    if not bundle.languages:
        raise InvalidInput(
            _("Not enough history to learn from: at least %(count)s tickets in one language.")
            % {"count": ml.MIN_SAMPLES}
        )
    blob = bundle.dumps()
    for _attempt in range(3):  # two trainings at once: the second takes the next number
        version = (TriageModel.objects.aggregate(v=Max("version"))["v"] or 0) + 1
        try:
            with transaction.atomic():
                row = TriageModel.objects.create(
                    version=version,
                    blob=blob,
                    metrics=metrics,
                    samples=len(samples),
                    trained_by=acting_user,
                )
        except IntegrityError:
            continue
        _cache.update(version=row.version, bundle=bundle)
        return row
    raise Conflict(_("Another training finished at the same time; try again."))


# One process keeps the newest model it loaded; a newer version in the database replaces it.
_cache: dict[str, Any] = {"version": None, "bundle": None}
_lock = threading.Lock()


def current_model() -> tuple[int, ml.Bundle] | None:
    """The newest stored model (one small query; unpickled once per version)."""
    with connection.cursor() as cursor:  # raw: the ORM's compiling cost a third of a guess
        cursor.execute(f"SELECT MAX(version) FROM {TriageModel._meta.db_table}")  # noqa: S608
        version = cursor.fetchone()[0]
    if version is None:
        return None
    with _lock:
        if _cache["version"] != version:
            blob = TriageModel.objects.filter(version=version).values_list("blob", flat=True)[0]
            _cache.update(version=version, bundle=ml.Bundle.loads(blob))
        return _cache["version"], _cache["bundle"]


def model_metrics() -> TriageModel | None:
    return TriageModel.objects.defer("blob").select_related("trained_by").first()


# -- suggestions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Guess:
    field: str
    value: str
    label: str
    confidence: float


_PRIORITY_LABELS = dict(Priority.choices)  # lazy: translated when read


def _label(name: str, value: str, categories: dict[int, str], teams: dict[int, str]) -> str | None:
    """The readable label of a predicted value, or None when it no longer exists."""
    if name == Field.PRIORITY:
        label = _PRIORITY_LABELS.get(value)
        return None if label is None else str(label)
    table = categories if name == Field.CATEGORY else teams
    try:
        return table.get(int(value))
    except ValueError:
        return None


_label_cache: dict[str, Any] = {"at": 0.0}
LABELS_TTL = 30.0  # seconds a process reuses category and team names


def _labels(*, fresh: bool = False) -> tuple[dict[int, str], dict[int, str]]:
    """Category and team names by id, read again after LABELS_TTL or when asked (a value
    applied is checked against the database then, see _value_for)."""
    now = time.monotonic()
    if fresh or now - _label_cache["at"] > LABELS_TTL:
        _label_cache.update(
            at=now,
            categories=dict(Category.objects.values_list("pk", "name")),
            teams=dict(Team.objects.values_list("pk", "name")),
        )
    return _label_cache["categories"], _label_cache["teams"]


def classify(texts: Sequence[tuple[str, str]]) -> list[list[Guess]]:
    """Guesses for (language, text) pairs, in the same order; empty without a model."""
    loaded = current_model()
    if loaded is None:
        return [[] for _ in texts]
    _version, bundle = loaded
    categories, teams = _labels()
    by_language: dict[str, list[int]] = {}
    for index, (language, _text) in enumerate(texts):
        by_language.setdefault(language, []).append(index)
    out: list[list[Guess]] = [[] for _ in texts]
    for language, indexes in by_language.items():
        predictions = bundle.predict(language, [texts[i][1] for i in indexes])
        for index, predicted in zip(indexes, predictions, strict=True):
            for name, guess in predicted.items():
                label = _label(name, guess.value, categories, teams)
                if label is None and name != Field.PRIORITY:
                    categories, teams = _labels(fresh=True)  # one created since
                    label = _label(name, guess.value, categories, teams)
                if label is not None:
                    out[index].append(Guess(name, guess.value, label, round(guess.confidence, 4)))
    return out


def ticket_text(ticket: Ticket) -> str:
    first = (
        Message.objects.filter(ticket=ticket, internal=False)
        .order_by("created_at", "id")
        .values_list("body_text", flat=True)
        .first()
    )
    return ml.ticket_text(ticket.subject, first or "")


def _current(ticket: Ticket, name: str) -> str:
    value = ticket.priority if name == Field.PRIORITY else getattr(ticket, f"{name}_id")
    return "" if value is None else str(value)


def _opened_by_agents(ticket_ids: list[int]) -> set[int]:
    """The tickets among these that staff opened (their priority is left alone)."""
    return {
        ticket_id
        for ticket_id, role in TicketEvent.objects.filter(
            ticket_id__in=ticket_ids, kind=EventKind.CREATED
        ).values_list("ticket_id", "actor__role")
        if role is not None and role != "requester"
    }


def suggest(ticket: Ticket) -> list[Suggestion]:
    """Store the model's guesses for the ticket's empty fields (and its priority, when
    the requester's impact and urgency chose it), and apply those whose confidence
    reaches the threshold. Returns the suggestions written."""
    return _suggest_many([ticket], {ticket.pk: ticket_text(ticket)}, get_settings())[ticket.pk]


def _suggest_many(
    found: Sequence[Ticket], texts: Mapping[int, str], config: TriageSettings
) -> dict[int, list[Suggestion]]:
    """suggest() for many tickets: one prediction call for all their texts, then each
    ticket's writes in a savepoint of their own (a failure is logged, the rest go on)."""
    out: dict[int, list[Suggestion]] = {ticket.pk: [] for ticket in found}
    pairs = [(ml.language_of(t.requester.language, texts[t.pk]), texts[t.pk]) for t in found]
    guessed = classify(pairs)
    loaded_version = _cache["version"]
    wanted = [(t, guesses) for t, guesses in zip(found, guessed, strict=True) if guesses]
    if not wanted:
        return out
    ids = [ticket.pk for ticket, _guesses in wanted]
    agent_opened = _opened_by_agents(ids)
    decided = set(Suggestion.objects.filter(ticket_id__in=ids).values_list("ticket_id", "field"))
    for ticket, guesses in wanted:
        try:
            with transaction.atomic():
                out[ticket.pk] = _write_suggestions(
                    ticket,
                    [g for g in guesses if (ticket.pk, g.field) not in decided],
                    config,
                    agent_opened=ticket.pk in agent_opened,
                    version=loaded_version,
                )
        except Exception:  # noqa: BLE001 - one ticket's failure must not stop the others
            log.exception("Triage suggestions failed for ticket %s", ticket.pk)
    return out


def _write_suggestions(
    ticket: Ticket,
    guesses: list[Guess],
    config: TriageSettings,
    *,
    agent_opened: bool,
    version: int | None,
) -> list[Suggestion]:
    written = []
    for guess in guesses:  # a field decided by an earlier run of the job is left out
        current = _current(ticket, guess.field)
        if guess.field == Field.PRIORITY:
            if agent_opened or current == guess.value:
                continue
        elif current:
            continue  # someone chose it already
        written.append(
            Suggestion(
                ticket=ticket,
                field=guess.field,
                value=guess.value,
                label=guess.label[:200],
                confidence=guess.confidence,
                model_version=version or 0,  # guesses come only from a loaded model
            )
        )
    Suggestion.objects.bulk_create(written)
    automatic = [s for s in written if s.confidence >= config.auto_apply_threshold]
    if automatic:
        _apply(ticket, automatic, acting_user=system_user(), status=SuggestionStatus.APPLIED)
        ticket.refresh_from_db()  # the next steps see the values applied
    return written


def _value_for(suggestion: Suggestion) -> Any:
    if suggestion.field == Field.PRIORITY:
        return Priority(suggestion.value)
    model = Category if suggestion.field == Field.CATEGORY else Team
    found = model.objects.filter(pk=int(suggestion.value)).first()
    if found is None:
        raise Conflict(_("The suggested value no longer exists."))
    return found


def _apply(
    ticket: Ticket,
    chosen: list[Suggestion],
    *,
    acting_user: User,
    status: str,
    expected_version: int | None = None,
) -> Ticket:
    changes = {s.field: _value_for(s) for s in chosen}
    ticket = tickets.update_ticket(
        ticket, acting_user=acting_user, expected_version=expected_version, **changes
    )
    now = timezone.now()
    for suggestion in chosen:
        suggestion.status, suggestion.decided_at = status, now
        suggestion.decided_by = None if status == SuggestionStatus.APPLIED else acting_user
        suggestion.save(update_fields=["status", "decided_at", "decided_by"])
    tickets.log_event(
        ticket,
        acting_user=acting_user,
        kind=EventKind.TRIAGED,
        fields={s.field: s.label for s in chosen},
        confidence={s.field: s.confidence for s in chosen},
        automatic=status == SuggestionStatus.APPLIED,
        summary=", ".join(f"{s.get_field_display()}: {s.label}" for s in chosen),
    )
    return ticket


def suggestions_for(ticket: Ticket) -> list[Suggestion]:
    return list(ticket.triage_suggestions.all())


def _pending(ticket: Ticket, name: str) -> Suggestion:
    if name not in FIELDS:
        raise NotFound(_("No suggestion for %(field)s.") % {"field": name})
    found = Suggestion.objects.select_for_update().filter(ticket=ticket, field=name).first()
    if found is None:
        raise NotFound(_("No suggestion for %(field)s.") % {"field": name})
    if found.status != SuggestionStatus.PENDING:
        raise Conflict(
            _("That suggestion was already handled (%(status)s).")
            % {"status": found.get_status_display()}
        )
    return found


@transaction.atomic
def accept_suggestion(
    ticket: Ticket, name: str, *, acting_user: User, expected_version: int | None = None
) -> Ticket:
    """One click: the agent takes the suggested value."""
    policy.require_work(acting_user, ticket)
    suggestion = _pending(ticket, name)
    return _apply(
        ticket,
        [suggestion],
        acting_user=acting_user,
        status=SuggestionStatus.ACCEPTED,
        expected_version=expected_version,
    )


@transaction.atomic
def reject_suggestion(ticket: Ticket, name: str, *, acting_user: User) -> Suggestion:
    """The agent says the suggestion is wrong; the next training weighs the ticket's
    final value more."""
    policy.require_work(acting_user, ticket)
    suggestion = _pending(ticket, name)
    suggestion.status = SuggestionStatus.REJECTED
    suggestion.decided_by, suggestion.decided_at = acting_user, timezone.now()
    suggestion.save(update_fields=["status", "decided_by", "decided_at"])
    return suggestion


def record_corrections(ticket: Ticket, changed: Iterable[str]) -> int:
    """A field changed to something other than the suggestion: the suggestion was wrong
    (an applied one is corrected; an offered one, ignored, is corrected too)."""
    names = [name for name in changed if name in FIELDS]
    if not names:
        return 0
    count = 0
    for suggestion in Suggestion.objects.filter(
        ticket=ticket,
        field__in=names,
        status__in=[SuggestionStatus.PENDING, SuggestionStatus.APPLIED, SuggestionStatus.ACCEPTED],
    ):
        if _current(ticket, suggestion.field) != suggestion.value:
            suggestion.status = SuggestionStatus.CORRECTED
            suggestion.decided_at = timezone.now()
            suggestion.save(update_fields=["status", "decided_at"])
            count += 1
    return count


# -- duplicates --------------------------------------------------------------------------


def find_duplicate(ticket: Ticket) -> DuplicateFlag | None:
    """The same requester wrote nearly the same text within the window: flag the newer
    ticket as a probable duplicate of the most similar earlier one that is still active."""
    return _find_duplicates([ticket], {ticket.pk: ticket_text(ticket)}, get_settings())[ticket.pk]


def _find_duplicates(
    found: Sequence[Ticket], texts: Mapping[int, str], config: TriageSettings
) -> dict[int, DuplicateFlag | None]:
    """find_duplicate() for tickets in arrival order: their requesters' active tickets of
    the window are read in one query (at most DUPLICATE_SCAN per ticket), each ticket is
    compared with the newest DUPLICATE_SCAN of its own requester's before it."""
    span = timedelta(hours=config.duplicate_hours)
    rows = (
        Ticket.objects.filter(
            requester_id__in={ticket.requester_id for ticket in found},
            created_at__gte=min(t.created_at for t in found) - span,
            created_at__lte=max(t.created_at for t in found),
            merged_into__isnull=True,
            status__in=list(ACTIVE_STATUSES),
        )
        .annotate(first_body=_first_text())
        .order_by("-created_at", "-id")
        .values_list("pk", "requester_id", "created_at", "subject", "first_body")
    )[: DUPLICATE_SCAN * len(found)]
    by_requester: dict[int, list[tuple[Any, ...]]] = {}
    for row in rows:
        by_requester.setdefault(row[1], []).append(row)
    out: dict[int, DuplicateFlag | None] = {ticket.pk: None for ticket in found}
    compared: list[tuple[Ticket, list[tuple[int, str]]]] = []
    for ticket in found:
        since = ticket.created_at - span
        earlier = [
            (row[0], ml.ticket_text(row[3], row[4] or ""))
            for row in by_requester.get(ticket.requester_id, [])
            if since <= row[2] <= ticket.created_at and row[0] != ticket.pk
        ][:DUPLICATE_SCAN]
        if earlier:
            compared.append((ticket, earlier))
    if not compared:
        return out
    # Every text the batch compares vectorised in one call (per ticket, that cost several
    # times the arithmetic), then each ticket's similarity to its requester's earlier ones.
    own = [(ticket.pk, texts[ticket.pk]) for ticket, _earlier in compared]
    keys = list(dict.fromkeys([*own, *(key for _ticket, earlier in compared for key in earlier)]))
    vectors = dict(zip(keys, _TRIAGE_VECTORS.rows(keys), strict=True))
    similar = ml.row_similarities(
        [
            (vectors[key], [vectors[other] for other in earlier])
            for key, (_ticket, earlier) in zip(own, compared, strict=True)
        ]
    )
    matches: list[tuple[Ticket, int, float]] = []
    for (ticket, earlier), scores in zip(compared, similar, strict=True):
        best = int(scores.argmax())
        if scores[best] >= config.duplicate_similarity:
            matches.append((ticket, earlier[best][0], float(scores[best])))
    if matches:
        out.update(_flags(matches))
    return out


def _flags(found: list[tuple[Ticket, int, float]]) -> dict[int, DuplicateFlag]:
    """Flag each (ticket, original id, similarity) the ticket has no flag yet, the changes
    announced in one batch (receivers' batch work once); the flags, old and new. The new
    ones and their events are written at once; should that fail, each in a savepoint of
    its own (one ticket's failure leaves the others flagged)."""
    ids = [ticket.pk for ticket, _original, _score in found]
    out = {flag.ticket_id: flag for flag in DuplicateFlag.objects.filter(ticket_id__in=ids)}
    new = [row for row in found if row[0].pk not in out]  # the others: a rerun
    if not new:
        return out
    numbers = dict(
        Ticket.objects.filter(pk__in={original for _t, original, _s in new}).values_list(
            "pk", "number"
        )
    )
    with transaction.atomic(), tickets.batch_of_changes():
        try:
            with transaction.atomic():
                out.update(_flag_all(new, numbers))
            return out
        except Exception:  # noqa: BLE001 - one by one below, each ticket's failure logged
            log.exception("Tickets %s could not be flagged at once", [t.pk for t, _o, _s in new])
        for ticket, original_id, similarity in new:
            try:
                with transaction.atomic():
                    out[ticket.pk] = _flag(ticket, original_id, similarity, numbers[original_id])
            except Exception:  # noqa: BLE001 - one ticket's failure must not stop the others
                log.exception("Triage duplicate check failed for ticket %s", ticket.pk)
    return out


def _flag_all(
    found: list[tuple[Ticket, int, float]], numbers: Mapping[int, int]
) -> dict[int, DuplicateFlag]:
    """_flag() for tickets with no flag: the flags written in one query, their events in
    another (`numbers`: the originals' numbers, by id)."""
    flags = insert_rows(
        [
            DuplicateFlag(ticket=ticket, original_id=original_id, similarity=similarity)
            for ticket, original_id, similarity in found
        ]
    )
    tickets.log_events(
        [ticket for ticket, _original, _score in found],
        acting_user=None,
        kind=EventKind.DUPLICATE_FLAGGED,
        each={
            ticket.pk: _flag_data(numbers[original_id], similarity)
            for ticket, original_id, similarity in found
        },
    )
    return {flag.ticket_id: flag for flag in flags}


def _flag(ticket: Ticket, original_id: int, similarity: float, number: int) -> DuplicateFlag:
    """A new flag (the ticket has none) and its event; `number` is the original's."""
    flag = DuplicateFlag.objects.create(
        ticket=ticket, original_id=original_id, similarity=similarity
    )
    tickets.log_event(
        ticket,
        acting_user=None,
        kind=EventKind.DUPLICATE_FLAGGED,
        **_flag_data(number, similarity),
    )
    return flag


def _flag_data(number: int, similarity: float) -> dict[str, Any]:
    """What a DUPLICATE_FLAGGED event says (`number`: the original's)."""
    return {
        "original": number,
        "similarity": round(similarity, 3),
        "summary": _("Probably the same as #%(number)s") % {"number": number},
    }


def _open_flag(ticket: Ticket) -> DuplicateFlag:
    flag = (
        DuplicateFlag.objects.select_for_update()
        .select_related("original")
        .filter(ticket=ticket)
        .first()
    )
    if flag is None:
        raise NotFound(
            _("Ticket #%(number)s is not flagged as a duplicate.") % {"number": ticket.number}
        )
    if flag.status != DuplicateStatus.OPEN:
        raise Conflict(_("That duplicate flag was already handled."))
    return flag


@transaction.atomic
def merge_duplicate(ticket: Ticket, *, acting_user: User) -> Ticket:
    """One click: merge the flagged ticket into its original (tickets.services.merge)."""
    policy.require_work(acting_user, ticket)
    flag = _open_flag(ticket)
    into = tickets.merge(ticket, into=flag.original, acting_user=acting_user)
    flag.status = DuplicateStatus.MERGED
    flag.save(update_fields=["status"])
    return into


@transaction.atomic
def dismiss_duplicate(ticket: Ticket, *, acting_user: User) -> DuplicateFlag:
    policy.require_work(acting_user, ticket)
    flag = _open_flag(ticket)
    flag.status = DuplicateStatus.DISMISSED
    flag.save(update_fields=["status"])
    return flag


# -- storms ------------------------------------------------------------------------------


def _asset_facts(ticket_ids: list[int]) -> dict[int, tuple[set[str], set[str]]]:
    """Asset and location keys per ticket, when the assets area links tickets to assets."""
    try:
        from soporte.assets.models import TicketAsset
    except ImportError:  # pragma: no cover - the area is part of the project
        return {}
    facts: dict[int, tuple[set[str], set[str]]] = {}
    for ticket_id, asset_id, location_id in TicketAsset.objects.filter(
        ticket_id__in=ticket_ids
    ).values_list("ticket_id", "asset_id", "asset__location_id"):
        assets, locations = facts.setdefault(ticket_id, (set(), set()))
        assets.add(str(asset_id))
        if location_id:
            locations.add(str(location_id))
    return facts


# Each ticket's text vector, by id while its text is the same: a storm window scanned
# again for the next batch reuses them (vectorising 200 rows again per new ticket was
# most of triage's cost in a burst); some 15 MB at most.
VECTOR_CACHE_SIZE = 5000
_TRIAGE_VECTORS = ml.KeptVectors(VECTOR_CACHE_SIZE)


def _arrivals(rows: Sequence[Mapping[str, Any]]) -> tuple[list[ml.Arrival], list[ml.Row]]:
    """The window's tickets as the storm detector sees them, and their text vectors (the
    similarities are computed here for the batch, so an arrival carries none)."""
    facts = _asset_facts([row["pk"] for row in rows])
    texts = [ml.ticket_text(row["subject"], row["first_body"] or "") for row in rows]
    vectors = _TRIAGE_VECTORS.rows(
        [(row["pk"], text) for row, text in zip(rows, texts, strict=True)]
    )
    arrivals = []
    for index, row in enumerate(rows):
        assets, locations = facts.get(row["pk"], (set(), set()))
        arrivals.append(
            ml.Arrival(
                row["pk"],
                row["created_at"],
                texts[index],
                category=str(row["category_id"] or ""),
                assets=frozenset(assets),
                locations=frozenset(locations),
            )
        )
    return arrivals, vectors


def _rules(config: TriageSettings) -> ml.StormRules:
    return ml.StormRules(
        size=config.storm_size,
        minutes=config.storm_minutes,
        similarity=config.storm_similarity,
        by_category=config.storm_by_category,
    )


def detect_storm(ticket: Ticket) -> Incident | None:
    """Put the new ticket in an open incident it matches, or open one when it completes
    a storm (storm_size tickets within storm_minutes). Returns the incident, if any."""
    return _detect_storms([ticket], get_settings())[ticket.pk]


def _detect_storms(found: Sequence[Ticket], config: TriageSettings) -> dict[int, Incident | None]:
    """detect_storm() for new tickets, replayed in arrival order as if one at a time.

    1. One query reads the storm window of them all (the newest STORM_SCAN_LIMIT before
       the first, and every ticket up to the last), a few products their text
       similarities (_window_similarities).
    2. Each ticket joins the open incident it matches (decided in memory, from the
       incidents and links read once), or opens one when it completes a storm.
    3. The tickets that joined are linked at the end, one incident at a time (each
       incident's tickets read once for its links and its problem's).
    """
    rules = _rules(config)
    span = timedelta(minutes=rules.minutes)
    ordered = sorted(found, key=lambda t: (t.created_at, t.pk))
    rows = list(
        Ticket.objects.filter(
            created_at__gte=ordered[0].created_at - span,
            created_at__lte=ordered[-1].created_at,
        )
        # merged_into IS NULL, put so that SQLite walks the created_at index newest first
        # and stops at the limit (with IS NULL it took the merged_into index, then read
        # and sorted the whole window, a body subquery per ticket).
        .alias(unmerged=Coalesce("merged_into", 0))
        .filter(unmerged=0)
        .annotate(first_body=_first_text())
        .order_by("-created_at", "-id")
        .values("pk", "subject", "first_body", "category_id", "created_at")[
            : STORM_SCAN_LIMIT + 2 * len(ordered)
        ]
    )
    rows.reverse()
    arrivals, vectors = _arrivals(rows)
    position = {a.id: index for index, a in enumerate(arrivals)}
    present = [t for t in ordered if t.pk in position]
    out: dict[int, Incident | None] = {t.pk: None for t in ordered}
    if not present:
        return out
    similar = _window_similarities(vectors, [position[t.pk] for t in present])
    arrived, ids = [a.at for a in arrivals], [a.id for a in arrivals]
    taken = dict(
        IncidentTicket.objects.filter(
            ticket_id__in=list(position), incident__status=IncidentStatus.OPEN
        ).values_list("ticket_id", "incident_id")
    )
    incidents = {
        i.pk: i
        for i in Incident.objects.filter(
            status=IncidentStatus.OPEN, last_ticket_at__gte=ordered[0].created_at - span
        )
    }
    joined: dict[int, list[int]] = {}
    for row, ticket in enumerate(present):
        if ticket.pk in taken:  # a rerun: linked already
            out[ticket.pk] = incidents.get(taken[ticket.pk]) or (
                Incident.objects.filter(pk=taken[ticket.pk]).first()
            )
            continue
        index = position[ticket.pk]
        new, since = arrivals[index], ticket.created_at - span
        first, values = similar[row]
        start = bisect_left(arrived, since, first, index)  # arrivals are in time order
        window = arrivals[start:index]
        scores = dict(zip(ids[start:index], values[start - first :].tolist(), strict=True))
        live = sorted(
            (i for i in incidents.values() if i.last_ticket_at >= since),
            key=lambda i: (i.last_ticket_at, i.pk),
            reverse=True,
        )[:OPEN_INCIDENTS_SCAN]
        for incident in live:
            members = _last_members(window, taken, incident.pk)
            if ml.joins(new, incident.reason, incident.reason_key, members, rules, scores):
                taken[ticket.pk] = incident.pk
                joined.setdefault(incident.pk, []).append(ticket.pk)
                incident.last_ticket_at = max(incident.last_ticket_at, ticket.created_at)
                out[ticket.pk] = incident
                break
        else:
            free = [a for a in window if a.id not in taken]
            storm = ml.find_storm(new, free, rules, scores)
            if storm is None:
                continue
            try:  # one batch of changes: receivers' batch work once for the storm
                with transaction.atomic(), tickets.batch_of_changes():
                    times = [arrivals[position[pk]].at for pk in storm.members]
                    incident = _open_incident(ticket, storm, times)
                    grouped = _linkable(list(storm.members), requesters=False)
                    _open_problem(incident, grouped)
                    _link(incident, grouped, config)
                    _announce(incident, ticket)
            except Exception:  # noqa: BLE001 - one ticket's failure must not stop the others
                log.exception("Triage storm detection failed for ticket %s", ticket.pk)
                continue
            incidents[incident.pk] = incident
            taken.update(dict.fromkeys(storm.members, incident.pk))
            out[ticket.pk] = incident
    for incident_id, ticket_ids in joined.items():
        incident = incidents[incident_id]
        try:
            with transaction.atomic(), tickets.batch_of_changes():
                joining = _linkable(ticket_ids, requesters=_replies(incident, config))
                _link(incident, joining, config)
                _link_problem(incident, joining)
        except Exception:  # noqa: BLE001 - the other incidents' links still go in
            log.exception("Tickets %s could not join incident %s", ticket_ids, incident_id)
            out.update(dict.fromkeys(ticket_ids))
    return out


def _window_similarities(
    vectors: list[ml.Row], positions: list[int]
) -> list[tuple[int, np.ndarray]]:
    """For each of the `positions` (ascending), the text similarity of that one of the
    `vectors` (the window's, in time order) to the STORM_SCAN_LIMIT - 1 before it, as
    (the first of those, the values). STORM_CHUNK new tickets at a time, each product
    with only the vectors their windows span."""
    out = []
    for start in range(0, len(positions), STORM_CHUNK):
        chunk = positions[start : start + STORM_CHUNK]
        low = max(0, chunk[0] - STORM_SCAN_LIMIT + 1)
        block = ml.cross_similarities(
            ml.stack([vectors[index] for index in chunk]), ml.stack(vectors[low : chunk[-1]])
        )
        for row, index in enumerate(chunk):
            first = max(0, index - STORM_SCAN_LIMIT + 1)
            out.append((first, block[row, first - low : index - low]))
    return out


def _last_members(
    window: list[ml.Arrival], taken: Mapping[int, int], incident_id: int
) -> list[ml.Arrival]:
    """The incident's newest 20 tickets in the window, oldest first."""
    newest = (a for a in reversed(window) if taken.get(a.id) == incident_id)
    return list(islice(newest, 20))[::-1]


def _open_incident(ticket: Ticket, storm: ml.Storm, times: list[Any]) -> Incident:
    return Incident.objects.create(
        title=ticket.subject[:250],
        reason=storm.reason,
        reason_key=storm.key[:40],
        first_ticket_at=min(times),
        last_ticket_at=max(times),
    )


def _linkable(ticket_ids: list[int], *, requesters: bool) -> list[Ticket]:
    """The tickets an incident takes, oldest first, read once for its links and its
    problem's; with their `requesters` when the status message is replied to them."""
    found = Ticket.objects.filter(pk__in=ticket_ids).order_by("created_at", "pk")
    return list(found.select_related("requester") if requesters else found)


def _replies(incident: Incident, config: TriageSettings) -> bool:
    """Whether tickets joining the incident are answered with its status message."""
    return bool(config.storm_auto_reply and incident.status_message.strip())


def _open_problem(incident: Incident, members: list[Ticket]) -> None:
    """Open the problem record the incident is investigated under, linked to its tickets
    (those not merged away) at once (soporte/problems). A failure there is logged; the
    incident stands without it."""
    from soporte.problems import services as problems

    found = [ticket for ticket in members if ticket.merged_into_id is None]
    try:
        with transaction.atomic():
            actor = system_user()
            problem = problems.create_problem(
                acting_user=actor,
                title=(_("Probable major incident: %(title)s") % {"title": incident.title})[:200],
                description=_("Opened by triage: %(count)s similar tickets within minutes.")
                % {"count": len(found)},
            )
            problems.link_tickets(problem, found, acting_user=actor)
    except Exception:  # noqa: BLE001 - the incident is still worth showing
        log.exception("No problem record could be opened for incident %s", incident.pk)
        return
    incident.problem_id = problem.pk
    incident.save(update_fields=["problem_id"])


def _link_problem(incident: Incident, members: list[Ticket]) -> None:
    """Link tickets that joined the incident (those not merged away) to its problem
    record, all at once; should that fail, each on its own (one ticket's failure leaves
    the others linked)."""
    if not incident.problem_id:
        return
    from soporte.problems import services as problems
    from soporte.problems.models import Problem

    problem = Problem.objects.filter(pk=incident.problem_id).first()
    if problem is None:
        return
    actor = system_user()
    found = [ticket for ticket in members if ticket.merged_into_id is None]
    try:
        with transaction.atomic():
            problems.link_tickets(problem, found, acting_user=actor)
        return
    except Exception:  # noqa: BLE001 - the links one by one below say which ticket fails
        log.exception(
            "Tickets %s could not be linked to problem %s at once",
            [ticket.pk for ticket in members],
            problem.pk,
        )
    for ticket in found:
        try:
            with transaction.atomic():
                problems.link_ticket(problem, ticket, acting_user=actor)
        except Exception:  # noqa: BLE001 - the link to the incident stands
            log.exception("Ticket %s could not be linked to problem %s", ticket.pk, problem.pk)


def _link(incident: Incident, members: list[Ticket], config: TriageSettings) -> None:
    """Link the tickets no incident holds yet: the rows and their INCIDENT_LINKED events
    each written in one query, the changes announced in one batch (receivers' batch work
    once), the status message replied when asked; then count the incident's tickets."""
    linked = set(
        IncidentTicket.objects.filter(ticket_id__in=[t.pk for t in members]).values_list(
            "ticket_id", flat=True
        )
    )
    added = [ticket for ticket in members if ticket.pk not in linked]
    if not added:
        return
    insert_rows([IncidentTicket(incident_id=incident.pk, ticket_id=ticket.pk) for ticket in added])
    actor = system_user() if _replies(incident, config) else None
    with tickets.batch_of_changes():
        tickets.log_events(
            added, acting_user=None, kind=EventKind.INCIDENT_LINKED,
            incident=incident.pk, summary=incident.title,
        )  # fmt: skip
        for found in added:
            if actor is not None and found.is_active:
                tickets.reply(found, acting_user=actor, body=incident.status_message)
    incident.ticket_count = incident.links.count()
    incident.last_ticket_at = max([incident.last_ticket_at, *(t.created_at for t in added)])
    incident.save(update_fields=["ticket_count", "last_ticket_at"])


def _announce(incident: Incident, ticket: Ticket) -> None:
    """Tell the people on duty: the team of the ticket that completed the storm (mail,
    sent by a job), and every agent and supervisor through the banner (open incidents)."""
    from soporte.mail.outbound import record_templated

    record_templated(
        ticket.pk,
        to="team",
        subject=_("Probable major incident: %(title)s") % {"title": incident.title},
        body=_(
            "%(count)s similar tickets arrived within a few minutes. "
            "They are grouped as a probable major incident."
        )
        % {"count": incident.ticket_count},
        key=f"triage-incident-{incident.pk}",
    )


def open_incidents() -> list[Incident]:
    return list(Incident.objects.filter(status=IncidentStatus.OPEN)[:10])


def visible_incidents(user: User, *, status: str | None = None, limit: int = 50) -> list[Incident]:
    policy.require_agent(user)
    found = Incident.objects.all()
    if status:
        found = found.filter(status=status)
    return list(found[:limit])


@transaction.atomic
def update_incident(
    incident: Incident,
    *,
    acting_user: User,
    status: str | None = None,
    status_message: str | None = None,
) -> Incident:
    """Supervisors close an incident or set the status message new matching tickets get."""
    if not acting_user.is_supervisor:
        policy.require_admin(acting_user)
    fields = []
    if status is not None and status != incident.status:
        incident.status = IncidentStatus(status)
        incident.closed_at = timezone.now() if status == IncidentStatus.CLOSED else None
        fields += ["status", "closed_at"]
    if status_message is not None:
        incident.status_message = status_message.strip()
        fields.append("status_message")
    if fields:
        incident.save(update_fields=fields)
    return incident


# -- the job -----------------------------------------------------------------------------


def triage_ticket(ticket_id: int) -> dict[str, Any]:
    """triage_tickets() for one ticket."""
    return triage_tickets([ticket_id])[0]


def triage_tickets(ticket_ids: Sequence[int]) -> list[dict[str, Any]]:
    """Everything triage does for new tickets, many at once (the batched job): the model
    is asked once for every text, duplicates and storms read their windows once. Each
    step, and each ticket's writes within it, stand on their own: a failure is logged
    and the rest still runs. Idempotent (suggestions, flags and links are kept once per
    ticket). One result per id, in order: {step: how many written, or the row's pk}."""
    found = list(
        Ticket.objects.select_related("requester")
        .filter(pk__in=ticket_ids, merged_into__isnull=True)
        .exclude(status=Status.CLOSED)
        .annotate(first_body=_first_text())
        .order_by("created_at", "pk")
    )
    done: dict[int, dict[str, Any]] = {pk: {} for pk in ticket_ids}
    if not found:
        return [done[pk] for pk in ticket_ids]
    texts = {t.pk: ml.ticket_text(t.subject, t.first_body or "") for t in found}
    config = get_settings()
    steps: list[tuple[str, Callable[[], Mapping[int, Any]]]] = [
        ("duplicate", lambda: _find_duplicates(found, texts, config)),
        ("incident", lambda: _detect_storms(found, config)),
        ("vector", lambda: store_vectors(texts)),
    ]
    if config.enabled:
        steps.insert(0, ("suggestions", lambda: _suggest_many(found, texts, config)))
    for name, step in steps:
        try:
            results = step()
        except Exception:  # noqa: BLE001 - one step's bug must not stop the others
            log.exception("Triage step %s failed for tickets %s", name, [t.pk for t in found])
            continue
        for pk, result in results.items():
            if isinstance(result, bool):
                counted: Any = result
            else:
                counted = len(result) if isinstance(result, list) else getattr(result, "pk", None)
            done[pk][name] = counted
    return [done[pk] for pk in ticket_ids]


# -- sentence vectors (soporte[semantic]) ------------------------------------------------

EMBED_CHUNK = 512  # tickets read and embedded per step of a backfill
EMBED_MISSING_LIMIT = 5000  # tickets the periodic backfill embeds per run


def store_vectors(texts: Mapping[int, str]) -> dict[int, bool]:
    """Embed and store the tickets' texts ({ticket id: ticket text}) whose stored vector
    is missing, of another model or of another text: identical texts once, BATCH texts
    per model call. {ticket id: whether a vector was written}; nothing without the extra.
    Idempotent: a rerun finds every vector current and embeds nothing."""
    from soporte.search import semantic

    out = dict.fromkeys(texts, False)
    if not texts or not semantic.available():
        return out
    digests = {pk: semantic.digest(text) for pk, text in texts.items()}
    current = dict(
        TicketVector.objects.filter(ticket_id__in=list(texts), model=semantic.MODEL).values_list(
            "ticket_id", "digest"
        )
    )
    todo = [pk for pk in texts if current.get(pk) != digests[pk]]
    if not todo:
        return out
    unique = list(dict.fromkeys(texts[pk] for pk in todo))
    packed = {
        text: semantic.pack(vector)
        for text, vector in zip(unique, semantic.embed(unique), strict=True)
    }
    TicketVector.objects.bulk_create(
        [
            TicketVector(
                ticket_id=pk, model=semantic.MODEL, digest=digests[pk], vector=packed[texts[pk]]
            )
            for pk in todo
        ],
        update_conflicts=True,
        unique_fields=["ticket"],
        update_fields=["model", "digest", "vector", "updated_at"],
    )
    out.update(dict.fromkeys(todo, True))
    return out


def embed_tickets(ticket_ids: Sequence[int]) -> int:
    """store_vectors() for these tickets, their texts read in one query (a ticket whose
    subject changed, a backfill's chunk). Returns how many vectors were written."""
    rows = (
        Ticket.objects.filter(pk__in=list(ticket_ids))
        .annotate(first_body=_first_text())
        .values_list("pk", "subject", "first_body")
    )
    texts = {pk: ml.ticket_text(subject, body or "") for pk, subject, body in rows}
    return sum(store_vectors(texts).values())


def embed_missing(*, limit: int | None = None, chunk: int = EMBED_CHUNK) -> int:
    """The backfill: embed the tickets (not merged away) with no vector of the current
    model, newest first, `chunk` at a time, `limit` at most. Returns how many were
    written; 0 without the extra. A ticket whose text changed is the change job's."""
    from soporte.search import semantic

    if not semantic.available():
        return 0
    written, after = 0, None
    while limit is None or written < limit:
        size = chunk if limit is None else min(chunk, limit - written)
        page = Ticket.objects.filter(merged_into__isnull=True).exclude(
            pk__in=TicketVector.objects.filter(model=semantic.MODEL).values("ticket_id")
        )
        if after is not None:  # the newest-first walk goes on below the last chunk
            page = page.filter(pk__lt=after)
        ids = list(page.order_by("-pk").values_list("pk", flat=True)[:size])
        if not ids:
            break
        written += embed_tickets(ids)
        after = ids[-1]
    return written


# -- similar tickets ---------------------------------------------------------------------


# Candidates' hashed word vectors, by ticket (ml.KeptVectors): about 20 MB at most.
SIMILAR_KEPT = 10_000
_KEPT_VECTORS = ml.KeptVectors(SIMILAR_KEPT)


@dataclass(frozen=True)
class Similar:
    number: int
    subject: str
    status: str
    score: float


def similar_tickets(user: User, ticket: Ticket, *, limit: int = 5) -> list[Similar]:
    """Tickets the person may see that resemble this one.

    1. The ticket's SIMILAR_WORDS rarest words (by the model's document frequencies)
       pick the candidates: the newest SIMILAR_CANDIDATES tickets the person may see
       holding all of them, or else any, or else any of its first words
       (_visible_candidates).
    2. Text similarity scores them; with sentence vectors (soporte[semantic]) the score
       is search.semantic.blend of words and meaning, the meaning read from the vectors
       stored at intake (semantic.meanings: only this ticket may be embedded now)."""
    from soporte.search.text import parse_query

    from . import semantic

    text = ticket_text(ticket)
    language = ml.language_of(ticket.requester.language, text)
    query = parse_query(text[:2000])
    if not query:
        return []
    head = Query(words=query.words[:12], terms=query.terms[:12])
    found = _visible_candidates(user, head, _rarest(query, language, SIMILAR_WORDS), ticket.pk)
    if not found:
        return []
    others = [(c.ticket_id, ml.ticket_text(c.subject, c.body)) for c in found]
    words = [float(w) for w in _KEPT_VECTORS.similarities(text, others)]
    scores = semantic.rank_stored(ticket.pk, text, [c.ticket_id for c in found], words)
    ranked = sorted(range(len(found)), key=lambda i: -scores[i])[: limit * 2]
    rows = {
        row["pk"]: row
        for row in Ticket.objects.filter(
            pk__in=[found[i].ticket_id for i in ranked], merged_into__isnull=True
        ).values("pk", "number", "subject", "status")
    }
    return [
        Similar(row["number"], row["subject"], row["status"], round(float(scores[i]), 4))
        for row, i in ((rows.get(found[i].ticket_id), i) for i in ranked)
        if row is not None
    ][:limit]


def _visible_candidates(user: User, words: Query, rare: Query, exclude: int) -> list[Any]:
    """The newest SIMILAR_CANDIDATES tickets the person may see that hold all the rare
    words, topped up with those holding any of them, then any of the ticket's `words`.
    One index query each (ids only: the newest SIMILAR_CANDIDATES matches, or for
    someone who sees part of the tickets the visible ones among the newest SIMILAR_SCAN),
    until enough are found; the kept ones' texts are read last."""
    from . import candidates

    visible = policy.visible_tickets(user)
    # Someone who sees every ticket needs no check (merged ones go at the end).
    scope = None
    if visible.query.has_filters():
        scope = candidates.visible_scope(visible.filter(merged_into__isnull=True))
        if scope is None:
            return []
    scan = SIMILAR_CANDIDATES if scope is None else SIMILAR_SCAN
    kept: dict[int, candidates.Match] = {}
    for query, every in ((rare, True), (rare, False), (words, False)):
        if len(kept) >= SIMILAR_CANDIDATES:
            break
        found = candidates.newest_matching(
            query, every=every, exclude=exclude, limit=scan, scope=scope
        )
        found = [m for m in found if m.ticket_id not in kept]
        for match in found[: SIMILAR_CANDIDATES - len(kept)]:
            kept[match.ticket_id] = match
    return candidates.texts(list(kept.values()))


def _rarest(query: Query, language: str, count: int) -> Query:
    """The `count` words of the query that say most about the ticket: the rarest in the
    history by the model's inverse document frequencies, kept in typed order. Without
    a model, the first `count` words."""
    loaded = current_model()
    rarity = loaded[1].rarity(language, query.words) if loaded else None
    if rarity is None:
        chosen = list(range(min(count, len(query.words))))
    else:
        chosen = sorted(sorted(range(len(query.words)), key=lambda i: -rarity[i])[:count])
    return Query(
        words=tuple(query.words[i] for i in chosen), terms=tuple(query.terms[i] for i in chosen)
    )
