"""Automation: rules run on ticket changes (inside the change's transaction) and on a
timer; teams assign arriving tickets. Every action goes through the tickets services as
the system user, inside `event_context(rule=...)`, so each event names its rule.

Loop safety: while a rule's actions run, that rule is on the chain and cannot fire again
for the changes they cause; chains stop at MAX_DEPTH rules. Timed rules fire once per
episode (RuleRun)."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts.models import Assignment, Team, Tier, User
from soporte.accounts.services import system_user
from soporte.jobs.queue import enqueue
from soporte.lib.errors import InvalidInput, ServiceError
from soporte.tickets import services as tickets
from soporte.tickets.macros import (
    render,
    requester_language,
    unknown_error,
    unknown_placeholders,
    values_for,
)
from soporte.tickets.models import (
    ACTIVE_STATUSES,
    Category,
    Channel,
    EventKind,
    Level,
    Priority,
    Status,
    Ticket,
    TicketEvent,
)

from .assignment import choose_assignee
from .models import TIMED_TRIGGERS, Rule, RuleRun, Trigger
from .services import cached

log = logging.getLogger(__name__)

MAX_DEPTH = 5
_chain: ContextVar[tuple[int, ...]] = ContextVar("rule_chain", default=())

# -- conditions ---------------------------------------------------------------------

CHOICE_FIELDS: dict[str, type[Any]] = {
    "status": Status,
    "priority": Priority,
    "impact": Level,
    "urgency": Level,
    "channel": Channel,
    "tier": Tier,
}
ID_FIELDS = {"team": Team, "category": Category, "organization": None, "assignee": User}
TEXT_FIELDS = {"subject", "requester_email", "tag"}
OPS = {
    "is": lambda have, want: want in have,
    "is_not": lambda have, want: want not in have,
    "in": lambda have, want: bool(set(have) & set(want)),
    "not_in": lambda have, want: not set(have) & set(want),
    "contains": lambda have, want: any(want.casefold() in h.casefold() for h in have),
    "not_contains": lambda have, want: not any(want.casefold() in h.casefold() for h in have),
}
LIST_OPS = {"in", "not_in"}
TEXT_OPS = {"contains", "not_contains"}


def _values(ticket: Ticket, name: str) -> list:
    """The ticket's value(s) for a condition field, as a list (tags have several)."""
    if name == "tag":
        return [tag.name for tag in ticket.tags.all()]
    if name == "requester_email":
        return [ticket.requester.email]
    if name in ID_FIELDS:
        return [getattr(ticket, f"{name}_id")]
    return [getattr(ticket, name)]


def matches(rule: Rule, ticket: Ticket) -> bool:
    for condition in rule.conditions:
        want = condition["value"]
        have = _values(ticket, condition["field"])
        op = condition["op"]
        if op in TEXT_OPS:
            have = [str(h or "") for h in have]
        if not OPS[op](have, want):
            return False
    return True


# -- checking what admins write -----------------------------------------------------


def check_conditions(conditions: Any) -> list[dict]:
    if not isinstance(conditions, list):
        raise InvalidInput(_("Conditions must be a list."))
    checked = []
    for number, condition in enumerate(conditions, 1):
        if not isinstance(condition, dict) or set(condition) != {"field", "op", "value"}:
            raise InvalidInput(
                _("Condition %(n)s needs exactly a field, an op and a value.") % {"n": number}
            )
        field, op, value = condition["field"], condition["op"], condition["value"]
        if field not in CHOICE_FIELDS and field not in ID_FIELDS and field not in TEXT_FIELDS:
            raise InvalidInput(
                _("Condition %(n)s: unknown field %(field)r.") % {"n": number, "field": field}
            )
        if op not in _allowed_ops(field):
            raise InvalidInput(
                _("Condition %(n)s: %(op)r cannot be used with %(field)s.")
                % {"n": number, "op": op, "field": field}
            )
        wanted = value if op in LIST_OPS else [value]
        if op in LIST_OPS and (not isinstance(value, list) or not value):
            raise InvalidInput(_("Condition %(n)s: give a list of values.") % {"n": number})
        for item in wanted:
            _check_value(number, field, item)
        checked.append({"field": field, "op": op, "value": value})
    return checked


