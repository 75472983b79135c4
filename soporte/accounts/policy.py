"""Who may see and do what. Every read of tickets for a person goes through here.

- Admins and supervisors see every ticket.
- Agents see tickets of their teams, tickets assigned to them, and tickets no team owns yet.
- Requesters see tickets they requested; tickets of their organization they watch; and all
  of their organization's tickets when the organization trusts them to
  (``sees_organization_tickets``). Never another organization's, never an internal message.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from soporte.lib.errors import NotFound, PermissionDenied
from soporte.tickets.models import Attachment, Message, Ticket

from .models import User


def team_ids(user: User) -> frozenset[int]:
    """The ids of the user's teams; one query, cached on the user object."""
    cached = getattr(user, "_soporte_team_ids", None)
    if cached is None:
        cached = frozenset(user.teams.values_list("id", flat=True))
        user._soporte_team_ids = cached  # type: ignore[attr-defined]
    return cached


def _requester_scope(user: User) -> Q:
    scope = Q(requester=user)
    if user.organization_id:
        if user.sees_organization_tickets:
            scope |= Q(organization_id=user.organization_id)
        else:
            # Tickets of the organization that watch this person, as a subquery on the
            # watchers table (its user index) rather than a join: no repeated rows, and the
            # organization's other tickets are never read.
            watching = Ticket.watchers.through.objects.filter(
                user=user, ticket__organization_id=user.organization_id
            )
            scope |= Q(pk__in=watching.values("ticket_id"))
    return scope


def visible_tickets(user: User) -> QuerySet[Ticket]:
    """The tickets this person may see. The only way to list tickets for a person."""
    tickets = Ticket.objects.all()
    if not user.is_authenticated or not user.is_active:
        return tickets.none()
    if user.is_supervisor:
        return tickets
    if user.is_agent:
        return tickets.filter(
            Q(team_id__in=team_ids(user)) | Q(assignee=user) | Q(team__isnull=True)
        )
    return tickets.filter(_requester_scope(user))


def can_view(user: User, ticket: Ticket) -> bool:
    """The same rule as visible_tickets, for one loaded ticket (no query for most users)."""
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_supervisor:
        return True
    if user.is_agent:
        return (
            ticket.team_id is None
            or ticket.team_id in team_ids(user)
            or ticket.assignee_id == user.id
        )
    if ticket.requester_id == user.id:
        return True
    if not user.organization_id or ticket.organization_id != user.organization_id:
        return False
    return user.sees_organization_tickets or ticket.watchers.filter(pk=user.pk).exists()


def get_visible_ticket(user: User, number: int) -> Ticket:
    """The ticket with this number, or NotFound when it does not exist *or* is hidden."""
    ticket = (
        visible_tickets(user)
        .select_related("requester", "assignee", "team", "organization", "category")
        .filter(number=number)
        .first()
    )
    if ticket is None:
        raise NotFound(_("Ticket #%(number)s not found.") % {"number": number})
    return ticket


def visible_messages(user: User, ticket: Ticket) -> QuerySet[Message]:
    messages = ticket.messages.all()
    return messages if user.is_agent else messages.filter(internal=False)


def visible_attachments(user: User, ticket: Ticket) -> QuerySet[Attachment]:
    attachments = ticket.attachments.all()
    return attachments if user.is_agent else attachments.filter(internal=False)


def require_agent(user: User) -> None:
    if not user.is_agent:
        raise PermissionDenied(_("Only agents may do this."))


def require_admin(user: User) -> None:
    if not user.is_admin:
        raise PermissionDenied(_("Only administrators may do this."))


def require_view(user: User, ticket: Ticket) -> None:
    if not can_view(user, ticket):
        # Hidden tickets look absent, so their numbers do not leak.
        raise NotFound(_("Ticket #%(number)s not found.") % {"number": ticket.number})


def require_work(user: User, ticket: Ticket) -> None:
    """Agent actions: the person must be an agent who can see the ticket."""
    require_agent(user)
    require_view(user, ticket)
