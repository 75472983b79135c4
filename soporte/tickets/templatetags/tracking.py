"""Time tracking and satisfaction bits other pages include: durations, the agent's
running timers (home) and the requester's rating (portal ticket page)."""

from __future__ import annotations

from django import template
from django.utils import timezone

from .. import satisfaction, timelog

register = template.Library()


@register.filter
def duration(seconds) -> str:
    """Seconds as "1h 30m"."""
    return timelog.format_duration(seconds)


@register.filter
def elapsed(since) -> str:
    """Time since a moment, as "1h 30m"."""
    if since is None:
        return ""
    return timelog.format_duration(max(0, int((timezone.now() - since).total_seconds())))


@register.inclusion_tag("tickets/desk/_running_timers.html", takes_context=True)
def running_timers(context) -> dict:
    from ..views.time import running_timers_for

    return {"timers": running_timers_for(context["user"])}


@register.inclusion_tag("tickets/portal/_rating.html", takes_context=True)
def portal_rating(context, ticket) -> dict:
    """The requester's rating of the ticket, and whether they may rate (again)."""
    user = context["user"]
    rating = satisfaction.ratings_of(ticket).first() if ticket.resolved_at else None
    if rating is not None and rating.resolved_at != ticket.resolved_at:
        rating = None  # an earlier resolution's; this one is not rated yet
    return {
        "ticket": ticket,
        "rating": rating,
        "rate_url": satisfaction.requester_survey_url(user, ticket),
    }
