"""What the agent workspace and the portal pages share."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages as django_messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.http import Http404

from soporte.accounts import policy
from soporte.accounts.models import User
from soporte.lib.errors import NotFound, ServiceError

from ..models import Message, Ticket


def agent_required(view):
    """Signed in as an agent, supervisor or admin; requesters get a 403 page."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if not request.user.is_agent:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped


def signed_in(view):
    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        return view(request, *args, **kwargs)

    return wrapped


def get_ticket(user: User, number: int) -> Ticket:
    try:
        return policy.get_visible_ticket(user, number)
    except NotFound:
        raise Http404 from None


def first_error(form) -> str:
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        return f"{label}: {errors[0]}" if label else str(errors[0])
    return ""


def submitted(request, form, save, success: str) -> tuple[bool, int]:
    """The usual POST of a page form: when the form is valid, call `save(cleaned_data)`
    (one service) and queue `success`. Returns (saved, status for the page): (True, 200)
    when saved; (False, 200) on GET; (False, 422) for an invalid form and (False, the
    error's status) for a refused save, each with the reason shown."""
    if request.method != "POST":
        return False, 200
    if not form.is_valid():
        django_messages.error(request, first_error(form))
        return False, 422
    try:
        save(form.cleaned_data)
    except ServiceError as error:
        django_messages.error(request, error.message)
        return False, error.status
    django_messages.success(request, success)
    return True, 200


def timeline(user: User, ticket: Ticket) -> list[Message]:
    """The messages this person may read, each with `.files` (the visible ones): three
    queries, and no queryset built per message while the page renders."""
    messages = list(
        policy.visible_messages(user, ticket)
        .select_related("author")
        .prefetch_related(
            Prefetch(
                "attachments",
                queryset=policy.visible_attachments(user, ticket),
                to_attr="files",
            )
        )
    )
    return messages
