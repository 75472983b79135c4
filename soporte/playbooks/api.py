"""The playbooks API (/api/v1/playbooks)."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["playbooks"])
