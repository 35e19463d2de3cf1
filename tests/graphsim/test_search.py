"""$search as Microsoft documents it (learn.microsoft.com/graph/search-query-parameter):
quoted "property:text" clauses, AND/OR and parentheses, displayName/description tokenized
(spaces, symbols, camelCase, digits; any order), other properties startswith; on users,
groups and group members; and /groups/{id}/transitiveMembers."""

from __future__ import annotations

from typing import Any

import pytest

from credsync.testing.graphsim._search import tokens

from .conftest import Graph, error_of

EVENTUAL = {"ConsistencyLevel": "eventual"}


def _names(graph: Graph, path: str, search: str, **params: Any) -> list[str]:
    items, _ = graph.all(path, params={"$search": search, **params}, headers=EVENTUAL)
    return sorted(str(i["displayName"]) for i in items)


@pytest.fixture
def people(tenant) -> dict[str, str]:
    d = tenant.domain
    return {
        "alpha": tenant.create_user(upn=f"jo.quill@{d}", display_name="Jo Quillfeather").id,
        "beta": tenant.create_user(upn=f"ann.jones@{d}", display_name="OneVideo Sales2026").id,
        "gamma": tenant.create_user(upn=f"zed@{d}", display_name="Zed_Jonas-Berg").id,
    }


def test_tokens_split_on_spaces_symbols_case_changes_and_digits() -> None:
    assert tokens("OneVideo Sales2026") == ["one", "video", "sales", "2026"]
    assert tokens("Zed_Jonas-Berg") == ["zed", "jonas", "berg"]
    assert tokens("HRTeam") == ["hr", "team"]


def test_display_name_is_tokenized_in_any_order(graph: Graph, people: dict[str, str]) -> None:
    assert _names(graph, "/users", '"displayName:video"') == ["OneVideo Sales2026"]
    assert _names(graph, "/users", '"displayName:2026 one"') == ["OneVideo Sales2026"]
    assert _names(graph, "/users", '"displayName:jonas"') == ["Zed_Jonas-Berg"]
    assert _names(graph, "/users", '"displayName:uill"') == []  # no "contains"


def test_other_properties_match_the_start_of_the_whole_value(
    graph: Graph, people: dict[str, str]
) -> None:
    assert _names(graph, "/users", '"userPrincipalName:jo."') == ["Jo Quillfeather"]
    assert _names(graph, "/users", '"userPrincipalName:quill"') == []


def test_and_or_and_parentheses(graph: Graph, people: dict[str, str]) -> None:
    either = '"displayName:quill" OR "displayName:zed"'
    assert _names(graph, "/users", either) == ["Jo Quillfeather", "Zed_Jonas-Berg"]
    both = '"displayName:zed" AND "userPrincipalName:zed"'
    assert _names(graph, "/users", both) == ["Zed_Jonas-Berg"]
    grouped = '("displayName:quill" OR "displayName:OneVideo") AND "userPrincipalName:ann"'
    assert _names(graph, "/users", grouped) == ["OneVideo Sales2026"]
    # AND binds tighter than OR
    mixed = '"displayName:quill" OR "displayName:one" AND "userPrincipalName:zzz"'
    assert _names(graph, "/users", mixed) == ["Jo Quillfeather"]
    counted = graph.get(
        "/users", params={"$search": either, "$count": "true"}, headers=EVENTUAL
    ).json()
    assert counted["@odata.count"] == 2


@pytest.mark.parametrize(
    "text",
    ['displayName:jo', '"displayName:jo" AND', '("displayName:jo"', '"displayName:jo" XOR "x:y"',
     '"jo"'],
)  # fmt: skip
def test_bad_syntax_is_a_400_saying_so(graph: Graph, text: str) -> None:
    answer = graph.get("/users", params={"$search": text}, headers=EVENTUAL)
    assert answer.status_code == 400
    assert "Syntax error" in error_of(answer)["message"]


def test_an_unsearchable_property_is_named(graph: Graph) -> None:
    answer = graph.get("/users", params={"$search": '"jobTitle:x"'}, headers=EVENTUAL)
    assert answer.status_code == 400
    assert "jobTitle" in error_of(answer)["message"]


def test_members_transitive_members_and_search_on_members(
    graph: Graph, tenant, people: dict[str, str]
) -> None:
    inner = tenant.create_group("Inner", members=[people["gamma"]])
    outer = tenant.create_group("Outer", members=[people["alpha"]])
    tenant.add_member(outer, inner)
    tenant.add_member(inner, outer)  # a cycle ends where it closes
    direct, _ = graph.all(f"/groups/{outer}/members")
    assert sorted(i["id"] for i in direct) == sorted([people["alpha"], inner])
    assert {i["@odata.type"] for i in direct} == {"#microsoft.graph.user", "#microsoft.graph.group"}
    every, _ = graph.all(f"/groups/{outer}/transitiveMembers?$top=1")
    assert sorted(i["id"] for i in every) == sorted([people["alpha"], inner, people["gamma"]])
    found = _names(graph, f"/groups/{outer}/transitiveMembers", '"displayName:zed"')
    assert found == ["Zed_Jonas-Berg"]
    refused = graph.get(f"/groups/{outer}/members", params={"$search": '"displayName:zed"'})
    assert refused.status_code == 400
