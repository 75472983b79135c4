"""GET /api/v1/tickets: filters, sorts, keyset pagination and a constant query count."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from soporte.accounts.models import Tier
from soporte.tickets import services
from soporte.tickets.models import Category, Level, Priority, Status, Ticket

SORTS = ["updated_at", "created_at", "number", "priority", "due_at"]
ALL_SORTS = SORTS + [f"-{name}" for name in SORTS]


def walk(client, limit: int, **params) -> list[dict]:
    """Every item of every page, following next_cursor to the end."""
    items, cursor, pages = [], None, 0
    while True:
        query = {**params, "limit": limit}
        if cursor:
            query["cursor"] = cursor
        response = client.get("/tickets", query)
        assert response.status_code == 200, response.content
        body = response.json()
        assert len(body["items"]) <= limit
        items += body["items"]
        pages += 1
        assert pages < 100, "the cursor does not advance"
        cursor = body["next_cursor"]
        if cursor is None:
            return items


def listed(client, **params) -> set[int]:
    response = client.get("/tickets", {"limit": 100, **params})
    assert response.status_code == 200, response.content
    assert response.json()["next_cursor"] is None
    return {item["number"] for item in response.json()["items"]}


def cursor_of(value) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


# -- keyset pagination ----------------------------------------------------------------


@pytest.fixture
def many(make_ticket, alice, maria):
    """13 tickets with ties on every sort key, and some without a due date."""
    levels = [Level.HIGH, Level.MEDIUM, Level.LOW]
    now = timezone.now()
    tickets = []
    for i in range(13):
        tickets.append(
            make_ticket(
                acting_user=alice,
                requester=maria,
                impact=levels[i % 3],
                urgency=levels[(i // 3) % 3],
                due_at=None if i % 4 == 0 else now + timedelta(hours=i % 5),
            )
        )
    # Ties: several tickets share their created and updated times.
    same = now - timedelta(days=1)
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[2:6]]).update(
        created_at=same, updated_at=same
    )
    Ticket.objects.filter(pk__in=[t.pk for t in tickets[8:11]]).update(
        updated_at=same + timedelta(microseconds=1)
    )
    return list(Ticket.objects.all())


def expected_order(tickets: list[Ticket], sort: str) -> list[int]:
    descending = sort.startswith("-")
    field = sort.lstrip("-")
    dated = [t for t in tickets if getattr(t, field) is not None]
    undated = [t for t in tickets if getattr(t, field) is None]
    dated.sort(key=lambda t: (getattr(t, field), t.pk), reverse=descending)
    # Tickets without a due date come last, whichever way the list runs.
    undated.sort(key=lambda t: t.pk, reverse=descending)
    return [t.number for t in dated + undated]


@pytest.mark.parametrize("sort", ALL_SORTS)
@pytest.mark.parametrize("limit", [1, 3, 5])
def test_pagination_walks_every_ticket_exactly_once_in_order(many, api, carol, sort, limit):
    items = walk(api(carol), limit, sort=sort)
    numbers = [item["number"] for item in items]
    assert sorted(numbers) == sorted(t.number for t in many)
    assert numbers == expected_order(many, sort)


@pytest.mark.parametrize("sort", ALL_SORTS)
def test_pagination_walks_a_filtered_list_exactly_once(many, api, carol, sort):
    items = walk(api(carol), 2, sort=sort, priority=["P3", "P4"])
    wanted = [t for t in many if t.priority in ("P3", "P4")]
    assert [item["number"] for item in items] == expected_order(wanted, sort)


def test_a_requester_walks_their_own_tickets(many, make_ticket, api, marco, maria):
    make_ticket(requester=marco)
    items = walk(api(maria), 4, sort="-updated_at")
    assert sorted(item["number"] for item in items) == sorted(t.number for t in many)


def test_the_default_sort_is_most_recently_updated_first(many, api, carol):
    items = walk(api(carol), 100)
    assert [item["number"] for item in items] == expected_order(many, "-updated_at")


def test_an_empty_list_has_no_cursor(api, carol):
    response = api(carol).get("/tickets")
    assert response.status_code == 200
    assert response.json() == {"items": [], "next_cursor": None}


def test_a_full_last_page_has_no_cursor(make_ticket, api, carol):
    for _ in range(3):
        make_ticket()
    body = api(carol).get("/tickets", {"limit": 3}).json()
    assert len(body["items"]) == 3
    assert body["next_cursor"] is None


@pytest.mark.parametrize(
    "cursor",
    [
        "not a cursor!",
        "%%%",
        "e30",  # {}
        cursor_of("just a string"),
        cursor_of([1, 2, 3]),
        cursor_of(["2024-01-01T00:00:00+00:00", "7"]),
        cursor_of(["2024-01-01T00:00:00+00:00", True]),
        cursor_of(["yesterday", 7]),
        cursor_of([12, 7]),
        cursor_of([None, 7]),
        cursor_of(["2024-13-45T00:00:00+00:00", 7]),
        cursor_of(["9999-12-31T23:59:59-23:59", 7]),
        base64.urlsafe_b64encode(b"\xff\xfe[1,2]").decode(),
    ],
)
def test_a_bad_cursor_is_a_400_with_a_detail(make_ticket, api, carol, cursor):
    make_ticket()
    response = api(carol).get("/tickets", {"sort": "-updated_at", "cursor": cursor})
    assert response.status_code == 400, response.content
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize(
    ("sort", "value"),
    [
        ("number", "1001"),
        ("number", None),
        ("number", 1.5),
        ("priority", 3),
        ("priority", "P9"),
        ("priority", "P1\u0000"),
        ("created_at", None),
        ("due_at", 5),
    ],
)
def test_a_cursor_of_the_wrong_type_for_the_sort_is_a_400(make_ticket, api, carol, sort, value):
    make_ticket()
    response = api(carol).get("/tickets", {"sort": sort, "cursor": cursor_of([value, 1])})
    assert response.status_code == 400, response.content
    assert "cursor" in response.json()["detail"]


@pytest.mark.parametrize("sort", ["number", "-number"])
@pytest.mark.parametrize("big", [2**31, 2**63, 10**30])
def test_a_cursor_beyond_any_number_answers_without_error(make_ticket, api, carol, sort, big):
    make_ticket()
    for cursor in (cursor_of([big, 1]), cursor_of([1001, big])):
        response = api(carol).get("/tickets", {"sort": sort, "cursor": cursor})
        assert response.status_code in (200, 400), response.content


@pytest.mark.parametrize(
    "when", ["2024-01-01T00:00:00+20:00", "2024-01-01T00:00:00-23:59", "2024-01-01T00:00:00"]
)
def test_a_cursor_time_in_any_offset_answers_without_error(many, api, carol, when):
    response = api(carol).get("/tickets", {"sort": "-updated_at", "cursor": cursor_of([when, 1])})
    assert response.status_code == 200, response.content


def test_a_cursor_from_another_sort_does_not_crash(many, api, carol):
    cursor = api(carol).get("/tickets", {"sort": "number", "limit": 2}).json()["next_cursor"]
    response = api(carol).get("/tickets", {"sort": "-updated_at", "cursor": cursor})
    assert response.status_code == 400
    assert "cursor" in response.json()["detail"]


def test_an_unknown_sort_is_refused(api, carol):
    response = api(carol).get("/tickets", {"sort": "subject"})
    assert response.status_code == 422


# -- filters --------------------------------------------------------------------------


@pytest.fixture
def desk(make_ticket, alice, bob, carol, maria, marco, pedro, teams, category):
    """Tickets spread across statuses, priorities, people, teams, categories and tags."""
    hardware = category.parent
    t = {
        "printer": make_ticket(
            acting_user=alice, requester=maria, subject="Printer jam on floor 2",
            team=teams["L1"], category=category, tags=["printer"],
        ),
        "vpn": make_ticket(
            acting_user=alice, requester=marco, subject="VPN down", team=teams["L1"],
            assignee=alice, impact=Level.HIGH, urgency=Level.HIGH, tags=["vpn", "network"],
        ),
        "monitor": make_ticket(
            acting_user=bob, requester=pedro, subject="Monitor flickers", team=teams["L2"],
            category=hardware,
        ),
        "password": make_ticket(requester=maria, subject="Password reset"),
        "server": make_ticket(
            acting_user=alice, requester=marco, subject="Server room too hot", team=teams["L1"],
            impact=Level.HIGH,
        ),
    }  # fmt: skip
    services.change_status(t["monitor"], acting_user=bob, status="pending_customer")
    services.resolve(t["password"], acting_user=alice, resolution="Reset it")
    services.escalate(t["server"], acting_user=alice, reason="Cooling is L2")
    services.assign(Ticket.objects.get(pk=t["server"].pk), acting_user=bob, assignee=bob)
    return {name: Ticket.objects.get(pk=ticket.pk) for name, ticket in t.items()}


def nums(desk, *names) -> set[int]:
    return {desk[name].number for name in names}


def test_no_filter_lists_everything_visible(desk, api, carol):
    assert listed(api(carol)) == nums(desk, *desk)


def test_filter_by_several_statuses(desk, api, carol):
    assert desk["printer"].status == Status.NEW
    assert listed(api(carol), status=["new", "pending_customer"]) == nums(
        desk, "printer", "monitor"
    )
    assert listed(api(carol), status="resolved") == nums(desk, "password")


def test_filter_by_priority(desk, api, carol):
    assert listed(api(carol), priority="P1") == nums(desk, "vpn")
    assert listed(api(carol), priority=["P1", "P2"]) == nums(desk, "vpn", "server")


def test_filter_by_assignee(desk, api, alice, bob, carol):
    assert listed(api(alice), assignee="me") == nums(desk, "vpn")
    assert listed(api(carol), assignee=str(bob.pk)) == nums(desk, "server")
    assert listed(api(carol), assignee="none") == nums(desk, "printer", "monitor", "password")
    assert listed(api(carol), assignee="me") == set()


@pytest.mark.parametrize("bad", ["someone", "-1", "me,none", ""])
def test_a_bad_assignee_filter_is_refused(desk, api, carol, bad):
    response = api(carol).get("/tickets", {"assignee": bad})
    assert response.status_code in (400, 422)


def test_filter_by_team_and_tier(desk, api, carol, teams):
    assert listed(api(carol), team=teams["L1"].pk) == nums(desk, "printer", "vpn")
    assert listed(api(carol), team=teams["L2"].pk) == nums(desk, "monitor", "server")
    assert listed(api(carol), tier=Tier.L2) == nums(desk, "monitor", "server")
    assert listed(api(carol), tier=Tier.L1) == nums(desk, "printer", "vpn", "password")


def test_filter_by_organization_and_requester(desk, api, carol, acme, globex, maria):
    assert listed(api(carol), organization=globex.pk) == nums(desk, "monitor")
    assert listed(api(carol), organization=acme.pk) == nums(
        desk, "printer", "vpn", "password", "server"
    )
    assert listed(api(carol), requester=maria.pk) == nums(desk, "printer", "password")


def test_filter_by_category_includes_its_child_categories(desk, api, carol, category):
    hardware = category.parent
    assert listed(api(carol), category=hardware.pk) == nums(desk, "printer", "monitor")
    assert listed(api(carol), category=category.pk) == nums(desk, "printer")
    other = Category.objects.create(name="Software")
    assert listed(api(carol), category=other.pk) == set()


def test_filter_by_tag_ignores_case(desk, api, carol):
    assert listed(api(carol), tag="VPN") == nums(desk, "vpn")
    assert listed(api(carol), tag="network") == nums(desk, "vpn")
    assert listed(api(carol), tag="nothing") == set()


def test_filter_by_updated_since(desk, api, carol):
    long_ago = timezone.now() - timedelta(days=30)
    Ticket.objects.filter(pk__in=[desk["printer"].pk, desk["vpn"].pk]).update(updated_at=long_ago)
    since = (long_ago + timedelta(days=1)).isoformat()
    assert listed(api(carol), updated_since=since) == nums(desk, "monitor", "password", "server")
    assert listed(api(carol), updated_since=long_ago.isoformat()) == nums(desk, *desk)


def test_search_by_words_of_the_subject(desk, api, carol):
    assert listed(api(carol), q="printer") == nums(desk, "printer")
    assert listed(api(carol), q="  DOWN ") == nums(desk, "vpn")
    assert listed(api(carol), q="o") == nums(desk, *desk)


def test_search_by_ticket_number(desk, api, carol):
    number = desk["monitor"].number
    assert listed(api(carol), q=str(number)) == {number}
    assert listed(api(carol), q=f"#{number}") == {number}


@pytest.mark.parametrize("q", ["²", "١٢٣", "99999999999999999999", "%", "_", "#", "'; --"])
def test_odd_searches_answer_without_error(desk, api, carol, q):
    response = api(carol).get("/tickets", {"q": q})
    assert response.status_code == 200, response.content


def test_filters_combine(desk, api, carol, teams):
    assert listed(api(carol), team=teams["L1"].pk, status="open", priority="P1") == nums(
        desk, "vpn"
    )
    assert listed(api(carol), team=teams["L1"].pk, status="pending_customer") == set()


def test_filters_never_widen_what_a_person_sees(desk, api, maria, pedro, acme):
    assert listed(api(maria)) == nums(desk, "printer", "password")
    assert listed(api(maria), organization=acme.pk) == nums(desk, "printer", "password")
    assert listed(api(pedro), organization=acme.pk) == set()
    assert listed(api(pedro), q=str(desk["printer"].number)) == set()


def test_a_list_row_has_the_ticket_summary(desk, api, carol, alice, marco, acme, teams):
    response = api(carol).get("/tickets", {"q": "VPN"})
    [row] = response.json()["items"]
    vpn = desk["vpn"]
    assert row["number"] == vpn.number
    assert row["subject"] == "VPN down"
    assert (row["status"], row["priority"], row["tier"]) == ("open", Priority.P1, "L1")
    assert row["requester"] == {"id": marco.pk, "name": "Marco"}
    assert row["assignee"] == {"id": alice.pk, "name": "Alice"}
    assert row["organization"] == {"id": acme.pk, "name": "Acme"}
    assert row["team"] == {"id": teams["L1"].pk, "name": "Service Desk L1", "tier": "L1"}
    assert row["category"] is None
    assert row["tags"] == ["network", "vpn"]
    assert row["version"] == vpn.version
    assert row["merged_into"] is None


# -- query count ----------------------------------------------------------------------


def _count_list_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/tickets", {"limit": 100, **params})
    assert response.status_code == 200
    return len(queries)


@pytest.mark.parametrize("who", ["carol", "alice", "maria"])
def test_the_list_runs_the_same_number_of_queries_for_5_or_50_tickets(
    who, request, make_ticket, api, alice, maria, marco, teams, category
):
    user = request.getfixturevalue(who)
    client = api(user)

    def add(n):
        for i in range(n):
            ticket = make_ticket(
                acting_user=alice, requester=maria, team=teams["L1"], assignee=alice,
                category=category, tags=[f"tag{i}", "common"], watchers=[marco],
            )  # fmt: skip
            services.reply(ticket, acting_user=alice, body="Looking")

    add(5)
    few = _count_list_queries(client)
    assert len(client.get("/tickets", {"limit": 100}).json()["items"]) == 5
    add(45)
    lots = _count_list_queries(client)
    assert len(client.get("/tickets", {"limit": 100}).json()["items"]) == 50
    assert few == lots
    assert lots <= 6


def test_the_list_stays_within_its_query_budget_with_filters(
    desk, api, carol, django_assert_max_num_queries
):
    client = api(carol)
    with django_assert_max_num_queries(5):
        response = client.get(
            "/tickets", {"status": ["new", "open"], "tag": "vpn", "q": "vpn", "sort": "priority"}
        )
    assert response.status_code == 200