def _allowed_ops(field: str) -> set[str]:
    if field == "tag":
        return {"is", "is_not"}
    if field in TEXT_FIELDS:
        return TEXT_OPS
    return {"is", "is_not", *LIST_OPS}


def _check_value(number: int, field: str, value: Any) -> None:
    if field in CHOICE_FIELDS:
        if value not in CHOICE_FIELDS[field].values:
            raise InvalidInput(
                _("Condition %(n)s: %(value)r is not a %(field)s.")
                % {"n": number, "value": value, "field": field}
            )
    elif field in ID_FIELDS:
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            raise InvalidInput(_("Condition %(n)s: give an id or null.") % {"n": number})
    elif not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidInput(
            _("Condition %(n)s: give a text of 1 to 200 characters.") % {"n": number}
        )


EMAIL_TO = {"requester", "assignee", "team"}
SET_FIELDS: dict[str, Any] = {
    "status": Status,
    "impact": Level,
    "urgency": Level,
    "team": Team,
    "category": Category,
}
ASSIGN_STRATEGIES = {Assignment.ROUND_ROBIN, Assignment.LEAST_LOADED}


def check_actions(actions: Any) -> list[dict]:
    if not isinstance(actions, list) or not actions:
        raise InvalidInput(_("A rule needs at least one action."))
    for number, action in enumerate(actions, 1):
        if not isinstance(action, dict):
            raise InvalidInput(_("Action %(n)s must be an object.") % {"n": number})
        kind = action.get("type")
        problem = _action_problem(kind, action)
        if problem:
            raise InvalidInput(_("Action %(n)s: %(problem)s") % {"n": number, "problem": problem})
    return actions


def _action_problem(kind: Any, action: dict) -> str:
    def text(name: str, limit: int) -> bool:
        value = action.get(name)
        return isinstance(value, str) and 0 < len(value.strip()) <= limit

    if kind == "set":
        field, value = action.get("field"), action.get("value")
        if field not in SET_FIELDS:
            return _("set needs a field among %(names)s.") % {"names": ", ".join(SET_FIELDS)}
        target: Any = SET_FIELDS[field]
        if target in (Team, Category):
            if value is not None and not target.objects.filter(pk=value).exists():
                return _("%(field)s %(value)s does not exist.") % {"field": field, "value": value}
        elif value not in target.values or value in (Status.NEW, Status.CLOSED):
            return _("%(value)r is not a %(field)s a rule can set.") % {
                "value": value,
                "field": field,
            }
        return ""
    if kind == "assign":
        to = action.get("to")
        if to is None or to in ASSIGN_STRATEGIES:
            return ""
        agent = User.objects.filter(pk=to).first() if isinstance(to, int) else None
        return (
            ""
            if agent is not None and agent.is_agent
            else _("assign to an agent's id, round_robin, least_loaded or null.")
        )
    if kind == "add_tag":
        return "" if text("value", 50) else _("add_tag needs a tag of 1 to 50 characters.")
    if kind == "escalate":
        return "" if text("reason", 2000) else _("escalate needs a reason.")
    if kind == "note":
        return "" if text("body", 20000) else _("note needs a body.")
    if kind == "email":
        if action.get("to") not in EMAIL_TO:
            return _("email goes to the requester, the assignee or the team.")
        if not (text("subject", 200) and text("body", 20000)):
            return _("email needs a subject and a body.")
        unknown = unknown_placeholders(action["subject"] + " " + action["body"])
        return unknown_error(unknown) if unknown else ""
    return _("unknown action type %(type)r.") % {"type": kind}


# -- running ------------------------------------------------------------------------


