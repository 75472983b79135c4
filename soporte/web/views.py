from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Agents start in their workspace, requesters in the portal."""
    return redirect("desk:home" if request.user.is_agent else "portal:tickets")
