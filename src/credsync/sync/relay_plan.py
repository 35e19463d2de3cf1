"""Matching a relay's source users to its target users: a pure function (no I/O).

For each in-scope source user, the match rules in the relay's order; the first rule with a
candidate decides (later rules are not asked):

- ``link``: the pair an earlier applied run recorded, or the target user the source user's
  credential is already linked to in the target directory (an operator's explicit link).
- ``immutable_id``: the target's onPremisesImmutableId equals the source's anchor (base64
  of the objectGUID bytes): Entra Connect's hard match.
- ``upn``: the target's UPN equals the source's UPN after the suffix map
  (``contoso.local`` -> ``contoso.com``), case-insensitive.
- ``mail``: the source's primary SMTP address is one of the target's (mail, proxyAddresses).

Then, in this order:

- two candidates for one rule: ``conflict`` (never guess);
- no candidate for any rule: ``unmatched``;
- a target Entra Connect synchronises (onPremisesSyncEnabled): ``refused`` (its password
  belongs to its Active Directory, and password hash sync would overwrite ours);
- a target in a federated domain: ``refused`` (its password belongs to the federation's
  identity provider);
- a target holding an admin role, matched by any rule but ``link`` and not in the relay's
  allowed admins: ``refused`` (Entra Connect never soft-matches admins either);
- a target two source users matched: both ``conflict`` (one Entra user takes one AD user);
- else ``matched``.

A matched source user with no credential in the vault is reported (``no_credential``): the
vault has no password to relay for it.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from credsync.connectors.identities import Identity
from credsync.vault.relay_settings import MatchRule, RelaySettings

__all__ = ["Match", "MatchStatus", "match_all"]


class MatchStatus(enum.StrEnum):
    MATCHED = "matched"
    NO_CREDENTIAL = "no_credential"
    UNMATCHED = "unmatched"
    CONFLICT = "conflict"
    REFUSED = "refused"


@dataclass(frozen=True)
class Match:
    """What the plan says of one source user. ``target``: the matched (or refused) target
    user; ``rule``: which rule found it; ``reason``: why not matched, in words."""

    source: Identity
    status: MatchStatus
    target: Identity | None = None
    rule: MatchRule | None = None
    reason: str = ""
    source_credential: str | None = None
    target_credential: str | None = None


def _name(identity: Identity) -> str:
    return identity.account.upn or identity.account.username


def _candidates(
    rule: MatchRule,
    source: Identity,
    settings: RelaySettings,
    targets: Mapping[str, Identity],
    index: Mapping[str, Mapping[str, list[Identity]]],
    linked: Mapping[str, str],
) -> list[Identity]:
    if rule == "link":
        linked_to = linked.get(source.account.id)
        return [targets[linked_to]] if linked_to is not None and linked_to in targets else []
    if rule == "immutable_id":
        return list(index["anchor"].get(source.anchor or "", ())) if source.anchor else []
    if rule == "upn":
        mapped = settings.map_upn(source.account.upn)
        return list(index["upn"].get(mapped, ())) if mapped else []
    if source.mail:
        return list(index["mail"].get(source.mail.casefold(), ()))
    return []


def _index(targets: Iterable[Identity]) -> dict[str, dict[str, list[Identity]]]:
    index: dict[str, dict[str, list[Identity]]] = {"anchor": {}, "upn": {}, "mail": {}}
    for target in targets:
        if target.anchor:
            index["anchor"].setdefault(target.anchor, []).append(target)
        if target.account.upn:
            index["upn"].setdefault(target.account.upn.casefold(), []).append(target)
        for address in dict.fromkeys(a.casefold() for a in target.addresses):
            index["mail"].setdefault(address, []).append(target)
    return index


def _refusal(target: Identity, rule: MatchRule, settings: RelaySettings) -> str | None:
    if target.synced:
        return (
            f"{_name(target)} is synchronised from an on-premises directory by Entra Connect "
            "(onPremisesSyncEnabled): its password is that directory's, and password hash sync "
            "would overwrite ours"
        )
    if target.federated:
        domain = _name(target).rpartition("@")[2]
        return (
            f"{_name(target)} is in the federated domain {domain}: its password belongs to the "
            "identity provider"
        )
    if target.admin_roles and rule != "link" and not settings.allows_admin(target.account.upn):
        return (
            f"{_name(target)} holds an admin role ({', '.join(target.admin_roles)}): matched "
            "only when the relay allows it (--allow-admin) or by an explicit link"
        )
    return None


def match_all(
    sources: Sequence[Identity],
    targets: Sequence[Identity],
    settings: RelaySettings,
    *,
    pairs: Mapping[str, str],
    source_credentials: Mapping[str, str],
    target_credentials: Mapping[str, str],
) -> list[Match]:
    """The plan for ``sources`` (sorted by name). ``pairs``: source account id -> target
    account id recorded by earlier runs; ``source_credentials`` / ``target_credentials``:
    account id -> the credential linked to it in the source / target directory."""
    by_id = {t.account.id: t for t in targets}
    index = _index(targets)
    by_credential = {cid: aid for aid, cid in target_credentials.items()}
    linked: dict[str, str] = {}
    for source in sources:
        cred = source_credentials.get(source.account.id)
        paired = pairs.get(source.account.id) or (by_credential.get(cred) if cred else None)
        if paired:
            linked[source.account.id] = paired
    out: list[Match] = []
    for source in sorted(sources, key=lambda s: _name(s).casefold()):
        cred = source_credentials.get(source.account.id)
        decided: Match | None = None
        for rule in settings.match:
            found = _candidates(rule, source, settings, by_id, index, linked)
            if len(found) > 1:
                names = ", ".join(sorted(_name(t) for t in found))
                decided = Match(
                    source,
                    MatchStatus.CONFLICT,
                    rule=rule,
                    source_credential=cred,
                    reason=f"two candidates by {rule}: {names} (never guessed)",
                )
                break
            if found:
                target = found[0]
                refusal = _refusal(target, rule, settings)
                status = MatchStatus.REFUSED if refusal else MatchStatus.MATCHED
                decided = Match(
                    source,
                    status,
                    target,
                    rule,
                    refusal or "",
                    cred,
                    target_credentials.get(target.account.id) or cred,
                )
                break
        if decided is None:
            tried = ", ".join(settings.match)
            decided = Match(
                source,
                MatchStatus.UNMATCHED,
                source_credential=cred,
                reason=f"no target user by {tried}",
            )
        out.append(decided)
    return _one_source_per_target(out)


def _one_source_per_target(plan: list[Match]) -> list[Match]:
    takers: dict[str, list[Match]] = {}
    for item in plan:
        if item.status is MatchStatus.MATCHED and item.target is not None:
            takers.setdefault(item.target.account.id, []).append(item)
    out: list[Match] = []
    for item in plan:
        target = item.target
        if item.status is MatchStatus.MATCHED and target is not None:
            rivals = takers[target.account.id]
            if len(rivals) > 1:
                names = ", ".join(sorted(_name(r.source) for r in rivals))
                item = Match(
                    item.source,
                    MatchStatus.CONFLICT,
                    target,
                    item.rule,
                    f"{_name(target)} is matched by several source users ({names}): "
                    "never two to one",
                    item.source_credential,
                )
            elif item.source_credential is None:
                item = Match(
                    item.source,
                    MatchStatus.NO_CREDENTIAL,
                    target,
                    item.rule,
                    "the vault has no credential (no password) for this account",
                )
        out.append(item)
    return out
