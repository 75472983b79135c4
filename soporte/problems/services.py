"""Every change to a problem: create, edit, link tickets and assets, report to development,
and the bug's state coming back (webhook or polling). Each service is atomic, agents
only, and writes the linked tickets' events (PROBLEM_LINKED, BUG_REPORTED, BUG_FIXED...)
through tickets.services.log_event; side effects (delivery, indexing, mail) are jobs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from soporte.accounts import policy as accounts_policy
from soporte.accounts.models import User
from soporte.assets.models import Asset
from soporte.lib.db import insert_rows
from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied, ServiceError
from soporte.tickets import services as ticket_services
from soporte.tickets.models import EventKind, Message, Ticket

from . import trackers
from .models import (
    BugReport,
    BugState,
    DeliveryStatus,
    Problem,
    ProblemStatus,
    ProblemTicket,
    Tracker,
)

log = logging.getLogger(__name__)

TEXT_LIMITS = {"title": 200}
TEXT_FIELDS = ("title", "description", "root_cause", "workaround")
MAX_TEXT = 50_000
EDITABLE = (*TEXT_FIELDS, "workaround_public", "status", "notify_when_fixed")
# Attempts at delivering one report (network errors and 5xx only; a 4xx fails at once).
MAX_DELIVERY_ATTEMPTS = 5
POLL_BATCH = 100


class Unauthorized(ServiceError):
    status = 401


# -- who may do what ---------------------------------------------------------------------


def visible_problems(user: User) -> QuerySet[Problem]:
    """Problems are the agents' working records: every agent sees them all."""
    if not user.is_authenticated or not user.is_active or not user.is_agent:
        return Problem.objects.none()
    return Problem.objects.all()


def filter_problems(problems: QuerySet[Problem], *, q: str = "", status: str = ""):
    """Narrow a list: by status, and by words of the title, text or bug key."""
    if status:
        problems = problems.filter(status=status)
    q = q.strip()
    if q:
        problems = problems.filter(
            Q(title__icontains=q) | Q(description__icontains=q) | Q(workaround__icontains=q)
            | Q(bug_key__iexact=q)
        )  # fmt: skip
    return problems


def get_problem(user: User, problem_id: int) -> Problem:
    """The problem, or PermissionDenied for a requester, NotFound when it does not exist."""
    accounts_policy.require_agent(user)
    problem = Problem.objects.select_related("tracker", "created_by").filter(pk=problem_id).first()
    if problem is None:
        raise NotFound(_("Problem %(id)s not found.") % {"id": problem_id})
    return problem


def _require_agent(user: User | None) -> None:
    if user is None or not user.is_agent:
        raise PermissionDenied(_("Only agents may work on problems."))


# -- problems ----------------------------------------------------------------------------


def _clean(name: str, value: Any) -> Any:
    if name in TEXT_FIELDS:
        value = "" if value is None else str(value).strip()
        if "\x00" in value:
            raise InvalidInput(_("%(field)s must not contain NUL characters.") % {"field": name})
        limit = TEXT_LIMITS.get(name, MAX_TEXT)
        if len(value) > limit:
            raise InvalidInput(
                _("%(field)s is longer than %(max)s characters.") % {"field": name, "max": limit}
            )
        if name == "title" and not value:
            raise InvalidInput(_("A problem needs a title."))
        return value
    if name == "status":
        if value not in ProblemStatus.values:
            raise InvalidInput(_("Unknown status %(status)s.") % {"status": value})
        return value
    return bool(value)


def _check_known_error(values: Mapping[str, Any]) -> None:
    if values["status"] == ProblemStatus.KNOWN_ERROR and not values["workaround"]:
        raise InvalidInput(_("A known error needs a workaround to show on its tickets."))


def _index_later(problem_id: int) -> None:
    from .tasks import index_problem

    index_problem.enqueue(problem_id)