def triggers_for(events: Sequence[TicketEvent]) -> set[str]:
    kinds = {event.kind for event in events}
    if EventKind.CREATED in kinds:
        return {Trigger.CREATED}
    found: set[str] = {Trigger.UPDATED}
    for event in events:
        if event.kind == EventKind.REPLIED:
            agent = event.actor is not None and event.actor.is_agent
            found.add(Trigger.AGENT_REPLIED if agent else Trigger.REQUESTER_REPLIED)
    return found


def _load_rules() -> list[Rule]:
    return list(Rule.objects.filter(active=True))


def active_rules() -> list[Rule]:
    """The active rules in order (Rule.Meta.ordering); no query while cached."""
    return cached("rules", _load_rules)


def on_change(ticket: Ticket, events: Sequence[TicketEvent]) -> None:
    """Run the rules a committed-to-be change triggers, then team assignment."""
    chain = _chain.get()
    if len(chain) >= MAX_DEPTH:
        log.warning("Rule chain %s stopped at depth %s on ticket %s", chain, MAX_DEPTH, ticket.pk)
        return
    triggers = triggers_for(events)
    for rule in active_rules():
        if rule.trigger in triggers and rule.pk not in chain and matches(rule, ticket):
            fire(rule, ticket)
    _assign_in_team(ticket, events)


def fire(rule: Rule, ticket: Ticket) -> bool:
    """Run the rule's actions in a savepoint: a failing action undoes the rule's own
    changes (logged), never the change that triggered it."""
    token = _chain.set((*_chain.get(), rule.pk))
    try:
        with transaction.atomic(), tickets.event_context(rule=rule.pk, rule_name=rule.name):
            for action in rule.actions:
                _run(action, ticket)
    except ServiceError as error:
        log.warning("Rule %r did nothing on ticket %s: %s", rule.name, ticket.pk, error.message)
        return False
    finally:
        _chain.reset(token)
    return True


def _run(action: dict, ticket: Ticket) -> None:
    actor = system_user()
    kind = action["type"]
    if kind == "set":
        field, value = action["field"], action["value"]
        if field == "status" and value == Status.RESOLVED:
            if ticket.status != value:
                resolution = action.get("resolution") or _("Resolved by the rule %(name)s.") % {
                    "name": tickets.current_event_context().get("rule_name", "")
                }
                tickets.resolve(ticket, acting_user=actor, resolution=resolution)
        elif field == "status":
            if ticket.status != value:
                tickets.change_status(ticket, acting_user=actor, status=value)
        elif field in ("team", "category"):
            model: Any = SET_FIELDS[field]
            row = model.objects.filter(pk=value).first() if value is not None else None
            if getattr(ticket, f"{field}_id") != value:
                changes: dict[str, Any] = {field: row}
                tickets.update_ticket(ticket, acting_user=actor, **changes)
        elif field == "impact" and ticket.impact != value:
            tickets.update_ticket(ticket, acting_user=actor, impact=value)
        elif field == "urgency" and ticket.urgency != value:
            tickets.update_ticket(ticket, acting_user=actor, urgency=value)
    elif kind == "assign":
        to = action["to"]
        if to in ASSIGN_STRATEGIES:
            assignee = choose_assignee(ticket.team, to) if ticket.team else None
            if assignee is None:
                return
        else:
            assignee = User.objects.filter(pk=to).first() if to is not None else None
        if ticket.assignee_id != (assignee.pk if assignee else None):
            tickets.assign(ticket, acting_user=actor, assignee=assignee)
    elif kind == "add_tag":
        names = [tag.name for tag in ticket.tags.all()]
        if action["value"] not in names:
            tickets.update_ticket(ticket, acting_user=actor, tags=[*names, action["value"]])
    elif kind == "escalate":
        if ticket.status in ACTIVE_STATUSES and ticket.tier != Tier.ordered()[-1]:
            tickets.escalate(ticket, acting_user=actor, reason=action["reason"])
    elif kind == "note":
        tickets.add_note(ticket, acting_user=actor, body=action["body"])
    elif kind == "email":
        _email(action, ticket, actor)


