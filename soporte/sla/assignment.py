"""Who gets a ticket that arrives in a team without an assignee: round-robin or the least
loaded member, never an agent marked away."""

from __future__ import annotations

from django.db.models import Count

from soporte.accounts.models import Assignment, Role, Team, User
from soporte.tickets.models import ACTIVE_STATUSES, Ticket

AGENT_ROLES = (Role.AGENT, Role.SUPERVISOR, Role.ADMIN)


def available_members(team: Team) -> list[User]:
    return list(
        team.members.filter(is_active=True, away=False, role__in=AGENT_ROLES).order_by("pk")
    )


def choose_assignee(team: Team, strategy: str) -> User | None:
    """The member the strategy picks (None when nobody is available). Round-robin locks
    the team row so two tickets arriving at once go to two people."""
    members = available_members(team)
    if not members or strategy == Assignment.MANUAL:
        return None
    if strategy == Assignment.ROUND_ROBIN:
        last = (
            Team.objects.select_for_update()
            .filter(pk=team.pk)
            .values_list("last_assigned_id", flat=True)
            .first()
        )
        chosen = next((m for m in members if last is not None and m.pk > last), members[0])
        Team.objects.filter(pk=team.pk).update(last_assigned=chosen)
        return chosen
    loads = dict(
        Ticket.objects.filter(assignee__in=members, status__in=ACTIVE_STATUSES)
        .values_list("assignee")
        .annotate(open=Count("pk"))
        .order_by()
    )
    return min(members, key=lambda member: (loads.get(member.pk, 0), member.pk))
