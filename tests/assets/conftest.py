"""Assets for the named people: Maria's laptop and monitor (Acme), Pedro's desktop
(Globex), a switch, a patch panel and a wall outlet; and an enrollment token."""

from __future__ import annotations

from itertools import count

import pytest

from soporte.assets import services
from soporte.assets.defaults import ensure_default_types
from soporte.assets.models import Asset, AssetStatus, AssetType

_serial = count(1)


@pytest.fixture
def types(db) -> dict[str, AssetType]:
    ensure_default_types()  # a browser test's flush may have removed the migration's rows
    return {t.name: t for t in AssetType.objects.all()}


@pytest.fixture
def make_asset(types, ada):
    """Record an asset through the service; keyword overrides go to create_asset."""

    def make(type_name: str = "Laptop", **overrides) -> Asset:
        overrides.setdefault("tag", f"T-{next(_serial):05d}")
        overrides.setdefault("acting_user", ada)
        return services.create_asset(type=types[type_name], **overrides)

    return make


@pytest.fixture
def laptop(make_asset, maria) -> Asset:
    return make_asset(
        "Laptop", tag="ACME-0001", name="Maria's laptop", owner=maria, status=AssetStatus.IN_USE,
        serial="5CD1234XYZ", manufacturer="Lenovo", model="T14",
    )  # fmt: skip


@pytest.fixture
def monitor(make_asset, maria, laptop) -> Asset:
    return make_asset("Monitor", tag="ACME-0002", owner=maria, attached_to=laptop)


@pytest.fixture
def pedros_pc(make_asset, pedro) -> Asset:
    return make_asset("Desktop", tag="GLX-0001", owner=pedro)


@pytest.fixture
def enrollment(ada):
    """(token, key) for the inventory agent."""
    return services.create_enrollment_token(acting_user=ada, name="Rollout")
