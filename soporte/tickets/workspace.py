"""The agent's own workspace state: saved views and "who is replying" presence."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import Conflict, InvalidInput, NotFound

from .models import CannedResponse, Presence, SavedView, Ticket

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
    return CannedResponse.objects.filter(Q(owner__isnull=True) | Q(owner=user))
