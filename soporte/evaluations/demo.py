"""Demo evaluations: a dock being tested (checklist, compatibility, scores, an issue) and
a software product adopted with conditions, with the feedback recorded as sent."""

from __future__ import annotations

from typing import Any

from soporte.assets.defaults import ensure_default_types
from soporte.assets.models import AssetType, SoftwareProduct
from soporte.tickets import demo

from . import services


@demo.register
def load(context: dict[str, Any]) -> None:
    people = context["people"]
    lead = people.get("luis") or next((p for p in people.values() if services.may_run(p)), None)
    if lead is None:
        return
    ensure_default_types()
    laptop = AssetType.objects.filter(name="Laptop").first()
    dock = services.create_evaluation(
        acting_user=lead,
        title="USB-C dock for the new laptops",
        kind="hardware",
        asset_type=laptop,
        manufacturer="Dockly",
        model="D-400",
        vendor="Dockly Ltd.",
        vendor_contact="Dana Doe",
        vendor_email="dana@dockly.example",
        steps=["Drives two 4K monitors", "Charges the laptop at 90 W", "Wakes from sleep"],
    )
    services.start_testing(dock, acting_user=lead)
    first = dock.steps.order_by("position").first()
    services.record_step(first, acting_user=lead, result="pass", note="Both at 60 Hz.")
    if laptop is not None:
        services.record_compatibility(
            dock, acting_user=lead, system_kind="asset_type", system_id=laptop.pk,
            result="compatible",
        )  # fmt: skip
    services.score(dock, acting_user=lead, value=4)
    services.add_finding(
        dock, acting_user=lead, title="Network drops after sleep",
        description="The dock's Ethernet port needs a replug after the laptop sleeps.",
    )  # fmt: skip

    product, _created = SoftwareProduct.objects.get_or_create(
        name="PDF Studio", defaults={"vendor": "Paper Inc."}
    )
    pdf = services.create_evaluation(
        acting_user=lead,
        title="PDF editor for the finance team",
        kind="software",
        software_product=product,
        product_version="12",
        vendor="Paper Inc.",
        steps=["Signs a PDF", "Merges two files"],
    )
    services.start_testing(pdf, acting_user=lead)
    services.score(pdf, acting_user=lead, value=5)
    services.decide(
        pdf, acting_user=lead, recommendation="conditions",
        conditions="Only with the yearly licence; the trial watermarks every page.",
    )  # fmt: skip
    services.send_feedback(
        pdf, acting_user=lead, method="by_hand", contact="Paper Inc. sales",
        body="Adopted for finance; please send the yearly licence quote.",
    )  # fmt: skip
