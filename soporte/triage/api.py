"""The triage API (/api/v1/triage)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["triage"])
