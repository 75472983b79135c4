"""Policies and rules are cached per process, and forgotten when one is saved or deleted."""

from __future__ import annotations

import pytest

from soporte.sla import services
from soporte.sla.models import Rule, Trigger

pytestmark = pytest.mark.django_db


def test_a_rule_saved_after_the_rules_were_read_applies_to_the_next_ticket(
    make_ticket, maria, ada, django_assert_num_queries
):
    make_ticket(acting_user=maria)  # reads (and caches) the rules
    services.save_rule(
        acting_user=ada, name="Tag printers", trigger=Trigger.CREATED,
        conditions=[{"field": "subject", "op": "contains", "value": "printer"}],
        actions=[{"type": "add_tag", "value": "printing"}],
    )  # fmt: skip
    tagged = make_ticket(acting_user=maria, subject="The printer is jammed")
    assert [t.name for t in tagged.tags.all()] == ["printing"]

    Rule.objects.get().delete()
    untagged = make_ticket(acting_user=maria, subject="The printer again")
    assert list(untagged.tags.all()) == []


def test_cached_policies_are_read_once(make_ticket, maria, ada, django_assert_num_queries):
    services.save_policy(acting_user=ada, name="Standard", first_response_minutes=60)
    services.forget_cached()
    with django_assert_num_queries(1):
        first = services.active_policies()
        second = services.active_policies()
    assert [p.name for p in first] == [p.name for p in second] == ["Standard"]
    assert first is not second  # each caller gets its own list
