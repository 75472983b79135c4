"""Preventive maintenance: plans recur by an RFC 5545 RRULE; `lead_days` before each due
date a ticket per asset opens with the plan's checklist; completing the task records the
checklist's results in the asset's history and resolves the ticket."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from dateutil.rrule import DAILY, MONTHLY, WEEKLY, YEARLY, rrule, rrulestr
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy as ticket_policy
from soporte.accounts.models import Team, User
from soporte.lib.errors import Conflict, InvalidInput, NotFound, ServiceError
from soporte.tickets import services as tickets
from soporte.tickets.models import ACTIVE_STATUSES, Channel

from . import policy
from .models import (
    Asset,
    AssetStatus,
    AssetType,
    EventKind,
    Location,
    MaintenancePlan,
    MaintenanceTask,
    TaskStatus,
    TicketAsset,
)
from .services import History

log = logging.getLogger(__name__)

DEFAULT_CHECKLIST = [
    "Clean (dust, fans, keyboard)",
    "Operating system updates",
    "Antivirus scan",
    "Backup check",
    "Disk health",
]
MAX_OCCURRENCES = 50
# A missed run (server down), or a plan whose first occurrence is past, still opens
# what came due this long ago.
CATCH_UP = timedelta(days=7)


def parse_rule(text: str, starts_at: datetime) -> rrule:
    """The RRULE (with or without its "RRULE:" prefix) from `starts_at`; at most daily."""
    text = (text or "").strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    if not text or len(text) > 500 or "\n" in text or "\x00" in text:
        raise InvalidInput(_("Give the recurrence as an RRULE, e.g. FREQ=MONTHLY;BYDAY=1MO."))
    try:
        rule = rrulestr(text, dtstart=starts_at)
    except (ValueError, TypeError, KeyError, OverflowError) as error:
        raise InvalidInput(
            _("The recurrence is not a valid RRULE: %(error)s") % {"error": str(error)[:200]}
        ) from None
    if not isinstance(rule, rrule) or rule._freq not in (YEARLY, MONTHLY, WEEKLY, DAILY):
        raise InvalidInput(_("Maintenance recurs at most daily (FREQ=DAILY or longer)."))
    return rule


def _clean_checklist(items: Any) -> list[str]:
    if not isinstance(items, list) or not items:
        raise InvalidInput(_("The checklist needs at least one item."))
    cleaned = []
    for item in items:
        text = str(item).strip()
        if not text or len(text) > 200 or "\x00" in text:
            raise InvalidInput(_("Each checklist item has 1 to 200 characters."))
        if text not in cleaned:
            cleaned.append(text)
    if len(cleaned) > 50:
        raise InvalidInput(_("A checklist has at most 50 items."))
    return cleaned


@transaction.atomic
def save_plan(
    *,
    acting_user: User,
    name: str,
    rrule_text: str,
    starts_at: datetime,
    checklist: list[str] | None = None,
    lead_days: int = 7,
    assets: list[Asset] | None = None,
    asset_type: AssetType | None = None,
    location: Location | None = None,
    team: Team | None = None,
    active: bool = True,
    plan: MaintenancePlan | None = None,
) -> MaintenancePlan:
    """Create or change a plan. It covers the chosen assets and, with a type and/or a
    location, every asset of that group (retired ones excepted)."""
    policy.require_edit(acting_user)
    name = (name or "").strip()
    if not name or len(name) > 200 or "\x00" in name:
        raise InvalidInput(_("The plan needs a name of at most 200 characters."))
    parse_rule(rrule_text, starts_at)
    if not 0 <= lead_days <= 365:
        raise InvalidInput(_("Tickets open 0 to 365 days ahead."))
    if not assets and asset_type is None and location is None and plan is None:
        raise InvalidInput(_("Choose assets, or a type or location for the plan to cover."))
    values = {
        "name": name,
        "rrule": rrule_text.strip().removeprefix("RRULE:"),
        "starts_at": starts_at,
        "lead_days": lead_days,
        "checklist": _clean_checklist(checklist if checklist is not None else DEFAULT_CHECKLIST),
        "asset_type": asset_type,
        "location": location,
        "team": team,
        "active": active,
    }
    if plan is None:
        plan = MaintenancePlan.objects.create(created_by=acting_user, **values)
    else:
        for key, value in values.items():
            setattr(plan, key, value)
        plan.save()
    if assets is not None:
        plan.assets.set(assets)
    return plan


def plan_assets(plan: MaintenancePlan) -> QuerySet[Asset]:
    """The assets a plan covers now."""
    group = Q(pk__in=plan.assets.values("pk"))
    if plan.asset_type_id or plan.location_id:
        grouped = Q()
        if plan.asset_type_id:
            grouped &= Q(type_id=plan.asset_type_id)
        if plan.location_id:
            grouped &= Q(location_id=plan.location_id)
        group |= grouped
    return Asset.objects.filter(group).exclude(status=AssetStatus.RETIRED)


def occurrences(plan: MaintenancePlan, start: datetime, end: datetime) -> list[datetime]:
    rule = parse_rule(plan.rrule, plan.starts_at)
    found = []
    for due in rule.xafter(start, inc=True):
        if due > end or len(found) >= MAX_OCCURRENCES:
            break
        found.append(due)
    return found


def open_due(now: datetime | None = None) -> int:
    """Open the maintenance tickets whose due date is within the plans' lead time; how
    many opened. Idempotent: a (plan, asset, due date) task is unique."""
    now = now or timezone.now()
    opened = 0
    for plan in MaintenancePlan.objects.filter(active=True).select_related("created_by", "team"):
        try:
            dues = occurrences(plan, now - CATCH_UP, now + timedelta(days=plan.lead_days))
        except InvalidInput:
            log.warning("Maintenance plan %s has an invalid RRULE", plan.pk)
            continue
        if not dues:
            continue
        asset_ids = list(plan_assets(plan).values_list("pk", flat=True))
        done = set(
            MaintenanceTask.objects.filter(plan=plan, due_at__in=dues).values_list(
                "asset_id", "due_at"
            )
        )
        for due in dues:
            for asset_id in asset_ids:
                if (asset_id, due) not in done and _open_task(plan, asset_id, due):
                    opened += 1
    return opened


def _open_task(plan: MaintenancePlan, asset_id: int, due: datetime) -> bool:
    author = plan.created_by
    if not author.is_active or not author.is_agent:
        log.warning("Maintenance plan %s: its author can no longer open tickets", plan.pk)
        return False
    try:
        with transaction.atomic():
            task = MaintenanceTask.objects.create(plan=plan, asset_id=asset_id, due_at=due)
            asset = Asset.objects.get(pk=asset_id)
            checklist = "\n".join(f"- [ ] {item}" for item in plan.checklist)
            ticket = tickets.open_ticket(
                acting_user=author,
                requester=author,
                subject=_("Maintenance: %(plan)s — %(asset)s, due %(due)s")
                % {"plan": plan.name, "asset": asset.tag, "due": f"{due:%Y-%m-%d}"},
                body=_("Preventive maintenance of %(asset)s (plan %(plan)s).\n\n%(list)s")
                % {"asset": asset, "plan": plan.name, "list": checklist},
                channel=Channel.API,
                team=plan.team,
                due_at=due,
                tags=["maintenance"],
            )
            task.ticket = ticket
            task.save(update_fields=["ticket"])
            TicketAsset.objects.create(ticket=ticket, asset=asset, linked_by=None)
            history = History(None)
            history.record(
                asset, EventKind.MAINTENANCE, field=plan.name[:50],
                new=f"#{ticket.number} due {due:%Y-%m-%d}",
            )  # fmt: skip
            history.save()
    except IntegrityError:
        return False  # another run opened it first
    return True


@transaction.atomic
def complete_task(
    task: MaintenanceTask,
    *,
    acting_user: User,
    results: dict[str, bool] | None = None,
    notes: str = "",
) -> MaintenanceTask:
    """Record what was done (checklist item -> done) and resolve the ticket."""
    policy.require_edit(acting_user)
    task = (
        MaintenanceTask.objects.select_for_update().select_related("plan", "asset").get(pk=task.pk)
    )
    if task.status == TaskStatus.DONE:
        raise Conflict(_("This maintenance was recorded as done already."))
    results = results or {}
    unknown = [item for item in results if item not in task.plan.checklist]
    if unknown:
        raise InvalidInput(_("%(item)s is not on the checklist.") % {"item": unknown[0][:100]})
    notes = (notes or "").strip()
    if len(notes) > 10_000 or "\x00" in notes:
        raise InvalidInput(_("The notes are longer than 10,000 characters."))
    task.results = {item: bool(results.get(item, False)) for item in task.plan.checklist}
    task.notes = notes
    task.status = TaskStatus.DONE
    task.completed_at = timezone.now()
    task.completed_by = acting_user
    task.save()
    done = sum(task.results.values())
    history = History(acting_user)
    history.record(
        task.asset, EventKind.MAINTENANCE, field=task.plan.name[:50],
        new=_("done: %(done)s of %(total)s items") % {"done": done, "total": len(task.results)},
        results=task.results,
    )  # fmt: skip
    history.save()
    ticket = task.ticket
    if ticket is not None and ticket.status in ACTIVE_STATUSES:
        summary = "\n".join(f"- [{'x' if ok else ' '}] {item}" for item, ok in task.results.items())
        try:
            ticket_policy.require_work(acting_user, ticket)
            tickets.resolve(
                ticket, acting_user=acting_user,
                resolution=(summary + ("\n\n" + notes if notes else ""))[:10_000],
            )  # fmt: skip
        except ServiceError as error:
            log.info("Maintenance ticket #%s left open: %s", ticket.number, error.message)
    return task


def get_task(task_id: int) -> MaintenanceTask:
    task = MaintenanceTask.objects.select_related("plan", "asset", "ticket").filter(pk=task_id)
    found = task.first()
    if found is None:
        raise NotFound(_("Maintenance task %(id)s not found.") % {"id": task_id})
    return found


def overdue(now: datetime | None = None) -> QuerySet[MaintenanceTask]:
    """Open maintenance whose due date has passed, the most overdue first."""
    now = now or timezone.now()
    return (
        MaintenanceTask.objects.filter(status=TaskStatus.OPEN, due_at__lt=now)
        .select_related("plan", "asset", "ticket")
        .order_by("due_at", "id")
    )
