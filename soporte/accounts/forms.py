from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import authenticate
from django.utils.translation import gettext_lazy as _

from . import throttle
from .models import User, users_with_email


def client_ip(request) -> str | None:
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip()
    return request.META.get("REMOTE_ADDR")


class SignInForm(forms.Form):
    username = forms.CharField(label=_("Username or email"), max_length=150)
    password = forms.CharField(label=_("Password"), strip=False, widget=forms.PasswordInput)

    def __init__(self, request, *args, **kwargs):
        self.request = request
        self.user: User | None = None
        super().__init__(*args, **kwargs)

    def clean(self):
        username = self.cleaned_data.get("username", "").strip()
        password = self.cleaned_data.get("password", "")
        if not username or not password:
            return self.cleaned_data
        ip = client_ip(self.request)
        if throttle.locked_for(username, ip):
            minutes = max(1, settings.LOGIN_LOCK_SECONDS // 60)
            raise forms.ValidationError(
                _("Too many failed sign-ins. Try again in %(minutes)s minutes.")
                % {"minutes": minutes},
                code="locked",
            )
        if "@" in username:
            match = users_with_email(username).first()
            username = match.username if match else username
        user = authenticate(self.request, username=username, password=password)
        if user is None:
            throttle.record_failure(self.cleaned_data["username"], ip)
            raise forms.ValidationError(
                _("That username and password do not match."), code="invalid"
            )
        throttle.clear(username)
        self.user = user
        return self.cleaned_data


class SignInLinkForm(forms.Form):
    email = forms.EmailField(label=_("Email address"), max_length=254)


class PreferencesForm(forms.ModelForm):
    class Meta:
        model = User
        fields = ["first_name", "last_name", "language", "time_zone", "away"]
        widgets = {"language": forms.Select(choices=settings.LANGUAGES)}
        help_texts = {"away": _("While away you get no tickets by automatic assignment.")}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance.is_agent:
            del self.fields["away"]

    def clean_time_zone(self):
        import zoneinfo

        value = self.cleaned_data["time_zone"]
        if value not in zoneinfo.available_timezones():
            raise forms.ValidationError(_("Unknown time zone."))
        return value
