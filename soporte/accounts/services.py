"""Changes to people, organizations, teams and API tokens. Admin-only unless noted."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from soporte.lib import keys
from soporte.lib.errors import Conflict, InvalidInput, NotFound

from . import policy
from .models import (
    ApiToken,
    Assignment,
    Organization,
    OrganizationDomain,
    Role,
    Team,
    Tier,
    User,
    users_with_email,
    users_with_username,
)


def _clean_domains(domains: Iterable[str]) -> list[str]:
    cleaned = []
    for domain in domains:
        domain = domain.strip().lower().lstrip("@")
        if not domain or "." not in domain or " " in domain or "@" in domain:
            raise InvalidInput(_("%(domain)s is not an email domain.") % {"domain": domain})
        cleaned.append(domain)
    return cleaned


def _organization_name(name: str, exclude: Organization | None = None) -> str:
    """A trimmed, non-empty name no other organization uses (case-insensitive)."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("The organization needs a name."))
    clash = Organization.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise Conflict(_("An organization named %(name)s already exists.") % {"name": name})
    return name


def _team_name(name: str, exclude: Team | None = None) -> str:
    name = name.strip()
    if not name:
        raise InvalidInput(_("The team needs a name."))
    clash = Team.objects.filter(name__iexact=name)
    if exclude is not None:
        clash = clash.exclude(pk=exclude.pk)
    if clash.exists():
        raise Conflict(_("A team named %(name)s already exists.") % {"name": name})
    return name


def _agents_only(members: Iterable[User]) -> list[User]:
    members = list(members)
    for member in members:
        if not member.is_agent:
            raise InvalidInput(_("%(name)s is not an agent.") % {"name": member})
    return members


@transaction.atomic
def create_organization(
    *, acting_user: User, name: str, domains: Iterable[str] = ()
) -> Organization:
    policy.require_admin(acting_user)
    organization = Organization.objects.create(name=_organization_name(name))
    set_domains(organization, _clean_domains(domains))
    return organization


def set_domains(organization: Organization, domains: list[str]) -> None:
    taken = OrganizationDomain.objects.filter(domain__in=domains).exclude(organization=organization)
    if taken.exists():
        raise Conflict(
            _("The domain %(domain)s belongs to another organization.") % {"domain": taken.first()}
        )
    organization.domains.exclude(domain__in=domains).delete()
    existing = set(organization.domains.values_list("domain", flat=True))
    OrganizationDomain.objects.bulk_create(
        [
            OrganizationDomain(organization=organization, domain=d)
            for d in domains
            if d not in existing
        ]
    )


@transaction.atomic
def update_organization(
    organization: Organization,
    *,
    acting_user: User,
    name: str | None = None,
    domains: Iterable[str] | None = None,
) -> Organization:
    policy.require_admin(acting_user)
    if name is not None:
        organization.name = _organization_name(name, exclude=organization)
        organization.save(update_fields=["name"])
    if domains is not None:
        set_domains(organization, _clean_domains(domains))
    return organization


def _choice(choices: Any, value: str, message: str) -> Any:
    try:
        return choices(value)
    except ValueError:
        known = ", ".join(choices.values)
        raise InvalidInput(message % {"value": value, "known": known}) from None


def _check_role(role: str, tier: str) -> tuple[Role, str]:
    """The role and tier as stored; either unknown is refused by name ("l1" is L1)."""
    unknown_role = _("Unknown role %(value)r; use one of %(known)s.")
    checked: Role = _choice(Role, role.strip().lower(), unknown_role)
    if checked == Role.AGENT and not tier:
        tier = Tier.L1
    if tier:
        unknown_tier = _("Unknown tier %(value)r; use one of %(known)s.")
        tier = _choice(Tier, tier.strip().upper(), unknown_tier)
    if checked == Role.REQUESTER and tier:
        raise InvalidInput(_("Requesters have no tier."))
    return checked, tier


