"""REST endpoints for people, organizations, teams and personal API tokens."""

from __future__ import annotations

from django.db.models import Prefetch
from django.http import HttpRequest
from ninja import Router, Status

from soporte.lib.errors import InvalidInput, NotFound
from soporte.lib.schema import Id, text

from . import policy, services
from .models import ApiToken, Organization, Team, User
from .schemas import (
    MeOut,
    NewTokenOut,
    OrganizationIn,
    OrganizationOut,
    OrganizationPatch,
    TeamIn,
    TeamOut,
    TeamPatch,
    TokenIn,
    TokenOut,
    UserIn,
    UserOut,
    UserPatch,
)

router = Router()


def _get(model, pk: int | None, what: str):
    if pk is None:
        return None
    obj = model.objects.filter(pk=pk).first()
    if obj is None:
        raise InvalidInput(f"{what} {pk} does not exist.")
    return obj


def _teams(ids: list[int]) -> list[Team]:
    teams = list(Team.objects.filter(pk__in=ids))
    if len(teams) != len(set(ids)):
        raise InvalidInput("One of the teams does not exist.")
    return teams


@router.get("/me", response=MeOut, tags=["me"], summary="Who am I")
def me(request: HttpRequest):
    user = request.auth
    user.team_ids = sorted(policy.team_ids(user))
    return user


# -- users --------------------------------------------------------------------------


@router.get("/users", response=list[UserOut], tags=["users"], summary="Users (agents)")
def list_users(request: HttpRequest, q: text(200) = "", limit: int = 100):
    policy.require_agent(request.auth)
    users = User.objects.select_related("organization").order_by("username")
    if q:
        users = users.filter(username__icontains=q[:100]) | users.filter(email__icontains=q[:100])
    return users[: max(1, min(limit, 500))]


@router.post("/users", response={201: UserOut}, tags=["users"])
def create_user(request: HttpRequest, data: UserIn):
    return Status(
        201,
        services.create_user(
            acting_user=request.auth,
            username=data.username,
            email=data.email or "",
            password=data.password,
            role=data.role,
            tier=data.tier or "",
            first_name=data.first_name,
            last_name=data.last_name,
            organization=_get(Organization, data.organization_id, "Organization"),
            teams=_teams(data.team_ids),
            language=data.language,
            sees_organization_tickets=data.sees_organization_tickets,
        ),
    )


@router.patch("/users/{user_id}", response=UserOut, tags=["users"])
def update_user(request: HttpRequest, user_id: Id, data: UserPatch):
    policy.require_admin(request.auth)
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        raise NotFound("User not found.")
    changes = data.model_dump(exclude_unset=True)
    if "organization_id" in changes:
        changes["organization"] = _get(Organization, changes.pop("organization_id"), "Organization")
    if "team_ids" in changes:
        ids = changes.pop("team_ids")
        changes["teams"] = _teams(ids) if ids is not None else None
    return services.update_user(user, acting_user=request.auth, **changes)


# -- organizations ------------------------------------------------------------------


@router.get("/organizations", response=list[OrganizationOut], tags=["organizations"])
def list_organizations(request: HttpRequest):
    policy.require_agent(request.auth)
    return Organization.objects.prefetch_related("domains")


@router.post("/organizations", response={201: OrganizationOut}, tags=["organizations"])
def create_organization(request: HttpRequest, data: OrganizationIn):
    return Status(
        201,
        services.create_organization(
            acting_user=request.auth, name=data.name, domains=data.domains
        ),
    )


@router.patch("/organizations/{org_id}", response=OrganizationOut, tags=["organizations"])
def update_organization(request: HttpRequest, org_id: Id, data: OrganizationPatch):
    policy.require_admin(request.auth)
    organization = Organization.objects.filter(pk=org_id).first()
    if organization is None:
        raise NotFound("Organization not found.")
    return services.update_organization(
        organization, acting_user=request.auth, name=data.name, domains=data.domains
    )


# -- teams --------------------------------------------------------------------------


@router.get("/teams", response=list[TeamOut], tags=["teams"])
def list_teams(request: HttpRequest):
    policy.require_agent(request.auth)
    return Team.objects.prefetch_related(Prefetch("members", queryset=User.objects.only("id")))


@router.post("/teams", response={201: TeamOut}, tags=["teams"])
def create_team(request: HttpRequest, data: TeamIn):
    policy.require_admin(request.auth)
    members = list(User.objects.filter(pk__in=data.member_ids))
    if len(members) != len(set(data.member_ids)):
        raise InvalidInput("One of the members does not exist.")
    return Status(
        201,
        services.create_team(
            acting_user=request.auth,
            name=data.name,
            tier=data.tier,
            email=data.email or "",
            members=members,
            escalation_team=_get(Team, data.escalation_team_id, "Team"),
            assignment=data.assignment,
        ),
    )


@router.patch("/teams/{team_id}", response=TeamOut, tags=["teams"])
def update_team(request: HttpRequest, team_id: Id, data: TeamPatch):
    policy.require_admin(request.auth)
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise NotFound("Team not found.")
    changes = data.model_dump(exclude_unset=True)
    if "member_ids" in changes:
        ids = changes.pop("member_ids") or []
        members = list(User.objects.filter(pk__in=ids))
        if len(members) != len(set(ids)):
            raise InvalidInput("One of the members does not exist.")
        changes["members"] = members
    if "escalation_team_id" in changes:
        changes["escalation_team"] = _get(Team, changes.pop("escalation_team_id"), "Team")
    if changes.get("email") is None:
        changes.pop("email", None)
    return services.update_team(team, acting_user=request.auth, **changes)


# -- API tokens ---------------------------------------------------------------------


@router.get("/tokens", response=list[TokenOut], tags=["tokens"], summary="Your API tokens")
def list_tokens(request: HttpRequest):
    return ApiToken.objects.filter(user=request.auth)


@router.post("/tokens", response={201: NewTokenOut}, tags=["tokens"], summary="New API token")
def create_token(request: HttpRequest, data: TokenIn):
    token, key = services.create_api_token(acting_user=request.auth, name=data.name)
    token.key = key
    return Status(201, token)


@router.delete("/tokens/{token_id}", response=TokenOut, tags=["tokens"], summary="Revoke")
def revoke_token(request: HttpRequest, token_id: Id):
    return services.revoke_api_token(acting_user=request.auth, token_id=token_id)
