"""The checklist templates Soporte ships. Names and steps are stored in English and
shown through gettext, so the Spanish catalogue translates them where they are shown.

`ensure_default_templates()` (run by `soporte playbooks_defaults` and the demo) makes the
missing ones and links each template without categories to the categories named like
its `categories` entry, so it attaches itself to their tickets."""

from __future__ import annotations

from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext_noop as N_

# key, name, category names, steps as (title, required)
DEFAULT_TEMPLATES: list[tuple[str, str, list[str], list[tuple[str, bool]]]] = [
    (
        "malware-removal",
        N_("Malware and spyware removal"),
        ["Malware", "Malware and spyware", "Virus"],
        [
            (N_("Isolate the machine from the network"), True),
            (N_("Scan with an up-to-date antimalware tool"), True),
            (N_("Remove or quarantine what was found"), True),
            (N_("Verify with a second, clean scan"), True),
            (N_("Find the root cause (how it got in)"), True),
            (N_("Advise the user on avoiding it next time"), False),
        ],
    ),
    (
        "data-recovery",
        N_("Data recovery"),
        ["Data recovery"],
        [
            (N_("Stop writing to the affected disk"), True),
            (N_("Image the disk before any recovery attempt"), True),
            (N_("Recover the files from the image"), True),
            (N_("Verify the recovered files with the user"), True),
            (N_("Restore from backups what could not be recovered"), False),
        ],
    ),
    (
        "os-install",
        N_("Operating system installation"),
        ["Operating system", "OS install", "Operating systems"],
        [
            (N_("Back up the user's data"), True),
            (N_("Install the operating system"), True),
            (N_("Apply every pending update"), True),
            (N_("Install drivers and the standard applications"), True),
            (N_("Join the domain and enable disk encryption"), True),
            (N_("Restore the user's data and check it with them"), True),
        ],
    ),
    (
        "peripheral-install",
        N_("Peripheral installation"),
        ["Peripherals"],
        [
            (N_("Connect the device"), True),
            (N_("Install the driver or software it needs"), True),
            (N_("Test it with the user"), True),
            (N_("Record it in the inventory"), False),
        ],
    ),
    (
        "network-connection",
        N_("Network connection"),
        ["Network"],
        [
            (N_("Check the cable, port or Wi-Fi signal"), True),
            (N_("Check the address settings (DHCP, DNS)"), True),
            (N_("Test access to the internal services and the internet"), True),
            (N_("Document the port or access point used"), False),
        ],
    ),
]


@transaction.atomic
def ensure_default_templates() -> int:
    """Create the shipped templates that are missing; link any of them without
    categories to the categories named for it. Returns how many templates it made."""
    from soporte.tickets.models import Category

    from .models import ChecklistTemplate, TemplateStep

    made = 0
    # Two queries when every template is there and linked (the usual case).
    shipped = ChecklistTemplate.objects.filter(key__in=[t[0] for t in DEFAULT_TEMPLATES])
    present = set(shipped.values_list("key", flat=True))
    linked = set(shipped.filter(categories__isnull=False).values_list("key", flat=True))
    for key, name, category_names, steps in DEFAULT_TEMPLATES:
        if key in present and key in linked:
            continue
        template, created = ChecklistTemplate.objects.get_or_create(
            key=key, defaults={"name": name}
        )
        if created:
            made += 1
            TemplateStep.objects.bulk_create(
                TemplateStep(template=template, position=i, title=title, required=required)
                for i, (title, required) in enumerate(steps, start=1)
            )
        if not template.categories.exists():
            named = Q()
            for category_name in category_names:
                named |= Q(name__iexact=category_name)
            found = list(Category.objects.filter(named))
            if found:
                template.categories.add(*found)
    return made
