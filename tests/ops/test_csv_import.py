"""Users and tickets from another system's CSV export: mapped columns and values, all or
nothing per file with every problem listed, and a second run that adds nothing."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from soporte.accounts.models import Role, Team, User
from soporte.mail.models import OutboundMail
from soporte.tickets.models import Priority, Status, Ticket

USERS = """Login;E-mail;Name;Kind;Company;Groups
jlopez;jlopez@acme.example;Juan;Agente;;Soporte L1
lgarcia;lgarcia@cliente.example;Lucía;Cliente;Cliente SA;
"""
USER_MAP = {
    "columns": {"Login": "username", "E-mail": "email", "Name": "first_name", "Kind": "role",
                "Company": "organization", "Groups": "teams"},
    "values": {"role": {"Agente": "agent", "Cliente": "requester"}},
}  # fmt: skip

TICKETS = (
    "Id,Summary,Details,Customer,State,Urgency,Opened,Closed,Labels\n"
    "T-1,VPN drops,Every 10 minutes,lgarcia@cliente.example,Cerrado,Alta,2024-03-01 09:00,"
    "2024-03-02,vpn;red\n"
    "T-2,Printer jam,Tray 2,nuevo@otro.example,Abierto,Baja,2024-03-05,,\n"
)
TICKET_MAP = {
    "columns": {"Id": "external_id", "Summary": "subject", "Details": "body",
                "Customer": "requester_email", "State": "status", "Urgency": "priority",
                "Opened": "created_at", "Closed": "resolved_at", "Labels": "tags"},
    "values": {"status": {"Cerrado": "closed", "Abierto": "open"},
               "priority": {"Alta": "P2", "Baja": "P4"}},
    "source": "oldcrm",
}  # fmt: skip


def _run(tmp_path, kind: str, content: str, mapping: dict | None) -> str:
    path = tmp_path / f"{kind}.csv"
    path.write_text(content, encoding="utf-8")
    args = ["import", kind, str(path)]
    if mapping is not None:
        (tmp_path / "map.json").write_text(json.dumps(mapping))
        args += ["--mapping", str(tmp_path / "map.json")]
    out = io.StringIO()
    call_command(*args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


@pytest.mark.django_db
def test_users_then_tickets_come_in_mapped_and_only_once(tmp_path):
    Team.objects.create(name="Soporte L1")
    assert "2 imported" in _run(tmp_path, "csv-users", USERS, USER_MAP)
    juan = User.objects.get(username="jlopez")
    assert juan.role == Role.AGENT and list(juan.teams.values_list("name", flat=True)) == [
        "Soporte L1"
    ]
    assert User.objects.get(username="lgarcia").organization.name == "Cliente SA"

    assert "2 imported" in _run(tmp_path, "csv-tickets", TICKETS, TICKET_MAP)
    vpn = Ticket.objects.get(subject="VPN drops")
    assert (vpn.status, vpn.priority) == (Status.CLOSED, Priority.P2)
    assert vpn.requester.username == "lgarcia"
    assert vpn.created_at.isoformat().startswith("2024-03-01T09:00")
    assert vpn.closed_at.date().isoformat() == "2024-03-02"
    assert set(vpn.tags.values_list("name", flat=True)) == {"imported", "vpn", "red"}
    assert vpn.messages.get().body_text == "Every 10 minutes"
    jam = Ticket.objects.get(subject="Printer jam")
    assert jam.status == Status.OPEN and jam.requester.email == "nuevo@otro.example"
    assert OutboundMail.objects.count() == 0

    again = _run(tmp_path, "csv-tickets", TICKETS, TICKET_MAP)
    assert "0 imported, 2 already there" in again
    assert Ticket.objects.count() == 2
    assert "0 imported, 2 already there" in _run(tmp_path, "csv-users", USERS, USER_MAP)


@pytest.mark.django_db
def test_one_bad_row_imports_nothing_and_every_problem_is_named(tmp_path):
    bad = (
        TICKETS
        + "T-3,,x,not-an-address,Perdido,Alta,ayer,,\nT-1,Again,x,a@b.example,Abierto,Alta,,,\n"
    )
    path = tmp_path / "t.csv"
    path.write_text(bad)
    (tmp_path / "map.json").write_text(json.dumps(TICKET_MAP))
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import", "csv-tickets", str(path), mapping=tmp_path / "map.json", stderr=err)
    problems = err.getvalue()
    for words in ("row 4, subject: required", "row 4, requester_email", "row 4, status",
                  "row 4, created_at", "row 5, external_id: T-1 appears twice"):  # fmt: skip
        assert words in problems, problems
    assert Ticket.objects.count() == 0 and User.objects.count() == 0


@pytest.mark.django_db
def test_bad_mappings_and_files_are_refused_by_name(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(TICKETS)
    mapping = tmp_path / "map.json"
    for content, words in [
        ("{not json", "not valid JSON"),
        (json.dumps({"columns": {"Id": "colour"}}), "fields that do not exist: colour"),
        (json.dumps({"colums": {}}), "unknown keys"),
    ]:
        mapping.write_text(content)
        with pytest.raises(CommandError, match=words):
            call_command("import", "csv-tickets", str(path), mapping=mapping)
    with pytest.raises(CommandError, match="no such file"):
        call_command("import", "csv-users", str(tmp_path / "absent.csv"))
    latin = tmp_path / "latin.csv"
    latin.write_bytes("username,email\nnuñez,n@x.example\n".encode("latin-1"))
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "csv-users", str(latin), stderr=err)
    assert "not UTF-8" in err.getvalue()
    unmapped = tmp_path / "unmapped.csv"
    unmapped.write_text("Login,Colour\nx,red\n")
    err = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "csv-users", str(unmapped), stderr=err)
    assert "Login: unknown column" in err.getvalue()
    assert User.objects.count() == 0
