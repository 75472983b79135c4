"""The rules of a flow's tree (soporte/flows/graph.py), without the database: each
error names its node, and the cycle and reachability checks agree with a brute-force
search on random graphs."""

from __future__ import annotations

import copy

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from soporte.flows.graph import FlowInvalid, cycle_nodes, parse, unreachable

VALID = {
    "slug": "printer",
    "title": "Printer does not print",
    "language": "en",
    "public": True,
    "nodes": [
        {
            "id": "power",
            "start": True,
            "question": "Is it on?",
            "answers": [{"answer": "Yes", "next": "paper"}, {"answer": "No", "next": "on"}],
        },
        {"id": "on", "solution": "Switch it on."},
        {
            "id": "paper",
            "question": "Paper?",
            "answers": [{"answer": "Yes", "next": "tech"}, {"answer": "No", "next": "on"}],
        },
        {"id": "tech", "escalate": "L2", "text": "Needs a technician."},
    ],
}


def errors_of(data) -> list[str]:
    with pytest.raises(FlowInvalid) as caught:
        parse(data)
    return caught.value.errors


def test_a_valid_flow_parses_and_round_trips_through_as_dict():
    definition = parse(VALID)
    assert definition.start.id == "power"
    assert [node.kind for node in definition.nodes] == [
        "question", "solution", "question", "escalate",
    ]  # fmt: skip
    assert parse(definition.as_dict()).as_dict() == definition.as_dict()


def test_a_dangling_answer_names_its_node_and_the_missing_target():
    data = copy.deepcopy(VALID)
    data["nodes"][2]["answers"][0]["next"] = "nowhere"
    (error,) = [e for e in errors_of(data) if "nowhere" in e]
    assert error.startswith("Node 'paper'")


def test_an_unreachable_node_is_named():
    data = copy.deepcopy(VALID)
    data["nodes"].append({"id": "orphan", "solution": "Never shown."})
    assert errors_of(data) == ["Node 'orphan': unreachable from the start node 'power'."]


def test_a_cycle_is_refused_naming_a_node_on_it():
    data = copy.deepcopy(VALID)
    data["nodes"][2]["answers"][1]["next"] = "power"
    errors = errors_of(data)
    assert len(errors) == 1 and "cycle" in errors[0]
    assert errors[0].split("'")[1] in {"power", "paper"}


def test_an_answer_leading_to_its_own_question_is_refused():
    data = copy.deepcopy(VALID)
    data["nodes"][2]["answers"][1]["next"] = "paper"
    assert errors_of(data) == ["Node 'paper': answer 'No' leads back to itself."]


@pytest.mark.parametrize("starts", [(), ("power", "paper")])
def test_exactly_one_node_starts(starts):
    data = copy.deepcopy(VALID)
    for node in data["nodes"]:
        node["start"] = node["id"] in starts
    (error,) = errors_of(data)
    assert "start" in error


def test_a_question_needs_an_answer_and_a_leaf_must_not_have_any():
    data = copy.deepcopy(VALID)
    data["nodes"][2]["answers"] = []
    data["nodes"][1]["answers"] = [{"answer": "x", "next": "tech"}]
    errors = errors_of(data)
    assert any(e.startswith("Node 'paper': a question needs at least one answer") for e in errors)
    assert any(e.startswith("Node 'on': only questions have answers") for e in errors)


def test_a_node_must_be_exactly_one_kind():
    data = copy.deepcopy(VALID)
    data["nodes"][1] = {"id": "on", "solution": "x", "escalate": "L2"}
    assert any(e.startswith("Node 'on': must be exactly one") for e in errors_of(data))


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"escalate": "L9"}, "Node 'tech': escalate must name a tier"),
        ({"id": "tech", "solution": 12.5j}, "Node 'tech': the solution must be text"),
        ({"id": "tech", "solution": True}, "Node 'tech': the solution must be text"),
        ({"id": "tech", "solution": "x" * 6000}, "Node 'tech': the solution is longer"),
        ({"id": "tech", "solution": "ok", "article": "twelve"}, "Node 'tech': article must"),
        ({"id": "tech", "solution": "ok", "colour": "red"}, "Node 'tech': unknown keys colour"),
    ],
)
def test_bad_fields_are_reported_on_their_node(change, expected):
    data = copy.deepcopy(VALID)
    node = change if "id" in change else {"id": "tech", **change}
    data["nodes"][3] = node
    assert any(e.startswith(expected) for e in errors_of(data)), errors_of(data)


