"""The agent's own workspace: saved views, "who is replying" presence, and macros
(canned responses, shared or personal: who may use, create, change and delete them)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import Team, User
from soporte.lib.errors import Conflict, InvalidInput, NotFound, PermissionDenied

from . import macros
from .models import (
    MACRO_STATUSES,
    CannedResponse,
    Level,
    MacroAssign,
    MacroKind,
    Presence,
    SavedView,
    Status,
    Ticket,
)

PRESENCE_SECONDS = 30
_VIEW_KEYS = {"q", "status", "priority", "team", "tier", "assignee", "organization",
              "category", "tag", "sort"}  # fmt: skip


@transaction.atomic
def save_view(*, acting_user: User, name: str, query: dict[str, list[str]]) -> SavedView:
    policy.require_agent(acting_user)
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the view a name."))
    kept = [(k, v) for k, values in query.items() if k in _VIEW_KEYS for v in values if v]
    try:
        return SavedView.objects.create(
            owner=acting_user, name=name[:80], query=urlencode(kept)[:1000]
        )
    except IntegrityError:
        raise Conflict(_("You already have a view named %(name)s.") % {"name": name}) from None


@transaction.atomic
def delete_view(*, acting_user: User, view_id: int) -> None:
    deleted, _ = SavedView.objects.filter(pk=view_id, owner=acting_user).delete()
    if not deleted:
        raise NotFound(_("Saved view not found."))


def mark_composing(ticket: Ticket, *, acting_user: User) -> None:
    """Say that this agent is writing on the ticket (refreshed while they type)."""
    policy.require_work(acting_user, ticket)
    Presence.objects.update_or_create(
        ticket=ticket, user=acting_user, defaults={"seen_at": timezone.now()}
    )


def others_composing(ticket: Ticket, user: User) -> list[User]:
    since = timezone.now() - timedelta(seconds=PRESENCE_SECONDS)
    rows = Presence.objects.filter(ticket=ticket, seen_at__gte=since).exclude(user=user)
    return [row.user for row in rows.select_related("user")]


def clear_composing(ticket: Ticket, user: User) -> None:
    Presence.objects.filter(ticket=ticket, user=user).delete()


def canned_responses(user: User) -> QuerySet[CannedResponse]:
    """The macros this person may use: the shared ones and their own."""
    return CannedResponse.objects.filter(Q(owner__isnull=True) | Q(owner=user)).select_related(
        "team", "assignee"
    )


# -- macros -------------------------------------------------------------------------

MAX_MACRO_TEXT = 20_000
MAX_MACRO_TAGS = 20
_UNSET: Any = object()


def get_macro(user: User, macro_id: int) -> CannedResponse:
    """A macro this agent may use; someone else's personal macro looks absent."""
    policy.require_agent(user)
    macro = canned_responses(user).filter(pk=macro_id).first()
    if macro is None:
        raise NotFound(_("Macro not found."))
    return macro


def can_manage_macro(user: User, macro: CannedResponse) -> bool:
    """Agents manage their personal macros; supervisors and admins the shared ones."""
    if not user.is_agent:
        return False
    if macro.owner_id is None:
        return user.is_supervisor
    return macro.owner_id == user.pk


def _require_manage(user: User, *, shared: bool) -> None:
    policy.require_agent(user)
    if shared and not user.is_supervisor:
        raise PermissionDenied(_("Only supervisors and administrators manage shared macros."))


@transaction.atomic
def create_macro(
    *,
    acting_user: User,
    title: str,
    body: str = "",
    shared: bool = False,
    kind: str = MacroKind.REPLY,
    status: str = "",
    impact: str = "",
    urgency: str = "",
    team: Team | None = None,
    assign: str = "",
    assignee: User | None = None,
    tags: Iterable[str] = (),
) -> CannedResponse:
    """A personal macro of the acting agent, or a shared one (supervisors, admins)."""
    _require_manage(acting_user, shared=shared)
    macro = CannedResponse(owner=None if shared else acting_user)
    _fill(macro, title=title, body=body, kind=kind, status=status, impact=impact,
          urgency=urgency, team=team, assign=assign, assignee=assignee, tags=tags)  # fmt: skip
    macro.save(force_insert=True)
    return macro


@transaction.atomic
def update_macro(
    macro: CannedResponse,
    *,
    acting_user: User,
    title: str = _UNSET,
    body: str = _UNSET,
    shared: bool = _UNSET,
    kind: str = _UNSET,
    status: str = _UNSET,
    impact: str = _UNSET,
    urgency: str = _UNSET,
    team: Team | None = _UNSET,
    assign: str = _UNSET,
    assignee: User | None = _UNSET,
    tags: Iterable[str] = _UNSET,
) -> CannedResponse:
    """Change the given fields (the rest stay). Making a macro shared or personal needs
    the right to manage it both ways; a personal macro stays its owner's."""
    if not can_manage_macro(acting_user, macro):
        _require_manage(acting_user, shared=macro.owner_id is None)
        raise NotFound(_("Macro not found."))
    if shared is not _UNSET and bool(shared) != (macro.owner_id is None):
        _require_manage(acting_user, shared=True)
        macro.owner = None if shared else acting_user
    given = {
        "title": title, "body": body, "kind": kind, "status": status, "impact": impact,
        "urgency": urgency, "team": team, "assign": assign, "assignee": assignee, "tags": tags,
    }  # fmt: skip
    current = {
        "title": macro.title, "body": macro.body, "kind": macro.kind, "status": macro.status,
        "impact": macro.impact, "urgency": macro.urgency, "team": macro.team,
        "assign": macro.assign, "assignee": macro.assignee, "tags": macro.add_tags,
    }  # fmt: skip
    values: dict[str, Any] = {
        name: current[name] if value is _UNSET else value for name, value in given.items()
    }
    if values["assign"] != MacroAssign.AGENT and assignee is _UNSET:
        values["assignee"] = None
    _fill(macro, **values)
    macro.save()
    return macro


