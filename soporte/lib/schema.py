"""Input types shared by the API schemas: bounded, NUL-free, timezone-aware.

Bounds mirror the database columns so that no input reaches the database in a shape
it would reject with an error (which would be a 500)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, Field


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


def _aware(value: datetime) -> datetime:
    # A time without a zone is taken as UTC rather than guessed from the server. Others
    # become UTC too: Python allows offsets up to ±23:59, PostgreSQL refuses past ±15:59.
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


def text(max_length: int, min_length: int = 0):
    return Annotated[
        str, Field(min_length=min_length, max_length=max_length), AfterValidator(_no_nul)
    ]


MAX_DB_INT = 2_147_483_647
Id = Annotated[int, Field(ge=1, le=2**53)]
Number = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
Version = Annotated[int, Field(ge=1, le=MAX_DB_INT)]
AwareDatetime = Annotated[
    datetime,
    Field(ge=datetime(1970, 1, 1, tzinfo=UTC), le=datetime(9999, 1, 1, tzinfo=UTC)),
    AfterValidator(_aware),
]
Subject = text(250, 1)
Body = text(200_000)
Name = text(200)
