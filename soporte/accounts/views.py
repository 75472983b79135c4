"""Sign in (password or emailed one-time link), sign out, and personal preferences."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from . import services
from .forms import PreferencesForm, SignInForm, SignInLinkForm


def _next_url(request: HttpRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse("home")


@require_http_methods(["GET", "POST"])
def sign_in(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request))
    form = SignInForm(request, request.POST or None)
    if request.method == "POST" and form.is_valid():
        login(request, form.user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(_next_url(request))
    status = 429 if form.has_error("__all__", "locked") else 200
    return render(
        request,
        "accounts/sign_in.html",
        {"form": form, "next": _next_url(request), "link_form": SignInLinkForm()},
        status=status,
    )


@require_POST
def request_link(request: HttpRequest) -> HttpResponse:
    form = SignInLinkForm(request.POST)
    if form.is_valid():
        services.request_sign_in_link(
            form.cleaned_data["email"],
            request.build_absolute_uri("/"),
        )
        messages.info(
            request,
            _("If an account uses that address, a sign-in link is on its way. Check your email."),
        )
        return redirect("login")
    return render(
        request,
        "accounts/sign_in.html",
        {"form": SignInForm(request), "link_form": form, "next": ""},
        status=400,
    )


@require_http_methods(["GET", "POST"])
def sign_in_with_link(request: HttpRequest, token: str) -> HttpResponse:
    # GET only shows a button: mail scanners that open links must not use up the token.
    user = services.user_for_sign_in_token(token, settings.SIGN_IN_LINK_SECONDS)
    if user is None:
        messages.error(request, _("That sign-in link has expired or was already used."))
        return redirect("login")
    if request.method == "POST":
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect("home")
    return render(request, "accounts/sign_in_link_confirm.html", {"link_user": user})


@require_POST
def sign_out(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("login")


@login_required
@require_http_methods(["GET", "POST"])
def preferences(request: HttpRequest) -> HttpResponse:
    form = PreferencesForm(request.POST or None, instance=request.user)
    if request.method == "POST" and form.is_valid():
        services.update_preferences(request.user, **form.cleaned_data)
        messages.success(request, _("Your preferences were saved."))
        response = redirect("preferences")
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, form.instance.language, samesite="Lax")
        return response
    return render(request, "accounts/preferences.html", {"form": form})
