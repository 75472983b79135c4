"""SLA calendars and policies (agents read, admins write) and a ticket's SLA state."""

from __future__ import annotations

from datetime import date, datetime, time

from django.http import HttpRequest
from ninja import Router, Schema
from ninja import Status as HttpStatus
from pydantic import Field, field_validator

from soporte.accounts import policy
from soporte.accounts.models import Organization, Team
from soporte.lib.errors import InvalidInput, NotFound
from soporte.lib.schema import Id, Number, text
from soporte.tickets.models import Category, Channel, Priority

from . import services
from .models import BusinessCalendar, OnBreach, Rule, SlaClock, SlaPolicy, Trigger

router = Router(tags=["sla"])


class ShiftIO(Schema):
    weekday: int = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday")
    starts: time
    ends: time = Field(description="00:00 = midnight at the end of the day")

    @field_validator("starts", "ends")
    @classmethod
    def _local_time(cls, value: time) -> time:
        # Working hours are wall-clock times in the calendar's own timezone.
        if value.tzinfo is not None:
            raise ValueError("give a local time without a UTC offset (the calendar has a zone)")
        return value


class HolidayIO(Schema):
    date: date
    name: text(100) = ""
    yearly: bool = False


class CalendarIn(Schema):
    name: text(100, 1)
    time_zone: text(64, 1) = "UTC"
    hours: list[ShiftIO] = Field(default_factory=list, max_length=200)
    holidays: list[HolidayIO] = Field(default_factory=list, max_length=1000)


class CalendarOut(Schema):
    id: int
    name: str
    time_zone: str
    hours: list[ShiftIO]
    holidays: list[HolidayIO]

    @staticmethod
    def resolve_hours(obj) -> list:
        return list(obj.hours.all())

    @staticmethod
    def resolve_holidays(obj) -> list:
        return list(obj.holidays.all())


class PolicyPatch(Schema):
    name: text(100, 1) | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)
    active: bool | None = None
    organization_id: Id | None = None
    priority: Priority | None = None
    category_id: Id | None = None
    channel: Channel | None = None
    team_id: Id | None = None
    calendar_id: Id | None = None
    first_response_minutes: int | None = Field(None, ge=1, le=10_000_000)
    next_response_minutes: int | None = Field(None, ge=1, le=10_000_000)
    resolution_minutes: int | None = Field(None, ge=1, le=10_000_000)
    l1_minutes: int | None = Field(None, ge=1, le=10_000_000)
    l2_minutes: int | None = Field(None, ge=1, le=10_000_000)
    l3_minutes: int | None = Field(None, ge=1, le=10_000_000)
    pause_statuses: list[str] | None = Field(None, max_length=2)
    warn_percent: int | None = Field(None, ge=1, le=100)
    on_breach: OnBreach | None = None


class PolicyIn(PolicyPatch):
    name: text(100, 1)


class PolicyOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    organization_id: int | None
    priority: str
    category_id: int | None
    channel: str
    team_id: int | None
    calendar_id: int | None
    first_response_minutes: int | None
    next_response_minutes: int | None
    resolution_minutes: int | None
    l1_minutes: int | None
    l2_minutes: int | None
    l3_minutes: int | None
    pause_statuses: list[str]
    warn_percent: int
    on_breach: str


class ClockOut(Schema):
    policy: str | None
    paused: bool
    first_response_due: datetime | None
    next_response_due: datetime | None
    resolution_due: datetime | None
    tier_due: datetime | None
    warned: list[str]
    breached: list[str]

    @staticmethod
    def resolve_policy(obj) -> str | None:
        return obj.policy.name if obj.policy_id else None


_RELATIONS = {
    "organization_id": ("organization", Organization),
    "category_id": ("category", Category),
    "team_id": ("team", Team),
    "calendar_id": ("calendar", BusinessCalendar),
}


# Fields that cannot be empty: null means "leave as it is" (or the default when creating).
NOT_NULL = frozenset({"name", "position", "active", "pause_statuses", "warn_percent", "on_breach"})


def _policy_fields(data: dict) -> dict:
    """Schema fields -> model fields: ids become rows (a missing one is a 422), blank
    choices become '', null for a field that needs a value is ignored."""
    fields = {}
    for key, value in data.items():
        if value is None and key in NOT_NULL:
            continue
        if key in _RELATIONS:
            name, model = _RELATIONS[key]
            row = model.objects.filter(pk=value).first() if value is not None else None
            if value is not None and row is None:
                raise InvalidInput(f"{name} {value} does not exist.")
            fields[name] = row
        elif key in ("priority", "channel"):
            fields[key] = value or ""
        else:
            fields[key] = value
    return fields


def _shifts(body: CalendarIn) -> tuple[list, list]:
    hours = [services.Shift(s.weekday, s.starts, s.ends) for s in body.hours]
    holidays = [services.HolidayIn(h.date, h.name, h.yearly) for h in body.holidays]
    return hours, holidays


def _calendar(calendar_id: int) -> BusinessCalendar:
    calendar = BusinessCalendar.objects.filter(pk=calendar_id).first()
    if calendar is None:
        raise NotFound(f"No calendar {calendar_id}.")
    return calendar


