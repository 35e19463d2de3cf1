"""Deterministic tenant contents: the same seed gives the same ids, names and timestamps.

Seeded users have no password (none is needed until a test or the portal sets one), so a
100,000-user tenant is only dict building. A few users are disabled, a few synced from
on-premises AD, a few hold admin roles; most have an E3 licence.
"""

from __future__ import annotations

import base64
import random
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import cache
from typing import Any

__all__ = ["SKUS", "guid", "seed_groups", "seed_users", "sku_records"]

_EPOCH = datetime(2024, 1, 1, tzinfo=UTC)

GIVEN = (
    "Ada",
    "Alan",
    "Alice",
    "Amir",
    "Anna",
    "Ben",
    "Carla",
    "Chen",
    "David",
    "Dmitri",
    "Elena",
    "Emma",
    "Farah",
    "Felix",
    "Grace",
    "Hana",
    "Ivan",
    "Jamal",
    "Jana",
    "Joao",
    "Karin",
    "Kofi",
    "Lars",
    "Leila",
    "Lena",
    "Liam",
    "Lucia",
    "Maya",
    "Mei",
    "Mohammed",
    "Nadia",
    "Noah",
    "Olga",
    "Omar",
    "Pablo",
    "Priya",
    "Quinn",
    "Rafael",
    "Rosa",
    "Sara",
    "Sofia",
    "Tariq",
    "Tomas",
    "Uma",
    "Victor",
    "Wei",
    "Yara",
    "Yusuf",
    "Zoe",
)
SURNAMES = (
    "Adams",
    "Baker",
    "Becker",
    "Bianchi",
    "Brown",
    "Chen",
    "Costa",
    "Dubois",
    "Evans",
    "Fischer",
    "Garcia",
    "Gonzalez",
    "Hansen",
    "Hoffmann",
    "Ito",
    "Jansen",
    "Jones",
    "Kim",
    "Kowalski",
    "Kumar",
    "Lee",
    "Lopez",
    "Martin",
    "Meyer",
    "Moreau",
    "Muller",
    "Nagy",
    "Nguyen",
    "Novak",
    "Okafor",
    "Olsen",
    "Patel",
    "Perez",
    "Petrov",
    "Rossi",
    "Sato",
    "Schmidt",
    "Silva",
    "Smith",
    "Suzuki",
    "Tanaka",
    "Taylor",
    "Varga",
    "Wagner",
    "Walker",
    "Wang",
    "Weber",
    "Wilson",
    "Wright",
    "Young",
)
DEPARTMENTS = ("Sales", "Finance", "Engineering", "Support", "Marketing", "Operations", "Legal")
TITLES = ("Analyst", "Engineer", "Manager", "Consultant", "Specialist", "Director", "Associate")
LOCATIONS = ("US", "US", "GB", "DE", "FR", "NL", "CA", None)
ADMIN_ROLES = ("Global Administrator", "User Administrator", "Helpdesk Administrator")

# (skuPartNumber, skuId, [(servicePlanName, servicePlanId)]): Microsoft"s published ids.
SKUS: tuple[tuple[str, str, tuple[tuple[str, str], ...]], ...] = (
    (
        "ENTERPRISEPACK",
        "6fd2c87f-b296-42f0-b197-1e91e994b900",
        (
            ("EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0"),
            ("SHAREPOINTENTERPRISE", "5dbe027f-2339-4123-9542-606e4d348a72"),
            ("MCOSTANDARD", "0feaeb32-d00e-4d66-bd5a-43b5b83db82c"),
            ("OFFICESUBSCRIPTION", "43de0ff5-c92c-492b-9116-175376d08c38"),
        ),
    ),
    (
        "SPE_E5",
        "06ebc4ee-1bb5-47dd-8120-11324bc54e06",
        (
            ("EXCHANGE_S_ENTERPRISE", "efb87545-963c-4e0d-99df-69c6916d9eb0"),
            ("SHAREPOINTENTERPRISE", "5dbe027f-2339-4123-9542-606e4d348a72"),
            ("MCOSTANDARD", "0feaeb32-d00e-4d66-bd5a-43b5b83db82c"),
            ("OFFICESUBSCRIPTION", "43de0ff5-c92c-492b-9116-175376d08c38"),
            ("AAD_PREMIUM_P2", "eec0eb4f-6444-4f95-aba0-50c24d67f998"),
        ),
    ),
    (
        "EXCHANGESTANDARD",
        "4b9405b0-7788-4568-add1-99614e613b69",
        (("EXCHANGE_S_STANDARD", "9aaf7827-d63c-4b61-89c3-182f06f82e5c"),),
    ),
)
E3_SKU = SKUS[0][1]


_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))  # the version and variant bits
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)  # version 4, RFC 4122 variant


def guid(rng: random.Random) -> str:
    """A version-4 UUID from 128 random bits: ``str(uuid.UUID(int=bits, version=4))`` without
    building the UUID object (a 100,000-user tenant makes 100,000 of them)."""
    h = f"{(rng.getrandbits(128) & _UUID4_CLEAR) | _UUID4_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


_CREATED_SPAN = 365 * 86400  # a user was created within a year of _EPOCH...
_CHANGED_SPAN = 180 * 86400  # ...and last changed their password within 180 days of that


