"""Who may see and change assets.

- Agents, supervisors and admins see and edit every asset.
- Requesters see only the assets they own, never another organization's, and change none.
- Admins manage the inventory agent's enrollment tokens.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from soporte.accounts.models import User
from soporte.lib.errors import NotFound, PermissionDenied

from .models import Asset


def visible_assets(user: User) -> QuerySet[Asset]:
    """The assets this person may see. The only way a list of assets is fetched for one."""
    assets = Asset.objects.all()
    if not user.is_authenticated or not user.is_active:
        return assets.none()
    if user.is_agent:
        return assets
    same_org = Q(organization_id=user.organization_id) if user.organization_id else Q()
    return assets.filter(Q(owner_id=user.pk), Q(organization__isnull=True) | same_org)


def can_view(user: User, asset: Asset) -> bool:
    if not user.is_authenticated or not user.is_active:
        return False
    if user.is_agent:
        return True
    return asset.owner_id == user.pk and asset.organization_id in (None, user.organization_id)


def get_visible_asset(user: User, asset_id: int) -> Asset:
    """The asset, or NotFound when it does not exist *or* is hidden from this person."""
    asset = (
        visible_assets(user)
        .select_related("type", "location", "owner", "organization", "attached_to")
        .filter(pk=asset_id)
        .first()
    )
    if asset is None:
        raise NotFound(_("Asset %(id)s not found.") % {"id": asset_id})
    return asset


def require_edit(user: User, asset: Asset | None = None) -> None:
    """Agents (and up) change assets; a requester is refused, or told a hidden one is
    absent."""
    if asset is not None and not can_view(user, asset):
        raise NotFound(_("Asset %(id)s not found.") % {"id": asset.pk})
    if not user.is_agent:
        raise PermissionDenied(_("Only agents may change assets."))