@router.get("/calendars", response=list[CalendarOut], summary="Business calendars")
def calendars(request: HttpRequest):
    policy.require_agent(request.auth)
    return BusinessCalendar.objects.prefetch_related("hours", "holidays")[:500]


@router.post("/calendars", response={201: CalendarOut}, summary="Create a calendar (admins)")
def create_calendar(request: HttpRequest, body: CalendarIn):
    hours, holidays = _shifts(body)
    calendar = services.save_calendar(
        acting_user=request.auth, name=body.name, time_zone=body.time_zone, hours=hours,
        holidays=holidays,
    )  # fmt: skip
    return HttpStatus(201, calendar)


@router.put("/calendars/{calendar_id}", response=CalendarOut, summary="Replace a calendar")
def replace_calendar(request: HttpRequest, calendar_id: Id, body: CalendarIn):
    policy.require_admin(request.auth)
    hours, holidays = _shifts(body)
    return services.save_calendar(
        acting_user=request.auth, name=body.name, time_zone=body.time_zone, hours=hours,
        holidays=holidays, calendar=_calendar(calendar_id),
    )  # fmt: skip


@router.get("/policies", response=list[PolicyOut], summary="SLA policies, in the order tried")
def policies(request: HttpRequest):
    policy.require_agent(request.auth)
    return SlaPolicy.objects.all()[:500]


@router.post("/policies", response={201: PolicyOut}, summary="Create a policy (admins)")
def create_policy(request: HttpRequest, body: PolicyIn):
    policy.require_admin(request.auth)
    fields = _policy_fields(body.model_dump(exclude_unset=True))
    return HttpStatus(201, services.save_policy(acting_user=request.auth, **fields))


@router.patch("/policies/{policy_id}", response=PolicyOut, summary="Change a policy (admins)")
def change_policy(request: HttpRequest, policy_id: Id, body: PolicyPatch):
    policy.require_admin(request.auth)
    found = SlaPolicy.objects.filter(pk=policy_id).first()
    if found is None:
        raise NotFound(f"No SLA policy {policy_id}.")
    fields = _policy_fields(body.model_dump(exclude_unset=True))
    return services.save_policy(acting_user=request.auth, sla_policy=found, **fields)


@router.get("/tickets/{number}", response=ClockOut, summary="A ticket's SLA due times (agents)")
def ticket_clock(request: HttpRequest, number: Number):
    policy.require_agent(request.auth)
    ticket = policy.get_visible_ticket(request.auth, number)
    clock = SlaClock.objects.filter(ticket=ticket).select_related("policy").first()
    if clock is None:
        raise NotFound(f"Ticket #{number} has no SLA clock.")
    return clock


# -- automation rules (admins) ------------------------------------------------------


class RulePatch(Schema):
    name: text(100, 1) | None = None
    position: int | None = Field(None, ge=0, le=1_000_000)
    active: bool | None = None
    trigger: Trigger | None = None
    hours: int | None = Field(None, ge=1, le=24 * 365)
    conditions: list[dict] | None = Field(None, max_length=50)
    actions: list[dict] | None = Field(None, max_length=20)


class RuleIn(RulePatch):
    name: text(100, 1)
    trigger: Trigger
    actions: list[dict] = Field(max_length=20)


class RuleOut(Schema):
    id: int
    name: str
    position: int
    active: bool
    trigger: str
    hours: int | None
    conditions: list[dict]
    actions: list[dict]


def _rule(rule_id: int) -> Rule:
    found = Rule.objects.filter(pk=rule_id).first()
    if found is None:
        raise NotFound(f"No rule {rule_id}.")
    return found


@router.get("/rules", response=list[RuleOut], summary="Automation rules, in order (admins)")
def rules(request: HttpRequest):
    policy.require_admin(request.auth)
    return Rule.objects.all()[:500]


def _rule_fields(body: RulePatch) -> dict:
    """Null means "leave as it is" for every field but the hours of a timed rule."""
    data = body.model_dump(exclude_unset=True)
    return {key: value for key, value in data.items() if value is not None or key == "hours"}


@router.post("/rules", response={201: RuleOut}, summary="Create an automation rule (admins)")
def create_rule(request: HttpRequest, body: RuleIn):
    fields = _rule_fields(body)
    return HttpStatus(201, services.save_rule(acting_user=request.auth, **fields))


@router.patch("/rules/{rule_id}", response=RuleOut, summary="Change an automation rule")
def change_rule(request: HttpRequest, rule_id: Id, body: RulePatch):
    policy.require_admin(request.auth)
    fields = _rule_fields(body)
    return services.save_rule(acting_user=request.auth, rule=_rule(rule_id), **fields)


@router.delete("/rules/{rule_id}", response={204: None}, summary="Delete an automation rule")
def delete_rule(request: HttpRequest, rule_id: Id):
    policy.require_admin(request.auth)
    services.delete_rule(_rule(rule_id), acting_user=request.auth)
    return HttpStatus(204, None)