@cache
def _day_and_time_forms() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``iso(_EPOCH + timedelta(seconds=s))`` is ``days[s // 86400] + times[s % 86400]``: the
    seed's timestamps without a datetime and a strftime each."""
    days = tuple(
        (_EPOCH + timedelta(days=n)).strftime("%Y-%m-%dT")
        for n in range((_CREATED_SPAN + _CHANGED_SPAN) // 86400 + 1)
    )
    times = tuple(
        f"{h:02d}:{m:02d}:{s:02d}Z" for h in range(24) for m in range(60) for s in range(60)
    )
    return days, times


def _below(rng: random.Random) -> Callable[[int], int]:
    """``rng.randrange(n)`` drawn as CPython draws it (``getrandbits`` of n's bit length until
    the number is below n), without its argument checks: the same numbers, a third the time."""
    bits = rng.getrandbits

    def below(n: int) -> int:
        k = n.bit_length()
        r = bits(k)
        while r >= n:
            r = bits(k)
        return r

    return below


def seed_users(
    rng: random.Random, count: int, domain: str, onprem_domain: str
) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """``count`` user records and the admin role of those who hold one (by id)."""
    users: list[dict[str, Any]] = []
    roles: dict[str, str] = {}
    taken: dict[str, int] = {}
    n_given, n_surnames = len(GIVEN), len(SURNAMES)
    days, times = _day_and_time_forms()
    below = _below(rng)
    for index in range(count):
        user_id = guid(rng)
        given, surname = GIVEN[below(n_given)], SURNAMES[below(n_surnames)]
        alias = f"{given}.{surname}".lower()
        seen = taken.get(alias, 0)
        taken[alias] = seen + 1
        if seen:
            alias = f"{alias}{seen + 1}"
        created = below(_CREATED_SPAN)  # seconds after _EPOCH
        changed = created + below(_CHANGED_SPAN)
        created_at = days[created // 86400] + times[created % 86400]
        changed_at = days[changed // 86400] + times[changed % 86400]
        location = LOCATIONS[below(len(LOCATIONS))]
        upn = f"{alias}@{domain}"
        record: dict[str, Any] = {
            "id": user_id,
            "userPrincipalName": upn,
            "displayName": f"{given} {surname}",
            "givenName": given,
            "surname": surname,
            "mail": upn,
            "mailNickname": alias,
            "accountEnabled": rng.random() >= 0.05,
            "usageLocation": location,
            "passwordPolicies": "DisablePasswordExpiration" if rng.random() < 0.1 else None,
            "lastPasswordChangeDateTime": changed_at,
            "createdDateTime": created_at,
            "userType": "Member",
            "jobTitle": TITLES[below(len(TITLES))],
            "department": DEPARTMENTS[below(len(DEPARTMENTS))],
            "proxyAddresses": [f"SMTP:{upn}"],
        }
        if location is not None and rng.random() < 0.7:
            record["assignedLicenses"] = [{"disabledPlans": [], "skuId": E3_SKU}]
        if index >= len(ADMIN_ROLES) and rng.random() < 0.03:
            sam = alias.replace(".", "")[:20]
            record.update(
                onPremisesSyncEnabled=True,
                onPremisesSamAccountName=sam,
                onPremisesDomainName=onprem_domain,
                onPremisesUserPrincipalName=f"{sam}@{onprem_domain}",
                onPremisesImmutableId=base64.b64encode(uuid.UUID(user_id).bytes_le).decode(),
                onPremisesLastSyncDateTime=changed_at,
            )
        if index < len(ADMIN_ROLES):
            roles[user_id] = ADMIN_ROLES[index]
        elif rng.random() < 0.002:
            roles[user_id] = "User Administrator"
        users.append(record)
    return users, roles


def seed_groups(
    rng: random.Random, count: int, domain: str, user_ids: list[str], created: str
) -> list[tuple[dict[str, Any], list[str]]]:
    """``count`` groups (Microsoft 365 and security, a few synced) with their member ids."""
    groups = []
    for index in range(count):
        group_id = guid(rng)
        unified = index % 3 == 0
        name = f"{DEPARTMENTS[index % len(DEPARTMENTS)]} {'Team' if unified else 'Staff'} {index}"
        nickname = name.lower().replace(" ", "-")
        record: dict[str, Any] = {
            "id": group_id,
            "displayName": name,
            "description": f"Seeded group {index}",
            "groupTypes": ["Unified"] if unified else [],
            "mailEnabled": unified,
            "mailNickname": nickname,
            "securityEnabled": not unified,
            "mail": f"{nickname}@{domain}" if unified else None,
            "visibility": "Private" if unified else None,
            "createdDateTime": created,
            "securityIdentifier": f"S-1-12-1-{rng.getrandbits(31)}-{rng.getrandbits(31)}",
        }
        if unified:
            record["proxyAddresses"] = [f"SMTP:{nickname}@{domain}"]
        if not unified and index % 7 == 5:
            record.update(onPremisesSyncEnabled=True, onPremisesSamAccountName=nickname[:20])
        size = min(len(user_ids), rng.randint(3, 25))
        members = rng.sample(user_ids, size) if size else []
        groups.append((record, members))
    return groups


def sku_records(tenant_id: str, consumed: dict[str, int], users: int) -> list[dict[str, Any]]:
    records = []
    for number, (part, sku_id, plans) in enumerate(SKUS):
        enabled = [max(25, users + users // 5 + 10), 25, 10][number]
        records.append(
            {
                "id": f"{tenant_id}_{sku_id}",
                "accountId": tenant_id,
                "accountName": "Contoso",
                "appliesTo": "User",
                "capabilityStatus": "Enabled",
                "consumedUnits": consumed.get(sku_id, 0),
                "prepaidUnits": {"enabled": enabled, "lockedOut": 0, "suspended": 0, "warning": 0},
                "servicePlans": [
                    {
                        "servicePlanId": plan_id,
                        "servicePlanName": plan_name,
                        "provisioningStatus": "Success",
                        "appliesTo": "User",
                    }
                    for plan_name, plan_id in plans
                ],
                "skuId": sku_id,
                "skuPartNumber": part,
                "subscriptionIds": [str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{part}"))],
            }
        )
    return records
