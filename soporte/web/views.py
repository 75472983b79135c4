from django.contrib.auth.decorators import login_required
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from soporte.accounts import policy
from soporte.tickets.models import ACTIVE_STATUSES


@login_required
def home(request: HttpRequest) -> HttpResponse:
    tickets = policy.visible_tickets(request.user).filter(status__in=ACTIVE_STATUSES)
    recent = tickets.select_related("requester", "assignee", "team").order_by("-updated_at")[:20]
    return render(request, "web/home.html", {"tickets": recent})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})