@transaction.atomic
def create_problem(
    *,
    acting_user: User,
    title: str,
    description: str = "",
    root_cause: str = "",
    workaround: str = "",
    workaround_public: bool = True,
    status: str = ProblemStatus.INVESTIGATING,
    notify_when_fixed: bool = False,
    tickets: Iterable[Ticket] = (),
    assets: Iterable[Asset] = (),
) -> Problem:
    """Record a problem, linked to the given tickets (already checked visible to the
    agent) and assets."""
    _require_agent(acting_user)
    given = {
        "title": title, "description": description, "root_cause": root_cause,
        "workaround": workaround, "workaround_public": workaround_public, "status": status,
        "notify_when_fixed": notify_when_fixed,
    }  # fmt: skip
    values = {name: _clean(name, value) for name, value in given.items()}
    _check_known_error(values)
    problem = Problem.objects.create(created_by=acting_user, **values)
    if status == ProblemStatus.RESOLVED:
        Problem.objects.filter(pk=problem.pk).update(resolved_at=timezone.now())
    for ticket in tickets:
        link_ticket(problem, ticket, acting_user=acting_user)
    assets = list(assets)
    if assets:
        problem.assets.add(*assets)
    _index_later(problem.pk)
    return problem


@transaction.atomic
def update_problem(
    problem: Problem, *, acting_user: User, expected_version: int | None = None, **fields: Any
) -> Problem:
    """Change some of EDITABLE; refused (409) when someone saved since `expected_version`."""
    _require_agent(acting_user)
    unknown = set(fields) - set(EDITABLE)
    if unknown:
        raise InvalidInput(_("Unknown fields: %(names)s.") % {"names": ", ".join(sorted(unknown))})
    current = Problem.objects.select_for_update().get(pk=problem.pk)
    if expected_version is not None and expected_version != current.version:
        raise Conflict(
            _(
                "The problem was changed by someone else since you loaded it. "
                "Reload it and try again."
            )
        )
    values = {name: getattr(current, name) for name in EDITABLE}
    values.update({name: _clean(name, value) for name, value in fields.items()})
    _check_known_error(values)
    changed = {name: value for name, value in values.items() if getattr(current, name) != value}
    if not changed:
        return current
    if "status" in changed:
        changed["resolved_at"] = (
            timezone.now() if values["status"] == ProblemStatus.RESOLVED else None
        )
    Problem.objects.filter(pk=current.pk).update(
        version=F("version") + 1, updated_at=timezone.now(), **changed
    )
    current.refresh_from_db()
    _index_later(current.pk)
    return current


def _summary(text: str, problem: Problem) -> str:
    return text % {"id": problem.pk, "title": problem.title}


@transaction.atomic
def link_ticket(problem: Problem, ticket: Ticket, *, acting_user: User) -> bool:
    """Link a ticket (the caller checked the agent sees it); False when it already was."""
    _require_agent(acting_user)
    if ticket.merged_into_id is not None:
        raise InvalidInput(_("Ticket #%(number)s was merged; link the ticket it was merged into.")
                           % {"number": ticket.number})  # fmt: skip
    _link, created = ProblemTicket.objects.get_or_create(
        problem=problem, ticket=ticket, defaults={"linked_by": acting_user}
    )
    if not created:
        return False
    ticket_services.log_event(
        ticket,
        acting_user=acting_user,
        kind=EventKind.PROBLEM_LINKED,
        summary=_summary(_("Linked to problem %(id)s: %(title)s"), problem),
        problem_id=problem.pk,
    )
    Problem.objects.filter(pk=problem.pk).update(updated_at=timezone.now())
    return True