def _email(action: dict, ticket: Ticket, actor: User) -> None:
    """Queue the rule's mail, placeholders filled now (what the ticket is when the rule
    fires); the mail area records and sends it (job mail.templated)."""
    to = action["to"]
    language = requester_language(ticket) if to == "requester" else settings.LANGUAGE_CODE
    values = values_for(ticket, agent=actor, language=language)
    subject = render(action["subject"], values).text.replace("\n", " ")
    body = render(action["body"], values).text
    enqueue("mail.templated", ticket.pk, to, subject, body, uuid.uuid4().hex)


def _assign_in_team(ticket: Ticket, events: Sequence[TicketEvent]) -> None:
    """A ticket arriving in a team without an assignee gets one, if the team says so."""
    if ticket.assignee_id is not None or ticket.team_id is None or not ticket.is_active:
        return
    arrived = any(
        e.kind in (EventKind.CREATED, EventKind.ESCALATED, EventKind.DEESCALATED)
        or (e.kind == EventKind.UPDATED and e.field == "team")
        or (e.kind == EventKind.ASSIGNED and e.new == "")
        for e in events
    )
    team = ticket.team
    if not arrived or team is None or team.assignment == Assignment.MANUAL:
        return
    assignee = choose_assignee(team, team.assignment)
    if assignee is not None:
        with tickets.event_context(assignment=team.assignment):
            tickets.assign(ticket, acting_user=system_user(), assignee=assignee)


# -- timed rules --------------------------------------------------------------------


def run_timed(now: datetime | None = None, limit: int = 500) -> int:
    """Fire the timed rules on the tickets that have waited long enough; once per rule,
    ticket and episode. Returns how many times a rule fired."""
    now = now or timezone.now()
    fired = 0
    for rule in Rule.objects.filter(active=True, trigger__in=TIMED_TRIGGERS, hours__isnull=False):
        cutoff = now - timedelta(hours=rule.hours or 0)
        for ticket, basis in _waiting(rule, cutoff, limit):
            fired += _fire_once(rule, ticket, basis)
    return fired


def _waiting(rule: Rule, cutoff: datetime, limit: int) -> Iterable[tuple[Ticket, datetime]]:
    tickets_qs = Ticket.objects.filter(status__in=ACTIVE_STATUSES).select_related("requester")
    if rule.trigger == Trigger.IDLE:
        waiting = tickets_qs.annotate(basis=F("updated_at"))
    else:
        status_changes = TicketEvent.objects.filter(
            ticket=OuterRef("pk"), kind=EventKind.STATUS_CHANGED
        ).order_by("-created_at")
        waiting = tickets_qs.annotate(
            basis=Coalesce(Subquery(status_changes.values("created_at")[:1]), "created_at")
        )
    done = RuleRun.objects.filter(rule=rule, ticket=OuterRef("pk"), basis=OuterRef("basis"))
    waiting = waiting.filter(basis__lte=cutoff).exclude(Exists(done)).order_by("basis")
    return ((ticket, ticket.basis) for ticket in waiting[:limit])


def _fire_once(rule: Rule, ticket: Ticket, basis: datetime) -> int:
    with transaction.atomic():
        try:
            with transaction.atomic():
                RuleRun.objects.create(rule=rule, ticket=ticket, basis=basis)
        except IntegrityError:
            return 0  # another worker fired it
        if not matches(rule, ticket) or not fire(rule, ticket):
            return 0
        if rule.trigger == Trigger.IDLE:
            # The rule's own changes must not start a new idle episode for itself.
            ticket.refresh_from_db(fields=["updated_at"])
            RuleRun.objects.get_or_create(rule=rule, ticket=ticket, basis=ticket.updated_at)
    return 1
