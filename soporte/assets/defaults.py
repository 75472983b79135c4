"""The asset types the issue names, each with a small JSON Schema for its custom fields.
Migration 0002 records them; `ensure_default_types` puts back any a test flush removed."""

from __future__ import annotations

INT = {"type": "integer", "minimum": 0}
TYPES = [
    ("Desktop", "computer", {}),
    (
        "Laptop",
        "computer",
        {"battery_health_pct": {"type": "integer", "minimum": 0, "maximum": 100}},
    ),
    ("Server", "computer", {"rack_units": INT, "rack": {"type": "string", "maxLength": 50}}),
    (
        "Monitor",
        "monitor",
        {
            "size_in": {"type": "number", "minimum": 5, "maximum": 120},
            "resolution": {"type": "string", "pattern": "^[0-9]+x[0-9]+$"},
        },
    ),
    (
        "Printer",
        "printer",
        {
            "ip_address": {"type": "string", "format": "ipv4"},
            "duplex": {"type": "boolean"},
            "colour": {"type": "boolean"},
        },
    ),
    ("Keyboard", "peripheral", {"layout": {"type": "string", "maxLength": 20}}),
    ("Mouse", "peripheral", {}),
    ("Scanner", "peripheral", {}),
    ("Headset", "peripheral", {"wireless": {"type": "boolean"}}),
    ("Phone", "peripheral", {"extension": {"type": "string", "maxLength": 20}}),
    (
        "Switch",
        "network",
        {"port_count": INT, "management_ip": {"type": "string", "format": "ipv4"}},
    ),
    ("Router", "network", {"management_ip": {"type": "string", "format": "ipv4"}}),
    ("Access point", "network", {"ssids": {"type": "array", "items": {"type": "string"}}}),
    ("Firewall", "network", {"management_ip": {"type": "string", "format": "ipv4"}}),
    ("Patch panel", "patch_panel", {"ports": INT}),
    ("Wall outlet", "wall_outlet", {"room": {"type": "string", "maxLength": 50}}),
]


def schema_for(properties: dict) -> dict:
    return {"type": "object", "properties": properties} if properties else {"type": "object"}


def ensure_default_types(asset_type_model=None) -> None:
    """Create the default types that are missing (the model may be a migration's)."""
    if asset_type_model is None:
        from .models import AssetType as asset_type_model
    # One query when nothing is missing (the usual case: tests call it per test).
    present = set(
        asset_type_model.objects.filter(name__in=[t[0] for t in TYPES]).values_list(
            "name", flat=True
        )
    )
    for name, kind, properties in TYPES:
        if name not in present:
            asset_type_model.objects.get_or_create(
                name=name, defaults={"kind": kind, "schema": schema_for(properties)}
            )