@transaction.atomic
def link_tickets(problem: Problem, tickets: Iterable[Ticket], *, acting_user: User) -> list[Ticket]:
    """link_ticket() for many tickets at once (a storm triage groups): the links and
    their PROBLEM_LINKED events each written in one query, the changes announced in one
    batch (tickets.services.batch_of_changes), so receivers' batch work runs once.
    Returns the tickets newly linked; those linked already are left as they are."""
    _require_agent(acting_user)
    given = list({ticket.pk: ticket for ticket in tickets}.values())
    for ticket in given:
        if ticket.merged_into_id is not None:
            raise InvalidInput(_("Ticket #%(number)s was merged; link the ticket it was merged "
                                 "into.") % {"number": ticket.number})  # fmt: skip
    linked = set(
        ProblemTicket.objects.filter(
            problem=problem, ticket_id__in=[ticket.pk for ticket in given]
        ).values_list("ticket_id", flat=True)
    )
    added = [ticket for ticket in given if ticket.pk not in linked]
    if not added:
        return []
    try:
        with transaction.atomic():
            insert_rows(
                [
                    ProblemTicket(problem_id=problem.pk, ticket_id=ticket.pk, linked_by=acting_user)
                    for ticket in added
                ]
            )
    except IntegrityError:  # another process linked one meanwhile: each on its own then
        return [t for t in added if link_ticket(problem, t, acting_user=acting_user)]
    summary = _summary(_("Linked to problem %(id)s: %(title)s"), problem)
    ticket_services.log_events(
        added, acting_user=acting_user, kind=EventKind.PROBLEM_LINKED, summary=summary,
        problem_id=problem.pk,
    )  # fmt: skip
    Problem.objects.filter(pk=problem.pk).update(updated_at=timezone.now())
    return added


@transaction.atomic
def unlink_ticket(problem: Problem, ticket: Ticket, *, acting_user: User) -> bool:
    _require_agent(acting_user)
    deleted, _count = ProblemTicket.objects.filter(problem=problem, ticket=ticket).delete()
    if not deleted:
        return False
    ticket_services.log_event(
        ticket,
        acting_user=acting_user,
        kind=EventKind.PROBLEM_UNLINKED,
        summary=_summary(_("Unlinked from problem %(id)s: %(title)s"), problem),
        problem_id=problem.pk,
    )
    Problem.objects.filter(pk=problem.pk).update(updated_at=timezone.now())
    return True


@transaction.atomic
def link_asset(problem: Problem, asset: Asset, *, acting_user: User) -> None:
    _require_agent(acting_user)
    problem.assets.add(asset)


@transaction.atomic
def unlink_asset(problem: Problem, asset: Asset, *, acting_user: User) -> None:
    _require_agent(acting_user)
    problem.assets.remove(asset)


def ticket_text(ticket: Ticket) -> str:
    """A ticket's subject and its requester's first words."""
    first = (
        Message.objects.filter(ticket=ticket, internal=False)
        .order_by("created_at", "id")
        .values_list("body_text", flat=True)
        .first()
    )
    return f"{ticket.subject}\n{(first or '')[:2000]}".strip()


def create_from_ticket(ticket: Ticket, *, acting_user: User, **fields: Any) -> Problem:
    """A problem titled and described from the ticket, linked to it."""
    fields.setdefault("title", ticket.subject[:200])
    fields.setdefault("description", ticket_text(ticket))
    return create_problem(acting_user=acting_user, tickets=[ticket], **fields)


# -- reporting to development -------------------------------------------------------------


def default_tracker() -> Tracker | None:
    return Tracker.objects.filter(active=True).order_by("pk").first()


@transaction.atomic
def report_to_development(
    problem: Problem, *, acting_user: User, tracker: Tracker | None = None
) -> BugReport:
    """Queue a bug report for the tracker (the first active one unless named); delivered
    by the job problems.deliver_bug after commit."""
    _require_agent(acting_user)
    problem = Problem.objects.select_for_update().get(pk=problem.pk)
    if problem.bug_key:
        raise Conflict(_("The problem was already reported as %(key)s.") % {"key": problem.bug_key})
    tracker = tracker or default_tracker()
    if tracker is None or not tracker.active:
        raise InvalidInput(
            _("No development tracker is configured; an administrator adds one in the admin.")
        )
    try:
        with transaction.atomic():
            report = BugReport.objects.create(
                problem=problem, tracker=tracker, requested_by=acting_user
            )
    except IntegrityError:
        raise Conflict(_("A report of this problem is being sent already.")) from None
    from .tasks import deliver_bug

    deliver_bug.enqueue(report.pk)
    return report


