"""Triage's background jobs (soporte/jobs): each takes ids and is idempotent."""

from __future__ import annotations

from soporte.jobs.registry import job


# Up to 200 at once: each batch reads its storm window and duplicate candidates once.
@job("triage.ticket", max_attempts=3, batched=True, batch_size=200)
def triage_ticket(calls: list[list[int]]) -> list[dict]:
    """Suggestions, duplicate check and storm detection for new tickets, after commit.
    Each run names one ticket; the runs a worker claims together are triaged at once
    (one model call, one storm window), in arrival order."""
    from .services import triage_tickets

    return triage_tickets([args[0] for args in calls])


@job("triage.train", max_attempts=2, timeout=3600.0)
def train(user_id: int | None = None) -> int | None:
    """Periodic, and on an administrator's request: a new model version from the history
    (none while the history is too small). Returns the version."""
    from soporte.accounts.models import User
    from soporte.lib.errors import InvalidInput

    from .services import train_model

    user = User.objects.filter(pk=user_id).first() if user_id else None
    try:
        return train_model(acting_user=user).version
    except InvalidInput:
        return None


@job("triage.embed", max_attempts=3, batched=True)
def embed(calls: list[list[int]]) -> None:
    """The sentence vector of tickets whose subject changed (soporte[semantic]), the
    runs a worker claims together embedded at once; a current vector is left alone."""
    from .services import embed_tickets

    embed_tickets([args[0] for args in calls])


@job("triage.embed_missing", max_attempts=1, timeout=3600.0)
def embed_missing() -> int:
    """Periodic: vectors for tickets that have none (those from before the extra was
    installed, or whose triage failed), EMBED_MISSING_LIMIT per run so a large backfill
    never holds a worker for long; `soporte triage_embed` does all of them at once."""
    from .services import EMBED_MISSING_LIMIT, embed_missing

    return embed_missing(limit=EMBED_MISSING_LIMIT)
