"""The flows API (/api/v1/flows)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["flows"])
