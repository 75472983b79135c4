"""People and how they are grouped: organizations, users with a role, teams."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class Tier(models.TextChoices):
    L1 = "L1", _("Level 1 (junior)")
    L2 = "L2", _("Level 2 (semi-senior)")
    L3 = "L3", _("Level 3 (senior)")

    @classmethod
    def ordered(cls) -> list[Tier]:
        return [cls.L1, cls.L2, cls.L3]


class Role(models.TextChoices):
    REQUESTER = "requester", _("Requester")
    AGENT = "agent", _("Agent")
    SUPERVISOR = "supervisor", _("Supervisor")
    ADMIN = "admin", _("Administrator")


STAFF_ROLES = frozenset({Role.AGENT, Role.SUPERVISOR, Role.ADMIN})


class Organization(models.Model):
    name = models.CharField(_("name"), max_length=200, unique=True)
    notes = models.TextField(_("notes"), blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("organization")
        verbose_name_plural = _("organizations")

    def __str__(self) -> str:
        return self.name


class OrganizationDomain(models.Model):
    """An email domain whose senders belong to the organization (one owner per domain)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="domains")
    domain = models.CharField(_("domain"), max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class User(AbstractUser):
    role = models.CharField(_("role"), max_length=16, choices=Role.choices, default=Role.REQUESTER)
    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices, blank=True)
    organization = models.ForeignKey(
        Organization,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="members",
        verbose_name=_("organization"),
    )
    # A requester the organization trusts to follow all of its tickets (e.g. its IT lead).
    sees_organization_tickets = models.BooleanField(
        _("sees the organization's tickets"), default=False
    )
    language = models.CharField(_("language"), max_length=8, default="en")
    time_zone = models.CharField(_("time zone"), max_length=64, default="UTC")
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # Away agents (holidays, sick leave) get no new tickets from automatic assignment.
    away = models.BooleanField(_("away"), default=False)

    class Meta:
        ordering = ["username"]
        indexes = [
            models.Index(fields=["email"]),
            # Mail is matched to people by address, whatever its case (users_with_email).
            models.Index(Lower("email"), name="user_email_lower"),
            # Usernames are unique whatever their case (users_with_username).
            models.Index(Lower("username"), name="user_username_lower"),
        ]

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def is_requester(self) -> bool:
        return self.role == Role.REQUESTER

    @property
    def is_agent(self) -> bool:
        """True for anyone who works tickets: agents, supervisors and admins."""
        return self.role in STAFF_ROLES

    @property
    def is_supervisor(self) -> bool:
        return self.role in (Role.SUPERVISOR, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN


class Assignment(models.TextChoices):
    MANUAL = "manual", _("Agents take tickets themselves")
    ROUND_ROBIN = "round_robin", _("Round-robin among members")
    LEAST_LOADED = "least_loaded", _("The member with the fewest open tickets")


def users_with_email(address: str) -> QuerySet[User]:
    """People with this address, ignoring case; reads the lower(email) index (Django's
    iexact cannot use an index on SQLite)."""
    return User.objects.alias(email_lower=Lower("email")).filter(
        email_lower=address.strip().lower()
    )


def users_with_username(name: str) -> QuerySet[User]:
    """Accounts with this username, ignoring case, from the lower(username) index (iexact
    scans the table on SQLite: a cost that grew with every requester mail created)."""
    return User.objects.alias(username_lower=Lower("username")).filter(
        username_lower=Lower(Value(name.strip()))
    )


class Team(models.Model):
    """A queue of work, e.g. "Service Desk L1", served by its members at one tier."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    tier = models.CharField(_("tier"), max_length=2, choices=Tier.choices, default=Tier.L1)
    email = models.EmailField(_("email address"), blank=True)
    members = models.ManyToManyField(User, related_name="teams", blank=True)
    # Where tickets go when escalated from this team; else the first team of the next tier.
    escalation_team = models.ForeignKey(
        "self", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    # How a ticket arriving in the team without an assignee gets one (soporte/sla/assignment.py).
    assignment = models.CharField(
        _("assignment"), max_length=12, choices=Assignment.choices, default=Assignment.MANUAL
    )
    last_assigned = models.ForeignKey(
        User, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", editable=False
    )

    class Meta:
        ordering = ["tier", "name"]

    def __str__(self) -> str:
        return self.name


class ApiToken(models.Model):
    """A personal API token. Only a SHA-256 of the secret is kept; it is shown once."""

    PREFIX = "sop_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    key_id = models.CharField(max_length=16, unique=True)
    key_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.PREFIX}{self.key_id}_…)"


class LoginFailure(models.Model):
    """A failed sign-in, kept for a while to slow down password guessing."""

    username = models.CharField(max_length=150, db_index=True)
    ip = models.GenericIPAddressField(null=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["ip", "created_at"], name="loginfailure_ip")]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip}"
