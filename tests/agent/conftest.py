"""The agent is its own package (agent/, installable alone); the suite imports it from
the source tree."""

from __future__ import annotations

import sys
from pathlib import Path

AGENT_DIR = Path(__file__).resolve().parents[2] / "agent"
RECORDED = Path(__file__).resolve().parent / "recorded"

if str(AGENT_DIR) not in sys.path:
    sys.path.insert(0, str(AGENT_DIR))
