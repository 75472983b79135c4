from __future__ import annotations

from datetime import datetime

from ninja import Schema
from pydantic import EmailStr, Field

from soporte.lib.schema import Id, Name, text

from .models import Assignment, Role, Tier


class UserRef(Schema):
    id: int
    name: str

    @staticmethod
    def resolve_name(obj) -> str:
        # List rows arrive as plain dicts that already carry the name (queries.summaries).
        return obj["name"] if isinstance(obj, dict) else str(obj)


class OrganizationRef(Schema):
    id: int
    name: str


class TeamRef(Schema):
    id: int
    name: str
    tier: Tier


class UserOut(Schema):
    id: int
    username: str
    name: str
    email: str
    role: Role
    tier: str
    organization: OrganizationRef | None
    language: str
    is_active: bool
    away: bool

    @staticmethod
    def resolve_name(obj) -> str:
        return str(obj)


class MeOut(UserOut):
    team_ids: list[int]


class UserIn(Schema):
    username: text(150, 1)
    email: EmailStr | None = None
    password: text(128) | None = None
    role: Role = Role.REQUESTER
    tier: Tier | None = None
    first_name: text(150) = ""
    last_name: text(150) = ""
    organization_id: Id | None = None
    team_ids: list[Id] = []
    language: str = Field("en", pattern="^(en|es)$")
    sees_organization_tickets: bool = False


class UserPatch(Schema):
    role: Role | None = None
    tier: Tier | None = None
    organization_id: Id | None = None
    team_ids: list[Id] | None = None
    is_active: bool | None = None
    first_name: text(150) | None = None
    last_name: text(150) | None = None
    language: str | None = Field(None, pattern="^(en|es)$")


class OrganizationOut(Schema):
    id: int
    name: str
    domains: list[str]

    @staticmethod
    def resolve_domains(obj) -> list[str]:
        return [d.domain for d in obj.domains.all()]


class OrganizationIn(Schema):
    name: Name
    domains: list[text(253)] = []


class OrganizationPatch(Schema):
    name: Name | None = None
    domains: list[text(253)] | None = None


class TeamOut(Schema):
    id: int
    name: str
    tier: Tier
    email: str
    member_ids: list[int]
    escalation_team_id: int | None
    assignment: Assignment

    @staticmethod
    def resolve_member_ids(obj) -> list[int]:
        return [m.pk for m in obj.members.all()]


class TeamIn(Schema):
    name: text(120, 1)
    tier: Tier = Tier.L1
    email: EmailStr | None = None
    member_ids: list[Id] = []
    escalation_team_id: Id | None = None
    assignment: Assignment = Assignment.MANUAL


class TeamPatch(Schema):
    name: text(120, 1) | None = None
    tier: Tier | None = None
    email: EmailStr | None = None
    member_ids: list[Id] | None = None
    escalation_team_id: Id | None = None
    assignment: Assignment | None = None


class TokenIn(Schema):
    name: text(100, 1)


class TokenOut(Schema):
    id: int
    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class NewTokenOut(TokenOut):
    key: str = Field(description="The full key. Shown only now; store it safely.")