def check_macro(macro: CannedResponse) -> None:
    """The rules create_macro and update_macro apply, for a macro edited elsewhere (the
    admin): raises InvalidInput, else normalizes the macro's fields (not saved)."""
    tags = macro.add_tags
    if not isinstance(tags, list) or not all(isinstance(name, str) for name in tags):
        raise InvalidInput(_('Add tags: a list of names, e.g. ["vpn", "printer"].'))
    _fill(
        macro, title=macro.title, body=macro.body, kind=macro.kind, status=macro.status,
        impact=macro.impact, urgency=macro.urgency, team=macro.team, assign=macro.assign,
        assignee=macro.assignee, tags=tags,
    )  # fmt: skip


@transaction.atomic
def delete_macro(macro: CannedResponse, *, acting_user: User) -> None:
    if not can_manage_macro(acting_user, macro):
        _require_manage(acting_user, shared=macro.owner_id is None)
        raise NotFound(_("Macro not found."))
    macro.delete()


def _choice(value: str | None, allowed: Iterable[str], what: str) -> str:
    value = value or ""
    if value and value not in set(allowed):
        raise InvalidInput(_("%(what)s: %(value)s is not a valid choice.") % {
            "what": what, "value": value[:40]})  # fmt: skip
    return value


def _fill(
    macro: CannedResponse,
    *,
    title: str,
    body: str,
    kind: str,
    status: str,
    impact: str,
    urgency: str,
    team: Team | None,
    assign: str,
    assignee: User | None,
    tags: Iterable[str],
) -> None:
    """Check a macro's fields together and set them on it (not saved).

    1. A title; a text within the limit, with known placeholders only.
    2. Valid choices; "a specific agent" names an active agent, who serves the team the
       macro moves the ticket to.
    3. Resolving needs a public reply (it is the resolution summary the requester reads).
    4. It must do something: post a text or change a field.
    """
    title = (title or "").strip()
    if not title:
        raise InvalidInput(_("Give the macro a title."))
    if len(title) > 120:
        raise InvalidInput(_("The title is longer than 120 characters."))
    body = (body or "").strip()
    if len(body) > MAX_MACRO_TEXT:
        raise InvalidInput(
            _("The text is longer than %(max)s characters.") % {"max": MAX_MACRO_TEXT}
        )
    unknown = macros.unknown_placeholders(body)
    if unknown:
        raise InvalidInput(macros.unknown_error(unknown))
    kind = _choice(kind, MacroKind.values, _("Post the text as")) or MacroKind.REPLY
    status = _choice(status, MACRO_STATUSES, _("Status"))
    impact = _choice(impact, Level.values, _("Impact"))
    urgency = _choice(urgency, Level.values, _("Urgency"))
    assign = _choice(assign, MacroAssign.values, _("Assign to"))
    if assign == MacroAssign.AGENT:
        if assignee is None:
            raise InvalidInput(_("Choose the agent the macro assigns to."))
        if not assignee.is_active or not assignee.is_agent:
            raise InvalidInput(_("%(who)s must be an active agent.") % {"who": assignee})
        if (
            team is not None
            and not assignee.is_supervisor
            and team.pk not in policy.team_ids(assignee)
        ):
            raise InvalidInput(
                _("%(agent)s is not a member of the team %(team)s.")
                % {"agent": assignee, "team": team}
            )
    else:
        assignee = None
    names = _clean_tags(tags)
    if status == Status.RESOLVED and not (body and kind == MacroKind.REPLY):
        raise InvalidInput(
            _("A macro that resolves needs a public reply: it becomes the resolution summary.")
        )
    macro.title, macro.body, macro.kind = title, body, kind
    macro.status, macro.impact, macro.urgency = status, impact, urgency
    macro.team, macro.assign, macro.assignee, macro.add_tags = team, assign, assignee, names
    if not body and not macro.changes_fields:
        raise InvalidInput(_("A macro needs a text or at least one change."))


def _clean_tags(tags: Iterable[str]) -> list[str]:
    names: list[str] = []
    for tag in tags or ():
        name = (tag or "").strip().lower()
        if not name:
            continue
        if len(name) > 50:
            raise InvalidInput(
                _("The tag %(tag)s… is longer than 50 characters.") % {"tag": name[:20]}
            )
        if name not in names:
            names.append(name)
    if len(names) > MAX_MACRO_TAGS:
        raise InvalidInput(_("A macro adds at most %(max)s tags.") % {"max": MAX_MACRO_TAGS})
    return names
