"""The problems API (/api/v1/problems)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["problems"])
