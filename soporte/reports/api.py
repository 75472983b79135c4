"""The reports API (/api/v1/reports): the dashboard's figures as JSON (supervisors and
admins) and the ticket export as CSV or XLSX (agents, only the tickets they may see)."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from soporte.accounts.models import Tier
from soporte.lib.schema import Id

from . import services
from .services import EXPORT_COLUMNS, Filters

router = Router(tags=["reports"])

ExportColumn = Literal[tuple(EXPORT_COLUMNS)]  # type: ignore[valid-type]


class ReportsQuery(Schema):
    start: date | None = Field(None, description="First day (default: 29 days before end)")
    end: date | None = Field(None, description="Last day, included (default: today)")
    team: Id | None = None
    organization: Id | None = None
    category: Id | None = None
    tier: Tier | None = None

    def filters(self) -> Filters:
        return Filters.parse(
            start=self.start,
            end=self.end,
            team=self.team,
            organization=self.organization,
            category=self.category,
            tier=self.tier,
        )


class ReportsExportQuery(ReportsQuery):
    format: Literal["csv", "xlsx"] = "csv"
    columns: list[ExportColumn] = Field(  # type: ignore[valid-type]
        default_factory=list, description="Columns in order (default: a usual set)"
    )


class ReportsColumnOut(Schema):
    key: str
    label: str


class ReportsChartOut(Schema):
    key: str
    title: str
    kind: str
    columns: list[ReportsColumnOut]
    rows: list[list[Any]]
    series: list[int]


class ReportsCommentOut(Schema):
    ticket: int
    rating: int
    comment: str
    created_at: str


class ReportsMetricsOut(Schema):
    filters: dict[str, Any]
    summary: dict[str, float | int | None]
    charts: list[ReportsChartOut]
    comments: list[ReportsCommentOut]


EXPORT_RESPONSE = {
    "responses": {
        "200": {
            "description": "The tickets as CSV (streamed) or XLSX",
            "content": {
                "text/csv": {"schema": {"type": "string"}},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
        }
    }
}


@router.get("/metrics", response=ReportsMetricsOut, summary="The dashboard's figures (supervisors)")
def metrics(request: HttpRequest, query: Query[ReportsQuery]):
    services.require_supervisor(request.auth)
    return services.metrics(query.filters())


@router.get(
    "/export", summary="Export tickets as CSV or XLSX (agents)", openapi_extra=EXPORT_RESPONSE
)
def export(request: HttpRequest, query: Query[ReportsExportQuery]):
    header, values = services.export_tickets(request.auth, query.filters(), query.columns)
    stamp = timezone.localdate().isoformat()
    if query.format == "xlsx":
        response = HttpResponse(
            services.export_xlsx(header, values),
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="tickets-{stamp}.xlsx"'
        return response
    response = StreamingHttpResponse(
        services.export_csv_lines(header, values), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="tickets-{stamp}.csv"'
    return response
