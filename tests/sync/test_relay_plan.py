"""The relay's matching rules (a pure function): one behaviour-named test per rule."""

from __future__ import annotations

import uuid

from credsync.connectors.base import Account
from credsync.connectors.identities import Identity, immutable_id, smtp_addresses
from credsync.sync.relay_plan import MatchStatus, match_all
from credsync.vault.relay_settings import RelaySettings, parse_settings


def ad(name: str, *, mail: str | None = None, domain: str = "contoso.local") -> Identity:
    guid = str(uuid.uuid4())
    primary, addresses = smtp_addresses([f"SMTP:{mail}"] if mail else [], None)
    account = Account(id=guid, username=name, upn=f"{name}@{domain}")
    return Identity(account, anchor=immutable_id(guid), mail=primary, addresses=addresses)


def cloud(upn: str, **kw: object) -> Identity:
    mail = kw.pop("mail", None)
    primary, addresses = smtp_addresses([f"SMTP:{mail}"] if mail else [], None)
    account = Account(id=str(uuid.uuid4()), username=upn, upn=upn)
    return Identity(account, mail=primary, addresses=addresses, **kw)  # type: ignore[arg-type]


SUFFIXES = parse_settings({"suffix_map": ["contoso.local=contoso.com"]})


def plan(
    sources: list[Identity],
    targets: list[Identity],
    settings: RelaySettings = SUFFIXES,
    **kw: dict[str, str],
):  # type: ignore[no-untyped-def]
    creds = {s.account.id: f"cred-{s.account.username}" for s in sources}
    return {
        m.source.account.username: m
        for m in match_all(
            sources,
            targets,
            settings,
            pairs=kw.get("pairs", {}),
            source_credentials=kw.get("source_credentials", creds),
            target_credentials=kw.get("target_credentials", {}),
        )
    }


def test_the_immutable_id_is_base64_of_the_guid_bytes_as_ad_stores_them() -> None:
    guid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    # objectGUID bytes little-endian in the first three fields (what AD stores and Connect encodes)
    assert immutable_id(guid) == "4AQlP4lP0xGaDAMF6CwzAQ=="


def test_an_immutable_id_match_comes_before_the_upn() -> None:
    alice = ad("alice")
    anchored = cloud("someone.else@contoso.com", anchor=alice.anchor)
    by_name = cloud("alice@contoso.com")
    found = plan([alice], [anchored, by_name])["alice"]
    assert (found.status, found.rule, found.target) == (
        MatchStatus.MATCHED,
        "immutable_id",
        anchored,
    )


def test_the_upn_matches_after_the_suffix_map() -> None:
    bob = ad("bob")
    target = cloud("bob@contoso.com")
    found = plan([bob], [target])["bob"]
    assert (found.status, found.rule, found.target) == (MatchStatus.MATCHED, "upn", target)
    unmapped = plan([bob], [target], RelaySettings())["bob"]
    assert unmapped.status is MatchStatus.UNMATCHED


def test_the_primary_smtp_address_matches_mail_or_proxy_addresses() -> None:
    carol = ad("carol", mail="Carol.Jones@contoso.com")
    target = cloud("cjones@contoso.com", mail="carol.jones@contoso.com")
    found = plan([carol], [target])["carol"]
    assert (found.status, found.rule) == (MatchStatus.MATCHED, "mail")


def test_an_existing_pair_or_link_wins_over_every_other_rule() -> None:
    dave = ad("dave")
    linked = cloud("d.other@contoso.com")
    by_name = cloud("dave@contoso.com")
    found = plan([dave], [linked, by_name], pairs={dave.account.id: linked.account.id})["dave"]
    assert (found.rule, found.target) == ("link", linked)
    via_link = plan([dave], [linked, by_name], target_credentials={linked.account.id: "cred-dave"})[
        "dave"
    ]
    assert (via_link.rule, via_link.target) == ("link", linked)


def test_two_candidates_are_a_conflict_never_a_guess() -> None:
    erin = ad("erin", mail="erin@contoso.com")
    one = cloud("erin1@contoso.com", mail="erin@contoso.com")
    two = cloud("erin2@contoso.com", mail="x@contoso.com")
    two = Identity(two.account, addresses=("erin@contoso.com",))
    found = plan([erin], [one, two])["erin"]
    assert found.status is MatchStatus.CONFLICT
    assert "erin1@contoso.com, erin2@contoso.com" in found.reason


def test_two_sources_for_one_target_are_both_conflicts() -> None:
    frank = ad("frank", mail="shared@contoso.com")
    other = ad("frank2", mail="shared@contoso.com")
    target = cloud("shared@contoso.com", mail="shared@contoso.com")
    found = plan([frank, other], [target], parse_settings({"match": ["mail"]}))
    assert {m.status for m in found.values()} == {MatchStatus.CONFLICT}


def test_synced_federated_and_admin_targets_are_refused() -> None:
    users = [ad("gus"), ad("hal"), ad("ida"), ad("jo")]
    targets = [
        cloud("gus@contoso.com", synced=True),
        cloud("hal@contoso.com", federated=True),
        cloud("ida@contoso.com", admin_roles=("User Administrator",)),
        cloud("jo@contoso.com", admin_roles=("User Administrator",)),
    ]
    allowed = parse_settings({"allow_admins": ["JO@contoso.com"]}, SUFFIXES)
    found = plan(users, targets, allowed)
    assert "Entra Connect" in found["gus"].reason
    assert "federated domain" in found["hal"].reason
    assert "admin role" in found["ida"].reason
    assert {found[n].status for n in ("gus", "hal", "ida")} == {MatchStatus.REFUSED}
    assert found["jo"].status is MatchStatus.MATCHED


def test_dropped_rules_are_not_asked_and_unmatched_says_what_was_tried() -> None:
    kim = ad("kim")
    found = plan([kim], [cloud("kim@contoso.com")], parse_settings({"match": "mail"}, SUFFIXES))
    assert found["kim"].status is MatchStatus.UNMATCHED
    assert found["kim"].reason == "no target user by mail"


def test_a_match_without_a_vault_credential_is_reported_as_such() -> None:
    lee = ad("lee")
    found = plan([lee], [cloud("lee@contoso.com")], source_credentials={})["lee"]
    assert found.status is MatchStatus.NO_CREDENTIAL