@pytest.mark.parametrize(
    "data",
    [None, [], "text", {"slug": "Bad Slug", "title": "x", "nodes": []}, {**VALID, "slug": "runs"}],
)
def test_a_malformed_flow_is_refused_with_a_reason(data):
    assert errors_of(data)


def test_a_duplicate_id_is_named():
    data = copy.deepcopy(VALID)
    data["nodes"].append({"id": "on", "solution": "Again."})
    assert "Node 'on': the id is used twice." in errors_of(data)


# -- the graph checks against brute force ------------------------------------------------


def _reach(edges: dict[str, list[str]], source: str) -> set[str]:
    """Every node reachable from `source` by one or more steps: repeated expansion."""
    reached: set[str] = set()
    frontier = set(edges.get(source, ()))
    while frontier - reached:
        reached |= frontier
        frontier = {t for node in reached for t in edges.get(node, ())} | reached
    return reached


graphs = st.integers(min_value=1, max_value=9).flatmap(
    lambda size: st.lists(
        st.lists(st.integers(min_value=0, max_value=size - 1), max_size=3),
        min_size=size,
        max_size=size,
    )
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs)
def test_cycle_and_reachability_checks_agree_with_brute_force(adjacency):
    edges = {f"n{i}": [f"n{t}" for t in targets] for i, targets in enumerate(adjacency)}
    has_cycle = any(node in _reach(edges, node) for node in edges)
    assert bool(cycle_nodes(edges)) == has_cycle
    for node in cycle_nodes(edges):
        assert node in _reach(edges, node)
    assert unreachable(edges, "n0") == set(edges) - _reach(edges, "n0") - {"n0"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graphs)
def test_parse_accepts_a_random_graph_exactly_when_it_is_a_tree_like_dag(adjacency):
    """Questions are nodes with answers, leaves are solutions: parse() accepts the flow
    iff there is no cycle and every node is reachable from n0."""
    nodes = []
    for i, targets in enumerate(adjacency):
        node = {"id": f"n{i}", "start": i == 0}
        if targets:
            node["question"] = f"Q{i}?"
            node["answers"] = [{"answer": f"to {t}", "next": f"n{t}"} for t in targets]
        else:
            node["solution"] = f"S{i}"
        nodes.append(node)
    edges = {f"n{i}": [f"n{t}" for t in targets] for i, targets in enumerate(adjacency)}
    acyclic = not any(node in _reach(edges, node) for node in edges)
    reachable = set(edges) <= _reach(edges, "n0") | {"n0"}
    try:
        parse({"slug": "random", "title": "Random", "nodes": nodes})
    except FlowInvalid:
        accepted = False
    else:
        accepted = True
    assert accepted == (acyclic and reachable)


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "id",
                    "slug",
                    "title",
                    "nodes",
                    "start",
                    "question",
                    "answers",
                    "answer",
                    "next",
                    "solution",
                    "article",
                    "escalate",
                    "text",
                    "x",
                ]
            ),
            children,
            max_size=6,
        )
    ),  # fmt: skip
    max_leaves=30,
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_like)
def test_any_data_is_either_a_flow_or_refused_with_reasons(data):
    try:
        definition = parse(data)
    except FlowInvalid as error:
        assert error.errors and all(isinstance(e, str) and e for e in error.errors)
    else:
        assert parse(definition.as_dict()).as_dict() == definition.as_dict()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(alphabet=st.sampled_from(list("ab:-[]{}!&*|>'\"\n\t #%@`?,")), max_size=60))
def test_any_text_is_either_yaml_or_refused_as_unreadable(text):
    from soporte.flows import services
    from soporte.lib.errors import BadRequest

    try:
        services.load_yaml(text)
    except BadRequest as error:
        assert error.message.startswith("The YAML")
