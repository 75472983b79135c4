"""Factories for evaluations: the inventory they are checked against (asset types, a
software product, a machine running an OS) and a planned or testing evaluation.
The problems area's local tracker stand-in is reused to report issues to development."""

from __future__ import annotations

import pytest

from soporte.assets import services as assets
from soporte.assets.defaults import ensure_default_types
from soporte.assets.models import AssetType, SoftwareProduct
from soporte.evaluations import services
from tests.problems.conftest import _secrets, fake_trackers, make_tracker  # noqa: F401


@pytest.fixture
def inventory(ada):
    """Laptop and Printer types, an office suite, and a laptop running Windows 11."""
    ensure_default_types()
    laptop = AssetType.objects.get(name="Laptop")
    office = SoftwareProduct.objects.create(name="Office Suite", vendor="Acme Soft")
    assets.create_asset(acting_user=ada, tag="NB-1", type=laptop, os_name="Windows 11")
    return {"laptop": laptop, "office": office}


@pytest.fixture
def make_evaluation(bob, inventory):
    def make(*, testing: bool = False, **overrides):
        overrides.setdefault("acting_user", bob)
        overrides.setdefault("title", "Dock model X200")
        overrides.setdefault("kind", "hardware")
        overrides.setdefault("asset_type", inventory["laptop"])
        overrides.setdefault("model", "X200")
        overrides.setdefault("vendor_email", "sales@vendor.example")
        overrides.setdefault("steps", ["Connects two monitors", "Charges the laptop"])
        evaluation = services.create_evaluation(**overrides)
        if testing:
            evaluation = services.start_testing(evaluation, acting_user=overrides["acting_user"])
        return evaluation

    return make
