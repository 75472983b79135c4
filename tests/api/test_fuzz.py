"""Property-based fuzzing of the whole API with schemathesis: no input makes it answer 500.

Every operation of /api/v1/openapi.json gets generated requests, valid and invalid, sent
in-process to the Django WSGI application as Ada, an administrator with a Bearer token.
Ids in the path and the body mostly point at things that exist (tickets in every state
with public and internal messages and files, people, teams, categories, spare tokens),
and `version` mostly matches, so requests get past "not found" and "changed since" into
the services; the rest stay as generated and exercise those refusals.

`SOPORTE_FUZZ_EXAMPLES=500` makes a longer hunt. By default each operation gets 15 cases
on SQLite and 5 on PostgreSQL: the file was the suite's biggest block (about two and a half
minutes a database), and most of what it finds does not depend on the database; the cases
on PostgreSQL are there for what does (its stricter types and constraints).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import pytest
import schemathesis
from django.core import signals
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import close_old_connections
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
)

from soporte.accounts import services as accounts
from soporte.accounts.models import Organization, Team, User
from soporte.lib.schema import MAX_DB_INT
from soporte.tickets import services
from soporte.tickets.models import Attachment, Category, Message, Ticket
from soporte.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)

CHECKS = [
    not_a_server_error,
    # A 2xx answer must match the response schema the API documents, with its media type.
    response_schema_conformance,
    content_type_conformance,
]
# Not checked: negative_data_rejection (pydantic's lax mode takes 0 for false or 0.5 for
# a timestamp, and an all-optional body from a JSON list: lenient, not broken) and
# status_code_conformance (the schema documents only the success statuses).

# Which existing things an id field may point at, by the field's name.
POOLS = {
    "number": "numbers",
    "into": "numbers",
    "attachment_id": "attachment_ids",
    "message_id": "message_ids",
    "user_id": "user_ids",
    "requester_id": "user_ids",
    "assignee_id": "user_ids",
    "watcher_ids": "user_ids",
    "member_ids": "user_ids",
    "org_id": "organization_ids",
    "organization_id": "organization_ids",
    "team_id": "team_ids",
    "team_ids": "team_ids",
    "escalation_team_id": "team_ids",
    "category_id": "category_ids",
    "parent_id": "category_ids",
    "token_id": "spare_token_ids",
}


@dataclass
class World:
    key: str
    token_id: int
    numbers: list[int]
    spare_token_ids: list[int]
    attachment_ids: list[int] = field(default_factory=list)
    message_ids: list[int] = field(default_factory=list)
    user_ids: list[int] = field(default_factory=list)
    organization_ids: list[int] = field(default_factory=list)
    team_ids: list[int] = field(default_factory=list)
    category_ids: list[int] = field(default_factory=list)

    def aim(self, name: str, value):
        """Three in four in-range ids become an existing one (a function of the generated
        value, so that hypothesis can replay and shrink a failing case)."""
        pool = getattr(self, POOLS[name]) if name in POOLS else None
        number = _as_int(value)
        if not pool or number is None or not 1 <= number <= MAX_DB_INT:
            return value
        if name == "token_id" and number == self.token_id:
            number = 1  # revoking the fuzzer's own token would end the run
        elif number % 4 == 0:
            return value
        chosen = pool[number % len(pool)]
        return str(chosen) if isinstance(value, str) else chosen


def _as_int(value) -> int | None:
    if type(value) is int:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) < 12:
        return int(value)
    return None


@pytest.fixture
def world(ada, alice, bob, sara, carol, maria, marco, pedro, globex, teams, category, make_ticket):
    """Tickets in every state, with public and internal messages and files."""
    ticket = make_ticket(
        acting_user=alice, requester=maria, team=teams["L1"], tags=["printer"], watchers=[marco]
    )
    services.reply(ticket, acting_user=alice, body="Which printer?")
    services.add_note(ticket, acting_user=alice, body="Internal: the toner is fake.")
    services.log_call(ticket, acting_user=alice, body="Called her back.", duration_seconds=60)
    for uploader, name, content in (
        (maria, "photo.png", b"\x89PNG\r\n\x1a\n"),
        (alice, "notes.txt", b"hi"),
    ):
        services.add_attachment(
            ticket,
            acting_user=uploader,
            upload=SimpleUploadedFile(name, content),
            filename=name,
            size=len(content),
        )
    escalated = make_ticket(acting_user=alice, requester=maria, team=teams["L1"], assignee=alice)
    services.escalate(escalated, acting_user=alice, reason="Needs L2")
    resolved = make_ticket(requester=marco, acting_user=marco, category=category)
    services.resolve(resolved, acting_user=alice, resolution="Rebooted.")
    closed = make_ticket(requester=pedro, acting_user=pedro)
    services.resolve(closed, acting_user=alice, resolution="Replaced the cable.")
    services.close(closed, acting_user=alice)
    token, key = accounts.create_api_token(acting_user=ada, name="fuzzer")
    spare = [accounts.create_api_token(acting_user=u, name="spare")[0].pk for u in (ada, maria)]
    return World(
        key=key,
        token_id=token.pk,
        numbers=[ticket.number, escalated.number, resolved.number, closed.number],
        spare_token_ids=spare,
        attachment_ids=list(Attachment.objects.values_list("pk", flat=True)),
        message_ids=list(Message.objects.values_list("pk", flat=True)),
        user_ids=list(User.objects.values_list("pk", flat=True)),
        organization_ids=list(Organization.objects.values_list("pk", flat=True)),
        team_ids=list(Team.objects.values_list("pk", flat=True)),
        category_ids=list(Category.objects.values_list("pk", flat=True)),
    )


@pytest.fixture
def wsgi_requests_keep_the_test_transaction():
    """As Django's test client does: a request must not close the connection at its start
    and end, which would end the transaction each test runs in (on PostgreSQL)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def _aim(case, world: World) -> None:
    params = case.path_parameters or {}
    for name, value in params.items():
        params[name] = world.aim(name, value)
    attachment_id = _as_int(params.get("attachment_id"))
    if attachment_id in world.attachment_ids:
        # The ticket the file is on (now: a merge may have moved it).
        number = Attachment.objects.filter(pk=attachment_id).values("ticket__number")[0]
        params["number"] = str(number["ticket__number"])
    body = case.body
    if not isinstance(body, dict):
        return
    for name, value in body.items():
        if isinstance(value, list):
            body[name] = [world.aim(name, item) for item in value]
        else:
            body[name] = world.aim(name, value)
    # Mostly the version the ticket has now, so that changes go through.
    number = _as_int(params.get("number"))
    version = _as_int(body.get("version"))
    if number and version and version % 4:
        current = Ticket.objects.filter(number=number).values_list("version", flat=True).first()
        body["version"] = current or version


def _examples() -> int:
    from django.db import connections

    default = "15" if connections["default"].vendor == "sqlite" else "5"
    return int(os.environ.get("SOPORTE_FUZZ_EXAMPLES", default))


@schema.parametrize()
@hypothesis_settings(
    max_examples=_examples(),
    deadline=None,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_no_generated_request_makes_the_api_fail(
    case, world, wsgi_requests_keep_the_test_transaction
):
    _aim(case, world)
    case.call_and_validate(headers={"Authorization": f"Bearer {world.key}"}, checks=CHECKS)
