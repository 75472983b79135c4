"""The satisfaction survey page: opened from the link in the resolved mail, no sign-in
needed. A GET only shows the form (mail scanners prefetch links); the rating is
recorded by posting it, with its CSRF token. The agent's ticket page shows the ratings
in a panel; the portal's ticket page shows the requester theirs."""

from __future__ import annotations

from django import forms
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from soporte.accounts.models import User
from soporte.lib.errors import ServiceError

from .. import panels, satisfaction
from ..models import Ticket
from .common import first_error, get_ticket, signed_in

CHOICES = [
    (5, gettext_lazy("5 - Very good")),
    (4, gettext_lazy("4 - Good")),
    (3, gettext_lazy("3 - Fair")),
    (2, gettext_lazy("2 - Poor")),
    (1, gettext_lazy("1 - Very poor")),
]


class RatingForm(forms.Form):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("How did we do?"),
        choices=CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=gettext_lazy("Anything to add? (optional)"),
        widget=forms.Textarea(attrs={"rows": 3}),
        max_length=satisfaction.COMMENT_MAX,
        required=False,
    )


def _private(response: HttpResponse) -> HttpResponse:
    # The token is in the address: keep it out of other sites' logs and search engines.
    # (Not "no-referrer": browsers would then post the form with "Origin: null", which
    # Django's CSRF check refuses.)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@never_cache
@require_http_methods(["GET", "POST"])
def rate(request: HttpRequest, token: str) -> HttpResponse:
    try:
        survey = satisfaction.read_token(token)
    except ServiceError as error:
        page = render(
            request,
            "tickets/rating/closed.html",
            {"reason": error.message, "gone": error.status == 410},
            status=error.status,
        )
        return _private(page)
    status, saved = 200, False
    if request.method == "POST":
        form = RatingForm(request.POST)
        if form.is_valid():
            try:
                satisfaction.rate(
                    survey, rating=form.cleaned_data["rating"],
                    comment=form.cleaned_data["comment"],
                )  # fmt: skip
                saved = True
            except ServiceError as error:
                form.add_error(None, error.message)
                status = error.status
        else:
            status = 422
    else:
        initial = {}
        if survey.rating is not None:
            initial = {"rating": survey.rating.rating, "comment": survey.rating.comment}
        form = RatingForm(initial=initial)
    context = {
        "ticket": survey.ticket,
        "form": form,
        "rating": survey.rating,
        "saved": saved,
        "error": first_error(form) if form.is_bound and form.errors else "",
    }
    return _private(render(request, "tickets/rating/rate.html", context, status=status))


@signed_in
@require_GET
def portal_rate(request: HttpRequest, number: int) -> HttpResponse:
    """From the portal's ticket page: the requester goes to the survey of the ticket's
    current resolution. Someone else's ticket is absent (404) or refused (403)."""
    ticket = get_ticket(request.user, number)
    if ticket.requester_id != request.user.pk:
        raise PermissionDenied(_("Only the requester rates a ticket."))
    url = satisfaction.requester_survey_url(request.user, ticket)
    if url is None:
        return redirect("portal:ticket", number=number)
    return redirect(url)


def rating_panel(ticket: Ticket, user: User):
    """The requester's ratings on the agent's ticket page, newest first."""
    if not user.is_agent:
        return None
    ratings = list(satisfaction.ratings_of(ticket))
    if not ratings:
        return None
    return "tickets/desk/_rating_panel.html", {"ratings": ratings}


panels.register(rating_panel)