@transaction.atomic
def report_ticket(
    ticket: Ticket,
    *,
    acting_user: User,
    problem: Problem | None = None,
    tracker: Tracker | None = None,
) -> BugReport:
    """ "Report to development" from a ticket: through the given problem (the ticket is
    linked to it), its only linked problem, or a new problem made from the ticket; with
    several linked problems the agent is asked to choose."""
    _require_agent(acting_user)
    if problem is None:
        linked = list(Problem.objects.filter(ticket_links__ticket=ticket)[:2])
        if len(linked) > 1:
            raise InvalidInput(_("The ticket is linked to several problems: choose one."))
        problem = linked[0] if linked else create_from_ticket(ticket, acting_user=acting_user)
    link_ticket(problem, ticket, acting_user=acting_user)
    return report_to_development(problem, acting_user=acting_user, tracker=tracker)


@transaction.atomic
def retry_report(report: BugReport, *, acting_user: User) -> BugReport:
    """Try a failed delivery again, with a fresh set of attempts."""
    _require_agent(acting_user)
    if report.status != DeliveryStatus.FAILED:
        raise Conflict(_("Only a failed report can be sent again."))
    if Problem.objects.filter(pk=report.problem_id).exclude(bug_key="").exists():
        raise Conflict(_("The problem was already reported."))
    try:
        with transaction.atomic():
            updated = BugReport.objects.filter(pk=report.pk, status=DeliveryStatus.FAILED).update(
                status=DeliveryStatus.PENDING, attempts=0, requested_by=acting_user
            )
    except IntegrityError:
        raise Conflict(_("A report of this problem is being sent already.")) from None
    if updated:
        from .tasks import deliver_bug

        deliver_bug.enqueue(report.pk)
    report.refresh_from_db()
    return report


def _report_for(problem: Problem) -> trackers.Report:
    numbers = list(
        Ticket.objects.filter(problem_links__problem=problem)
        .order_by("number")
        .values_list("number", flat=True)[:200]
    )
    url = settings.SITE_URL.rstrip("/") + problem.get_absolute_url()
    with translation.override(settings.LANGUAGE_CODE):
        body = render_to_string(
            "problems/bug_report.txt", {"problem": problem, "numbers": numbers, "url": url}
        )
    return trackers.Report(
        title=problem.title,
        body=body.strip(),
        problem_id=problem.pk,
        problem_url=url,
        status=problem.status,
        tickets=numbers,
    )


def deliver(report_id: int) -> str:
    """The job problems.deliver_bug: file the bug; "sent", "failed", or "skipped".

    1. Only a pending report of a problem without a bug is sent (a rerun sends nothing).
    2. The tracker is called outside any transaction.
    3. Success: the bug's key and URL go on the problem, each linked ticket gets a
       BUG_REPORTED event. TrackerUnavailable with attempts left is raised again for
       the job to retry later; anything else fails the report, for an agent to see.
    """
    report = (
        BugReport.objects.select_related("problem", "tracker", "requested_by")
        .filter(pk=report_id)
        .first()
    )
    if report is None or report.status != DeliveryStatus.PENDING:
        return "skipped"
    problem = report.problem
    if problem.bug_key:
        BugReport.objects.filter(pk=report.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now()
        )
        return "skipped"
    attempts = report.attempts + 1
    try:
        created = trackers.adapter(report.tracker).create(_report_for(problem))
    except trackers.TrackerError as error:
        again = isinstance(error, trackers.TrackerUnavailable) and attempts < MAX_DELIVERY_ATTEMPTS
        BugReport.objects.filter(pk=report.pk, status=DeliveryStatus.PENDING).update(
            attempts=attempts,
            last_error=str(error)[:2000],
            status=DeliveryStatus.PENDING if again else DeliveryStatus.FAILED,
        )
        if again:
            raise
        log.warning("Bug report %s failed for good: %s", report.pk, error)
        return "failed"
    except Exception:
        # A bug of ours: the report fails visibly (with "try again"), the job with its trace.
        BugReport.objects.filter(pk=report.pk, status=DeliveryStatus.PENDING).update(
            attempts=attempts,
            last_error=_("Unexpected error; the administrators see it in the background jobs."),
            status=DeliveryStatus.FAILED,
        )
        raise
    _record_bug(report, created, attempts)
    return "sent"