@transaction.atomic
def create_user(
    *,
    acting_user: User | None,
    username: str,
    email: str = "",
    password: str | None = None,
    role: str = Role.REQUESTER,
    tier: str = "",
    first_name: str = "",
    last_name: str = "",
    organization: Organization | None = None,
    teams: Iterable[Team] = (),
    language: str = "en",
    sees_organization_tickets: bool = False,
) -> User:
    """Create an account. acting_user None is the system itself (demo data, mail intake)."""
    if acting_user is not None:
        policy.require_admin(acting_user)
    username = username.strip()
    if not username:
        raise InvalidInput(_("A username is required."))
    role, tier = _check_role(role, tier)
    if users_with_username(username).exists():
        raise Conflict(_("The username %(name)s is taken.") % {"name": username})
    email = email.strip().lower()
    if email and users_with_email(email).exists():
        raise Conflict(_("Another account uses %(email)s.") % {"email": email})
    user = User(
        username=username,
        email=email,
        role=role,
        tier=tier,
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        organization=organization,
        language=language if language in ("en", "es") else "en",
        sees_organization_tickets=sees_organization_tickets,
        is_staff=role == Role.ADMIN,
        is_superuser=role == Role.ADMIN,
    )
    if password:
        try:
            validate_password(password, user)
        except ValidationError as error:
            raise InvalidInput(" ".join(error.messages)) from None
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        user.save()
    except IntegrityError:
        raise Conflict(_("The username %(name)s is taken.") % {"name": username}) from None
    if teams:
        user.teams.set(list(teams))
    return user


@transaction.atomic
def update_user(
    user: User,
    *,
    acting_user: User,
    role: str | None = None,
    tier: str | None = None,
    organization: Organization | None | object = ...,
    teams: Iterable[Team] | None = None,
    is_active: bool | None = None,
    first_name: str | None = None,
    last_name: str | None = None,
    language: str | None = None,
) -> User:
    policy.require_admin(acting_user)
    if user.pk == acting_user.pk and (is_active is False or (role and role != Role.ADMIN)):
        raise InvalidInput(_("You cannot disable or demote your own account."))
    new_role, new_tier = _check_role(role or user.role, tier if tier is not None else user.tier)
    if new_role == Role.REQUESTER:
        new_tier = ""
    user.role, user.tier = new_role, new_tier
    user.is_staff = user.is_superuser = new_role == Role.ADMIN
    if organization is not ...:
        user.organization = organization  # type: ignore[assignment]
    if is_active is not None:
        user.is_active = is_active
    if first_name is not None:
        user.first_name = first_name.strip()
    if last_name is not None:
        user.last_name = last_name.strip()
    if language is not None:
        if language not in ("en", "es"):
            raise InvalidInput(_("The language must be 'en' or 'es'."))
        user.language = language
    user.save()
    if teams is not None:
        user.teams.set(list(teams))
    return user


@transaction.atomic
def create_team(
    *,
    acting_user: User,
    name: str,
    tier: str = Tier.L1,
    email: str = "",
    members: Iterable[User] = (),
    escalation_team: Team | None = None,
    assignment: str = Assignment.MANUAL,
) -> Team:
    policy.require_admin(acting_user)
    team = Team.objects.create(
        name=_team_name(name),
        tier=Tier(tier),
        email=email,
        escalation_team=escalation_team,
        assignment=Assignment(assignment),
    )
    team.members.set(_agents_only(members))
    return team


@transaction.atomic
def update_team(
    team: Team,
    *,
    acting_user: User,
    name: str | None = None,
    tier: str | None = None,
    email: str | None = None,
    members: Iterable[User] | None = None,
    escalation_team: Team | None | Any = ...,
    assignment: str | None = None,
) -> Team:
    policy.require_admin(acting_user)
    if name is not None:
        team.name = _team_name(name, exclude=team)
    if assignment is not None:
        team.assignment = Assignment(assignment)
    if tier is not None:
        team.tier = Tier(tier)
    if email is not None:
        team.email = email
    if escalation_team is not ...:
        if escalation_team is not None and escalation_team.pk == team.pk:
            raise InvalidInput(_("A team cannot escalate to itself."))
        team.escalation_team = escalation_team
    team.save()
    if members is not None:
        team.members.set(_agents_only(members))
    return team


# -- API tokens (every user, for themself) --------------------------------------------


@transaction.atomic
def create_api_token(*, acting_user: User, name: str) -> tuple[ApiToken, str]:
    """A new token and its full key. The key is returned once and never stored."""
    name = name.strip()
    if not name:
        raise InvalidInput(_("Give the token a name, e.g. the script that will use it."))
    key_id, key_hash, key = keys.new_key(ApiToken.PREFIX)
    token = ApiToken.objects.create(
        user=acting_user, name=name[:100], key_id=key_id, key_hash=key_hash
    )
    return token, key


