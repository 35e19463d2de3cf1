"""The group export's plan (pure: sync/_provision_groups_plan.py), one behaviour a test: the
rules of matching, creating and duplicates, and of members either way."""

from __future__ import annotations

from typing import Any

from credsync.connectors.group_export import ExportedGroup
from credsync.connectors.people_source import DirectoryMember
from credsync.sync._provision_groups_plan import Rules, VaultGroup, VaultMember, match, members


def rules(**changed: Any) -> Rules:
    values: dict[str, Any] = {
        "matching": "type_and_email",
        "create_missing": True,
        "remove_duplicates": False,
        "membership_source": "vault",
    }
    return Rules(**{**values, **changed})


def vault(name: str, type_: str = "security", email: str = "", **more: Any) -> VaultGroup:
    return VaultGroup(f"v-{name}-{type_}", name, type_, email, "", more.pop("object_id", None),
                      tuple(more.pop("members", ())))  # fmt: skip


def found(object_id: str, name: str, type_: Any = "security", **more: Any) -> ExportedGroup:
    return ExportedGroup(object_id, name, type_, **more)


def no_refusal(kind: str, email: str) -> str | None:
    return None


def plan(r: Rules, groups: list[VaultGroup], named: list[ExportedGroup], owned: Any = None,
         by_id: Any = None) -> Any:  # fmt: skip
    return match(r, groups, by_id or {}, named, owned or {}, no_refusal)


def test_a_linked_object_wins_over_any_name() -> None:
    linked = found("o1", "Renamed")
    [line], _ = plan(rules(), [vault("Sales", object_id="o1")], [], by_id={"o1": linked})
    assert (line.action, line.object_id) == ("linked", "o1")


def test_the_oldest_free_group_of_the_same_name_any_case_matches() -> None:
    named = [
        found("new", "SALES", created="2026-02-01T00:00:00Z"),
        found("old", "sales", created="2025-01-01T00:00:00Z"),
        found("owned", "Sales", created="2020-01-01T00:00:00Z"),
    ]
    [line], _ = plan(rules(), [vault("Sales")], named, owned={"owned": "v-other"})
    assert (line.action, line.object_id) == ("matched", "old")


def test_type_and_email_must_both_match_unless_the_rule_is_by_name() -> None:
    named = [found("m365", "Sales", "microsoft365", email="sales@x.test", mail_enabled=True)]
    [line], _ = plan(rules(), [vault("Sales")], named)
    assert line.action == "create"
    [line], _ = plan(rules(), [vault("Sales", "microsoft365", "SALES@x.test")], named)
    assert line.action == "matched"
    [line], _ = plan(rules(matching="name"), [vault("Sales")], named)
    assert line.action == "matched"


def test_a_security_group_without_mail_does_not_match_a_mail_enabled_one() -> None:
    named = [found("mes", "Ops", "security", mail_enabled=True)]
    [line], _ = plan(rules(), [vault("Ops")], named)
    assert line.action == "create"


def test_without_create_missing_only_a_name_nobody_has_is_created() -> None:
    named = [found("m365", "Sales", "microsoft365", mail_enabled=True)]
    lines, _ = plan(rules(create_missing=False), [vault("Sales"), vault("New")], named)
    assert [line.action for line in lines] == ["no_match", "create"]


def test_what_the_directory_cant_create_is_reported() -> None:
    refuse = lambda kind, email: "no" if email else None  # noqa: E731
    [line], _ = match(rules(), [vault("Mail", email="m@x.test")], {}, [], {}, refuse)
    assert (line.action, line.reason) == ("not_creatable", "no")


def test_duplicates_are_the_unowned_others_of_the_same_name_only_when_on() -> None:
    named = [
        found("a", "Staff", created="1"),
        found("b", "Staff", created="2"),
        found("c", "staff", created="3"),
        found("d", "Staff", created="4"),
    ]
    groups = [vault("Staff"), vault("STAFF")]
    _, none = plan(rules(), groups, named, owned={"d": "v-elsewhere"})
    assert none == []
    lines, duplicates = plan(rules(remove_duplicates=True), groups, named, owned={"d": "v-x"})
    assert [line.object_id for line in lines] == ["a", "b"]
    assert [d.target.object_id for d in duplicates] == ["c"]


def member(kind: Any, vault_id: str, object_id: str | None, **more: Any) -> VaultMember:
    return VaultMember(kind, vault_id, vault_id.upper(), object_id, **more)


def test_from_the_vault_members_with_an_object_are_added_and_others_removed() -> None:
    group = vault("Ops", object_id="g", members=[
        member("person", "ada", "u-ada"), member("person", "bob", None),
        member("person", "cyd", "u-cyd", in_trash=True), member("group", "sub", None),
    ])  # fmt: skip
    [line], _ = plan(rules(), [group], [], by_id={"g": found("g", "Ops")})
    current = [DirectoryMember("u-zed", "person", "Zed"), DirectoryMember("u-cyd", "person")]
    members(rules(), line, current, {"u-cyd": ("person", "cyd")}, {"sub": "Sub"})
    assert [(m.name, m.object_id, m.pending_group) for m in line.add] == [
        ("SUB", None, "sub"), ("ADA", "u-ada", None)]  # fmt: skip
    assert sorted(m.name for m in line.remove) == ["Zed", "u-cyd"]
    assert line.outside == ["BOB (not in this directory)"]
    assert line.writes(20) == 1 + 2  # one PATCH for both, two removals


def test_a_microsoft_365_group_holds_no_groups() -> None:
    group = vault("Team", "microsoft365", object_id="g", members=[member("group", "sub", "g2")])
    [line], _ = plan(rules(), [group], [], by_id={"g": found("g", "Team", "microsoft365")})
    members(rules(), line, [], {}, {})
    assert line.add == []
    assert line.outside == ["SUB (a Microsoft 365 group can't hold groups)"]


def test_from_the_directory_the_vault_group_takes_its_known_members() -> None:
    group = vault("Ops", object_id="g", members=[member("person", "ada", "u-ada")])
    r = rules(membership_source="directory")
    [line], _ = plan(r, [group], [], by_id={"g": found("g", "Ops")})
    current = [DirectoryMember("u-bob", "person", "Bob"), DirectoryMember("u-x", "person", "X")]
    members(r, line, current, {"u-bob": ("person", "bob")}, {})
    assert [(m.vault_id, m.name) for m in line.add] == [("bob", "Bob")]
    assert [m.vault_id for m in line.remove] == ["ada"]
    assert line.outside == ["X (not in the vault)"]


def test_a_created_group_gets_the_vaults_members_whatever_the_source() -> None:
    group = vault("New", members=[member("person", "ada", "u-ada")])
    r = rules(membership_source="directory")
    [line], _ = plan(r, [group], [])
    members(r, line, [], {}, {})
    assert (line.action, line.membership_source) == ("create", "vault")
    assert [m.object_id for m in line.add] == ["u-ada"]


def test_members_the_directory_cant_change_are_left_alone_with_the_reason() -> None:
    group = vault("Synced", object_id="g", members=[member("person", "ada", "u-ada")])
    [line], _ = plan(rules(), [group], [], by_id={"g": found("g", "Synced", synced=True)})
    members(rules(), line, [], {}, {}, "from on-premises")
    assert line.add == []
    assert line.reason == "from on-premises"
