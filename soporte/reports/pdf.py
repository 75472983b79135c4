"""The weekly report as a PDF (fpdf2): the summary figures and each chart's table."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.utils.translation import gettext_lazy
from fpdf import FPDF

SUMMARY = (
    ("created", gettext_lazy("Opened")),
    ("resolved", gettext_lazy("Resolved")),
    ("backlog", gettext_lazy("Open now")),
    ("first_response_median_hours", gettext_lazy("First response, median (business hours)")),
    ("first_response_p90_hours", gettext_lazy("First response, p90 (business hours)")),
    ("resolution_median_hours", gettext_lazy("Resolution, median (business hours)")),
    ("resolution_p90_hours", gettext_lazy("Resolution, p90 (business hours)")),
    ("sla_compliance", gettext_lazy("SLA compliance")),
    ("first_contact_resolution", gettext_lazy("First-contact resolution")),
    ("reopen_rate", gettext_lazy("Reopened")),
    ("escalation_rate", gettext_lazy("Escalated")),
    ("satisfaction_average", gettext_lazy("Satisfaction (1-5)")),
    ("time_hours", gettext_lazy("Time spent (hours)")),
)
RATES = {"sla_compliance", "first_contact_resolution", "reopen_rate", "escalation_rate"}
SKIP_CHARTS = {"volume_by_day"}  # seven rows of the week: the weekly total says it


def _latin1(text: Any) -> str:
    """The core PDF fonts speak Latin-1 only (Spanish fits; anything else becomes ?)."""
    return str(text).encode("latin-1", "replace").decode("latin-1")


def _value(key: str, value: Any) -> str:
    if value is None:
        return "-"
    if key in RATES:
        return f"{value * 100:.0f} %"
    return str(value)


def render(title: str, start: date, end: date, result: dict[str, Any]) -> bytes:
    document = FPDF(format="A4")
    document.set_title(_latin1(title))
    document.set_creator("Soporte")
    document.add_page()
    document.set_font("helvetica", "B", 15)
    document.multi_cell(0, 8, _latin1(title), new_x="LMARGIN", new_y="NEXT")
    document.set_font("helvetica", size=10)
    document.cell(
        0, 6, _latin1(f"{start.isoformat()} - {end.isoformat()}"), new_x="LMARGIN", new_y="NEXT"
    )
    document.ln(3)
    summary = result["summary"]
    with document.table(col_widths=(110, 60), text_align=("LEFT", "RIGHT")) as table:
        for key, label in SUMMARY:
            row = table.row()
            row.cell(_latin1(label))
            row.cell(_value(key, summary.get(key)))
    for chart in result["charts"]:
        if chart["key"] in SKIP_CHARTS or not chart["rows"]:
            continue
        document.ln(4)
        document.set_font("helvetica", "B", 11)
        document.cell(0, 7, _latin1(chart["title"]), new_x="LMARGIN", new_y="NEXT")
        document.set_font("helvetica", size=9)
        with document.table() as table:
            header = table.row()
            for column in chart["columns"]:
                header.cell(_latin1(column["label"]))
            for values in chart["rows"][:40]:
                row = table.row()
                for value in values:
                    row.cell(_latin1("-" if value is None else value))
    return bytes(document.output())