@transaction.atomic
def _record_bug(report: BugReport, created: trackers.CreatedBug, attempts: int) -> None:
    now = timezone.now()
    # The link is shown on pages: only a web address, never javascript: or the like.
    url = created.url if created.url.lower().startswith(("https://", "http://")) else ""
    Problem.objects.filter(pk=report.problem_id).update(
        tracker=report.tracker,
        bug_key=created.key[:100].replace("\x00", ""),
        bug_url=url[:500],
        bug_state=BugState.OPEN,
        bug_checked_at=now,
        updated_at=now,
    )
    BugReport.objects.filter(pk=report.pk).update(
        status=DeliveryStatus.SENT, attempts=attempts, sent_at=now, last_error=""
    )
    summary = _("Reported to development as %(key)s") % {"key": created.key}
    for ticket in Ticket.objects.filter(problem_links__problem_id=report.problem_id):
        ticket_services.log_event(
            ticket,
            acting_user=report.requested_by,
            kind=EventKind.BUG_REPORTED,
            summary=summary,
            problem_id=report.problem_id,
            bug=created.key,
            url=url,
        )


# -- the bug's state coming back ---------------------------------------------------------


@transaction.atomic
def set_bug_state(problem: Problem, state: str) -> bool:
    """Record the bug's state; True when it changed. Fixed: every linked ticket gets a
    BUG_FIXED event and, when the problem says so, its requester a mail (once)."""
    problem = Problem.objects.select_for_update().get(pk=problem.pk)
    now = timezone.now()
    if not problem.bug_key or state == problem.bug_state:
        Problem.objects.filter(pk=problem.pk).update(bug_checked_at=now)
        return False
    fixed = state == BugState.FIXED
    Problem.objects.filter(pk=problem.pk).update(
        bug_state=state, bug_fixed_at=now if fixed else None, bug_checked_at=now, updated_at=now
    )
    if not fixed:
        return True
    summary = _("Development fixed %(key)s") % {"key": problem.bug_key}
    for ticket in Ticket.objects.filter(problem_links__problem=problem).select_related("requester"):
        ticket_services.log_event(
            ticket,
            acting_user=None,
            kind=EventKind.BUG_FIXED,
            summary=summary,
            problem_id=problem.pk,
            bug=problem.bug_key,
        )
        if problem.notify_when_fixed:
            _tell_requester(problem, ticket)
    return True


def _tell_requester(problem: Problem, ticket: Ticket) -> int:
    from soporte.mail.outbound import record_templated

    languages = {code for code, _name in settings.LANGUAGES}
    language = ticket.requester.language if ticket.requester.language in languages else None
    context = {"problem": problem, "ticket": ticket, "public": public_workaround(problem)}
    with translation.override(language or settings.LANGUAGE_CODE):
        subject = render_to_string("problems/mail/fixed_subject.txt", context).strip()
        body = render_to_string("problems/mail/fixed.txt", context).strip()
    key = f"problems.fixed:{problem.pk}:{problem.bug_key}"
    return record_templated(ticket.pk, "requester", subject, body, key)


def receive_webhook(
    tracker_id: int, *, headers: Mapping[str, str], query: Mapping[str, str], body: bytes
) -> int:
    """A tracker's status webhook: checked, read, applied. Returns how many problems
    changed. 404 for an unknown or inactive tracker, 401 without a signature, 403 with a
    wrong one, 400 for a body the tracker would not send."""
    tracker = Tracker.objects.filter(pk=tracker_id, active=True).first()
    if tracker is None:
        raise NotFound(_("No tracker %(id)s.") % {"id": tracker_id})
    try:
        trackers.verify(tracker, headers, query, body)
    except trackers.SignatureMissing:
        raise Unauthorized(_("The webhook is not signed.")) from None
    except trackers.SignatureInvalid:
        raise PermissionDenied(_("The webhook's signature does not match.")) from None
    except trackers.TrackerRefused as error:
        log.error("Webhook for tracker %s cannot be checked: %s", tracker.pk, error)
        raise PermissionDenied(_("The webhook cannot be checked.")) from None
    try:
        updates = trackers.parse_webhook(tracker, headers, body)
    except trackers.MalformedWebhook as error:
        from soporte.lib.errors import BadRequest

        raise BadRequest(str(error)) from None
    changed = 0
    for update in updates:
        for problem in Problem.objects.filter(tracker=tracker, bug_key=update.key):
            changed += set_bug_state(problem, update.state)
    return changed