def authenticate_token(key: str) -> User | None:
    """The active user behind a token key, or None. Updates last use at most each minute."""
    parts = keys.split_key(key, ApiToken.PREFIX)
    if parts is None:
        return None
    key_id, secret = parts
    token = (
        ApiToken.objects.select_related("user")
        .filter(key_id=key_id, revoked_at__isnull=True)
        .first()
    )
    if token is None or not keys.secret_matches(token.key_hash, secret):
        return None
    if not token.user.is_active:
        return None
    now = timezone.now()
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user


@transaction.atomic
def revoke_api_token(*, acting_user: User, token_id: int) -> ApiToken:
    tokens = ApiToken.objects.all() if acting_user.is_admin else acting_user.api_tokens.all()
    token = tokens.filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("Token not found."))
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


# -- sign-in links -------------------------------------------------------------------

_LINK_SALT = "soporte.sign-in-link"


def make_sign_in_token(user: User) -> str:
    """A signed token that signs this user in once: it names their last sign-in, which
    the sign-in itself changes."""
    last = user.last_login.isoformat() if user.last_login else ""
    return signing.dumps({"u": user.pk, "l": last}, salt=_LINK_SALT, compress=True)


def user_for_sign_in_token(token: str, max_age: int) -> User | None:
    try:
        data = signing.loads(token, salt=_LINK_SALT, max_age=max_age)
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True).first()
    if user is None:
        return None
    last = user.last_login.isoformat() if user.last_login else ""
    return user if last == data.get("l") else None


def request_sign_in_link(email: str, site_url: str) -> None:
    """Email a sign-in link to the account with this address, if there is one; says
    nothing either way, so the form cannot be used to find out who has an account.
    The job makes the token, so no usable link waits in the jobs table."""
    user = users_with_email(email).filter(is_active=True).first()
    if user is None:
        return
    from .tasks import send_sign_in_link

    send_sign_in_link.enqueue(user.pk, site_url.rstrip("/"))


def update_preferences(
    user: User,
    *,
    first_name: str,
    last_name: str,
    language: str,
    time_zone: str,
    away: bool | None = None,
) -> User:
    """A person's own name, language and time zone (validated by the form), and for
    agents whether they are away (no automatic assignment)."""
    user.first_name, user.last_name = first_name.strip(), last_name.strip()
    user.language, user.time_zone = language, time_zone
    fields = ["first_name", "last_name", "language", "time_zone"]
    if away is not None and user.is_agent:
        user.away = away
        fields.append("away")
    user.save(update_fields=fields)
    return user


SYSTEM_USERNAME = "soporte-system"

# This process's copy of the system account (read on every automatic change), and whether
# it may be kept: not while the transaction that created it may still roll back.
_system: User | None = None
_system_uncommitted = False


def system_user() -> User:
    """The account automatic work acts as (mail intake, rules): a supervisor that cannot
    sign in (no password, no email). One query the first time in a process, none after
    (each caller gets its own copy); saving or deleting the account forgets it."""
    global _system, _system_uncommitted
    cached = _system
    if cached is not None:
        return copy.copy(cached)
    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is not None and not transaction.get_connection().in_atomic_block:
        _system_uncommitted = False  # read outside any transaction: committed
    if user is None:
        user, created = User.objects.get_or_create(
            username=SYSTEM_USERNAME,
            defaults={"role": Role.SUPERVISOR, "first_name": "Soporte", "password": "!"},
        )
        if created and transaction.get_connection().in_atomic_block:
            _system_uncommitted = True
            transaction.on_commit(_system_committed)
    if not _system_uncommitted:
        _system = copy.copy(user)
    return user


def _system_committed() -> None:
    global _system_uncommitted
    _system_uncommitted = False


def forget_system_user() -> None:
    """Drop the cached system account (tests, whose transactions roll back, call this)."""
    global _system, _system_uncommitted
    _system, _system_uncommitted = None, False


@receiver([post_save, post_delete], sender=User, dispatch_uid="accounts.forget_system_user")
def _system_user_changed(sender, instance: User, **kwargs) -> None:
    if instance.username == SYSTEM_USERNAME:
        forget_system_user()
