"""Demo data for `make run`: one login per role, teams per tier, a few tickets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from soporte.accounts import services as accounts
from soporte.accounts.models import Organization, Role, Team, Tier, User

from . import services
from .models import CannedResponse, Category, Channel, Level

DEMO_PASSWORD = "soporte-demo"

# username, role, tier, first, last, organization key
PEOPLE = [
    ("admin", Role.ADMIN, "", "Ada", "Admin", None),
    ("supervisor", Role.SUPERVISOR, "", "Sam", "Supervisor", None),
    ("ana", Role.AGENT, Tier.L1, "Ana", "García", None),
    ("luis", Role.AGENT, Tier.L2, "Luis", "Pérez", None),
    ("sara", Role.AGENT, Tier.L3, "Sara", "Okafor", None),
    ("maria", Role.REQUESTER, "", "María", "López", "acme"),
    ("pedro", Role.REQUESTER, "", "Pedro", "Silva", "globex"),
]

CATEGORIES = {
    "Hardware": ["Laptops and desktops", "Printers", "Peripherals"],
    "Software": ["Office suite", "Business applications", "Installations"],
    "Network": ["Wi-Fi", "VPN", "Cabling"],
    "Email": [],
    "Security": ["Malware", "Data recovery"],
    "Accounts and access": ["Password reset", "Permissions"],
}


def demo_logins() -> list[tuple[str, str, str]]:
    """(username, password, role description) for each demo person."""
    rows = []
    for username, role, tier, *_ in PEOPLE:
        label = Role(role).label + (f" {tier}" if tier else "")
        rows.append((username, DEMO_PASSWORD, str(label)))
    return rows


# Other areas add their demo data here (SLA policies, rules...), called before the demo
# tickets are opened so those tickets already run under them.
_extras: list[Callable[[dict[str, Any]], None]] = []


def register(extra: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    if extra not in _extras:
        _extras.append(extra)
    return extra


@transaction.atomic
def load_demo() -> bool:
    """Create the demo data once; False when there are users already."""
    if User.objects.exists():
        return False
    orgs = {
        "acme": Organization.objects.create(name="Acme Corp"),
        "globex": Organization.objects.create(name="Globex"),
    }
    accounts.set_domains(orgs["acme"], ["acme.example"])
    accounts.set_domains(orgs["globex"], ["globex.example"])
    domains = {"acme": "acme.example", "globex": "globex.example", None: "soporte.example"}
    people: dict[str, User] = {}
    for username, role, tier, first, last, org in PEOPLE:
        people[username] = accounts.create_user(
            acting_user=None,
            username=username,
            email=f"{username}@{domains[org]}",
            password=None,
            role=role,
            tier=tier,
            first_name=first,
            last_name=last,
            organization=orgs[org] if org else None,
            language="es" if username in ("ana", "pedro") else "en",
        )
        people[username].set_password(DEMO_PASSWORD)
        people[username].save(update_fields=["password"])
    l3 = Team.objects.create(name="Applications L3", tier=Tier.L3)
    l2 = Team.objects.create(name="Infrastructure L2", tier=Tier.L2, escalation_team=l3)
    l1 = Team.objects.create(name="Service Desk L1", tier=Tier.L1, escalation_team=l2)
    l1.members.set([people["ana"]])
    l2.members.set([people["luis"]])
    l3.members.set([people["sara"]])
    categories = {}
    for parent_name, children in CATEGORIES.items():
        parent = Category.objects.create(name=parent_name)
        categories[parent_name] = parent
        for child in children:
            categories[child] = Category.objects.create(name=child, parent=parent)

    CannedResponse.objects.create(
        title="Password reset instructions",
        body="You can reset your password at https://password.example/ . "
        "If it still fails, reply here and we will call you.",
    )
    CannedResponse.objects.create(
        title="Need more details",
        body="Could you tell us what you were doing when it happened, "
        "and send a screenshot of the error?",
    )
    for extra in _extras:
        extra({"people": people, "teams": {"L1": l1, "L2": l2, "L3": l3}, "orgs": orgs})
    admin, ana = people["admin"], people["ana"]
    printer = services.open_ticket(
        acting_user=people["maria"],
        subject="The printer on floor 2 prints blank pages",
        body="Since this morning every page comes out blank. I already restarted it.",
        category=categories["Printers"],
    )
    services.assign(printer, acting_user=admin, assignee=ana)
    services.reply(printer, acting_user=ana, body="Could you send a photo of the status screen?",
                   status="pending_customer")  # fmt: skip
    vpn = services.open_ticket(
        acting_user=ana,
        requester=people["maria"],
        subject="VPN drops every 10 minutes",
        body="Caller says the VPN disconnects every ten minutes since the update.",
        channel=Channel.PHONE,
        impact=Level.HIGH,
        urgency=Level.MEDIUM,
        team=l1,
        category=categories["VPN"],
        tags=["vpn", "remote-work"],
    )
    services.add_note(
        vpn, acting_user=ana, body="Same symptom on two more laptops; likely the gateway."
    )
    services.escalate(vpn, acting_user=ana, reason="Gateway configuration needs L2.")
    services.open_ticket(
        acting_user=people["pedro"],
        subject="Necesito acceso a la carpeta de finanzas",
        body="Hola, necesito permisos de lectura en la carpeta compartida de finanzas.",
        category=categories["Permissions"],
    )
    return True
