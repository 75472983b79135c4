"""The supervisor dashboard (/desk/reports/), each chart's data as CSV, and the ticket
export. Thin: a form parses the filters, one service computes, a page renders; bad input
is a 4xx page, never a 500."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from soporte.lib.errors import ServiceError
from soporte.tickets.views.common import agent_required, first_error

from . import services
from .forms import ExportForm, FilterForm


def _supervisor(request: HttpRequest) -> None:
    if not request.user.is_supervisor:
        raise PermissionDenied


def _filters(request: HttpRequest, form_class=FilterForm):
    """(the bound form, the filters or None, the error message)"""
    form = form_class(request.GET)
    if not form.is_valid():
        return form, None, first_error(form)
    try:
        return form, form.filters(), ""
    except ServiceError as error:
        return form, None, error.message


@agent_required
@require_GET
def dashboard(request: HttpRequest) -> HttpResponse:
    _supervisor(request)
    form, filters, error = _filters(request)
    result = services.metrics(filters) if filters is not None else None
    context = {
        "form": form,
        "error": error,
        "result": result,
        "query": request.GET.urlencode(),
    }
    return render(request, "reports/dashboard.html", context, status=422 if error else 200)


@agent_required
@require_GET
def chart_csv(request: HttpRequest, key: str) -> HttpResponse:
    _supervisor(request)
    _form, filters, error = _filters(request)
    if filters is None:
        return HttpResponse(error, status=422, content_type="text/plain; charset=utf-8")
    found = services.chart(services.metrics(filters), key)
    if found is None:
        raise Http404
    response = HttpResponse(services.chart_csv(found), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = (
        f'attachment; filename="{key}-{filters.start}-{filters.end}.csv"'
    )
    return response


@agent_required
@require_GET
def export(request: HttpRequest) -> HttpResponse:
    if "format" not in request.GET:
        return render(request, "reports/export.html", {"form": ExportForm(), "error": ""})
    form, filters, error = _filters(request, ExportForm)
    if filters is None:
        return render(request, "reports/export.html", {"form": form, "error": error}, status=422)
    data = form.cleaned_data
    stamp = timezone.localdate().isoformat()
    try:
        header, values = services.export_tickets(request.user, filters, data["columns"])
        if data["format"] == "xlsx":
            content = services.export_xlsx(header, values)
    except ServiceError as error:
        return render(
            request, "reports/export.html", {"form": form, "error": error.message},
            status=error.status,
        )  # fmt: skip
    if data["format"] == "xlsx":
        response = HttpResponse(
            content,
            content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        )
        response["Content-Disposition"] = f'attachment; filename="tickets-{stamp}.xlsx"'
        return response
    response = StreamingHttpResponse(
        services.export_csv_lines(header, values), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="tickets-{stamp}.csv"'
    return response
