"""Demo flows for `soporte demo`: the examples shipped in examples/ (two in English, one
in Spanish), imported as the supervisor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from soporte.tickets import demo

from . import services

EXAMPLES = Path(__file__).resolve().parent / "examples"


def load_examples(acting_user=None) -> list:
    flows = []
    for path in sorted(EXAMPLES.glob("*.yaml")):
        flow, _changed = services.import_flow(path.read_bytes(), acting_user=acting_user)
        flows.append(flow)
    return flows


@demo.register
def load(context: dict[str, Any]) -> None:
    load_examples(context["people"]["supervisor"])
