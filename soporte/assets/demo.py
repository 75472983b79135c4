"""Demo assets: María's laptop and monitor, Pedro's desktop, an office's network gear with
its cabling and certifications, licensed software, and a monthly maintenance plan."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.utils import timezone

from soporte.tickets import demo

from . import cabling, maintenance, services
from .models import AssetStatus, AssetType, CableLink, Certification


@demo.register
def load(context: dict[str, Any]) -> None:
    people, orgs = context["people"], context["orgs"]
    admin = people["admin"]
    types = {t.name: t for t in AssetType.objects.all()}
    office = services.location_named("Madrid office, floor 2")

    def asset(tag: str, type_name: str, **fields: Any):
        return services.create_asset(acting_user=admin, tag=tag, type=types[type_name], **fields)

    laptop = asset(
        "ACME-0001", "Laptop", name="María's laptop", status=AssetStatus.IN_USE,
        serial="5CD1234XYZ",
        manufacturer="Lenovo", model="ThinkPad T14", owner=people["maria"], location=office,
        purchase_date=date(2024, 3, 1), warranty_end=date(2027, 3, 1), hostname="acme-mlopez",
        os_name="Windows 11 Pro", os_version="23H2", cpu="AMD Ryzen 7 PRO 7840U", ram_mb=32768,
        custom={"battery_health_pct": 93},
    )  # fmt: skip
    asset(
        "ACME-0002", "Monitor", name="María's monitor", status=AssetStatus.IN_USE,
        manufacturer="Dell", model="P2723DE", owner=people["maria"], location=office,
        attached_to=laptop, custom={"size_in": 27},
    )  # fmt: skip
    asset(
        "GLX-0001", "Desktop", name="Pedro's PC", status=AssetStatus.IN_USE, serial="MXL9876ABC",
        manufacturer="HP", model="EliteDesk 800 G9", owner=people["pedro"],
        organization=orgs["globex"], hostname="glx-psilva", os_name="Ubuntu", os_version="24.04",
        ram_mb=16384,
    )  # fmt: skip
    switch = asset("NET-SW-01", "Switch", manufacturer="Cisco", model="C9200L-48P",
                   status=AssetStatus.IN_USE, location=office,
                   custom={"port_count": 48})  # fmt: skip
    panel = asset("NET-PP-01", "Patch panel", status=AssetStatus.IN_USE, location=office,
                  custom={"ports": 24})  # fmt: skip
    outlet_a = asset("OUT-2-014", "Wall outlet", status=AssetStatus.IN_USE, location=office)
    outlet_b = asset("OUT-2-015", "Wall outlet", status=AssetStatus.IN_USE, location=office)
    cabling.patch(cabling.get_port(laptop, "eth0"), cabling.get_port(outlet_a, "A"),
                  acting_user=admin)  # fmt: skip
    cabling.patch(cabling.get_port(panel, "14"), cabling.get_port(switch, "Gi1/0/14"),
                  acting_user=admin)  # fmt: skip
    link = CableLink.objects.create(
        link_id="F2-014", outlet_port=cabling.get_port(outlet_a, "A"),
        panel_port=cabling.get_port(panel, "14"), category="cat6a", standard="iso-ea",
        length_m=38.5,
    )  # fmt: skip
    Certification.objects.create(
        link=link, tested_on=date.today() - timedelta(days=200), technician="J. Ortega",
        tester_model="Fluke DSX-8000", passed=True, next_margin_db=4.2,
        insertion_loss_margin_db=9.8, return_loss_margin_db=3.1,
    )  # fmt: skip
    CableLink.objects.create(
        link_id="F2-015", outlet_port=cabling.get_port(outlet_b, "A"),
        panel_port=cabling.get_port(panel, "15"), category="cat6a", standard="iso-ea",
    )  # fmt: skip
    office_suite = services.product_named("Microsoft 365 Apps", "Microsoft")
    services.add_licence(acting_user=admin, product=office_suite, seats=25, name="E3 2026")
    services.install_software(laptop, acting_user=admin, product=office_suite, version="2408")
    maintenance.save_plan(
        acting_user=people["luis"], name="Monthly laptop care", rrule_text="FREQ=MONTHLY;BYDAY=1MO",
        starts_at=timezone.now().replace(hour=9, minute=0, second=0, microsecond=0),
        asset_type=types["Laptop"], team=context["teams"]["L2"], lead_days=31,
    )  # fmt: skip