def poll_bugs(limit: int = POLL_BATCH) -> int:
    """The periodic fallback: ask the trackers about open bugs, least recently checked
    first. Returns how many changed state; a tracker that fails is asked again later."""
    due = (
        Problem.objects.filter(tracker__active=True, bug_state=BugState.OPEN)
        .exclude(bug_key="")
        .select_related("tracker")
        .order_by(F("bug_checked_at").asc(nulls_first=True), "pk")[:limit]
    )
    changed = 0
    for problem in list(due):
        if problem.tracker is None:  # the filter above says otherwise; for the type checker
            continue
        try:
            state = trackers.adapter(problem.tracker).state(problem.bug_key)
        except trackers.TrackerError as error:
            log.warning("Bug %s of problem %s not checked: %s", problem.bug_key, problem.pk, error)
            state = None
        if state is None:
            Problem.objects.filter(pk=problem.pk).update(bug_checked_at=timezone.now())
            continue
        changed += set_bug_state(problem, state)
    return changed


# -- what tickets show -------------------------------------------------------------------


def public_workaround(problem: Problem) -> str:
    """The workaround a requester may read: a known error's, when it is public."""
    if problem.status == ProblemStatus.KNOWN_ERROR and problem.workaround_public:
        return problem.workaround
    return ""


def problems_of(ticket: Ticket) -> list[Problem]:
    return list(
        Problem.objects.filter(ticket_links__ticket=ticket)
        .select_related("tracker")
        .order_by("-updated_at", "-pk")
    )


def public_workarounds(ticket: Ticket) -> list[Problem]:
    """The known errors of a ticket whose workaround its requester may read."""
    return list(
        Problem.objects.filter(
            ticket_links__ticket=ticket, status=ProblemStatus.KNOWN_ERROR, workaround_public=True
        )
        .exclude(workaround="")
        .only("title", "workaround")
        .order_by("pk")
    )


def failed_reports(problems: Iterable[Problem]) -> list[BugReport]:
    ids = [problem.pk for problem in problems]
    if not ids:
        return []
    return list(
        BugReport.objects.filter(problem_id__in=ids)
        .filter(Q(status=DeliveryStatus.FAILED) | Q(status=DeliveryStatus.PENDING, attempts__gt=0))
        .select_related("tracker", "problem")
    )


SIMILAR_WORDS = 12


def similar_known_errors(user: User, ticket: Ticket, *, limit: int = 5) -> list[Problem]:
    """Known errors not linked to the ticket that share words with its subject and first
    message, best first (from the search index)."""
    from soporte.search.objects import object_scope, search_objects
    from soporte.search.text import Query, parse_query

    from .indexing import KIND

    if not user.is_agent:
        return []
    parsed = parse_query(ticket_text(ticket)[:2000])
    query = Query(words=parsed.words[:SIMILAR_WORDS], terms=parsed.terms[:SIMILAR_WORDS])
    if not query:
        return []
    allowed = Problem.objects.filter(status=ProblemStatus.KNOWN_ERROR).exclude(
        ticket_links__ticket=ticket
    )
    scope = object_scope(allowed, include_internal=True)
    if scope is None:
        return []
    hits = search_objects(KIND, query, scope, limit=limit, any_word=True)
    found = Problem.objects.in_bulk([hit.object_id for hit in hits])
    return [found[hit.object_id] for hit in hits if hit.object_id in found]
