"""What the AD -> Office 365 relay meets when it writes a password: the immutable id and sync
state (readable, filterable, unique), Entra Connect's synced users and federated domains
refusing the write, Entra's password rule, and the write throttle; each proved by signing in."""

from __future__ import annotations

import base64
import uuid

import pytest

from credsync.testing.graphsim import GraphSimulator, SimTenant, ThrottleConfig, sign_in

from .conftest import Graph, error_of

EVENTUAL = {"ConsistencyLevel": "eventual"}
COMPLEXITY = (
    "The specified password does not comply with password complexity requirements. Please "
    "provide a different password."
)


def _anchor() -> str:
    return base64.b64encode(uuid.uuid4().bytes_le).decode()


@pytest.fixture
def fed(sim: GraphSimulator) -> SimTenant:
    return sim.add_tenant(users=10, groups=0, federated_domain="fed.contoso.test")


def _ids(graph: Graph, expr: str, **headers: str) -> set[str]:
    answer = graph.get("/users", params={"$filter": expr, "$select": "id"}, headers=headers)
    assert answer.status_code == 200, answer.text
    return {u["id"] for u in answer.json()["value"]}


def test_sync_state_is_read_with_select_and_filtered(graph: Graph, tenant) -> None:
    anchor = _anchor()
    cloud = tenant.create_user()
    tenant.set_immutable_id(cloud.id, anchor)
    plain = graph.get(f"/users/{cloud.id}").json()
    assert "onPremisesImmutableId" not in plain  # returned only on $select
    chosen = graph.get(
        f"/users/{cloud.id}", params={"$select": "onPremisesImmutableId,onPremisesSyncEnabled"}
    ).json()
    assert (chosen["onPremisesImmutableId"], chosen["onPremisesSyncEnabled"]) == (anchor, None)
    assert _ids(graph, f"onPremisesImmutableId eq '{anchor}'") == {cloud.id}
    assert _ids(graph, f"onPremisesImmutableId in ('{anchor}', 'nope')") == {cloud.id}
    synced = tenant.create_user(on_premises_sync=True)
    expected = {i for i in tenant.user_ids() if tenant.get_user(i)["onPremisesSyncEnabled"]}
    assert synced.id in expected
    assert _ids(graph, "onPremisesSyncEnabled eq true") == expected
    everyone = set(tenant.user_ids())
    assert _ids(graph, "onPremisesSyncEnabled ne true", **EVENTUAL) == everyone - expected


def test_an_immutable_id_is_unique_in_the_tenant(graph: Graph, tenant) -> None:
    anchor = _anchor()
    first, second = tenant.create_user(), tenant.create_user()
    assert graph.patch(f"/users/{first.id}", {"onPremisesImmutableId": anchor}).status_code == 204
    assert tenant.get_user(first.id)["onPremisesImmutableId"] == anchor
    taken = graph.patch(f"/users/{second.id}", {"onPremisesImmutableId": anchor})
    assert taken.status_code == 400
    assert error_of(taken) | {"innerError": None} == {
        "code": "Request_BadRequest",
        "message": "Another object with the same value for property onPremisesImmutableId "
        "already exists.",
        "innerError": None,
    }
    assert graph.patch(f"/users/{first.id}", {"onPremisesImmutableId": anchor}).status_code == 204
    with pytest.raises(ValueError, match="onPremisesImmutableId"):
        tenant.set_immutable_id(second.id, anchor)
    with pytest.raises(ValueError, match="onPremisesImmutableId"):
        tenant.set_on_premises_sync(second.id, immutable_id=anchor)


def test_entra_connect_takes_a_user_over(graph: Graph, tenant, sim) -> None:
    user = tenant.create_user(upn=f"hybrid@{tenant.domain}")
    anchor = _anchor()
    tenant.set_on_premises_sync(user.id, immutable_id=anchor)
    stored = tenant.get_user(user.id)
    assert (stored["onPremisesSyncEnabled"], stored["onPremisesImmutableId"]) == (True, anchor)
    answer = graph.patch(
        f"/users/{user.id}",
        {
            "passwordProfile": {"password": "Rel4yed!pass", "forceChangePasswordNextSignIn": False},
            "passwordPolicies": "DisablePasswordExpiration",
        },
    )
    assert answer.status_code == 400
    assert error_of(answer)["code"] == "Request_BadRequest"
    assert error_of(answer)["message"].startswith("Unable to update the specified properties")
    assert sign_in(sim, user.upn, user.password)  # password hash sync keeps the AD password
    assert not sign_in(sim, user.upn, "Rel4yed!pass")
    other = tenant.create_user()
    tenant.set_on_premises_sync(other.id)  # Connect's own anchor: base64 of a GUID's bytes
    made = tenant.get_user(other.id)["onPremisesImmutableId"]
    assert len(base64.b64decode(made)) == 16


def test_a_federated_domain_refuses_password_writes(http, sim, fed: SimTenant) -> None:
    graph = Graph(http, sim, fed, fed.default_app)
    domain = next(iter(fed.federation))  # fed.contoso.test, fed2.contoso.test...
    user = fed.create_user(upn=f"ada@{domain}", password="Cl0ud!password")
    answer = graph.patch(
        f"/users/{user.id}",
        {"passwordProfile": {"password": "Rel4yed!pass", "forceChangePasswordNextSignIn": False}},
    )
    assert answer.status_code == 400
    assert error_of(answer)["code"] == "Request_BadRequest"
    assert "federated" in error_of(answer)["message"]
    assert fed.check_password(user.id, "Cl0ud!password")
    assert graph.patch(f"/users/{user.id}", {"jobTitle": "still writable"}).status_code == 204
    managed = fed.create_user()
    ok = graph.patch(f"/users/{managed.id}", {"passwordProfile": {"password": "Rel4yed!pass"}})
    assert ok.status_code == 204
    domains = {d["id"]: d["authenticationType"] for d in graph.get("/domains").json()["value"]}
    assert domains[domain] == "Federated"


def test_a_user_made_in_a_federated_domain_needs_an_immutable_id(http, sim, fed: SimTenant) -> None:
    graph = Graph(http, sim, fed, fed.default_app)
    domain = next(iter(fed.federation))
    body = {
        "accountEnabled": True,
        "displayName": "Fed Person",
        "mailNickname": "fed.person",
        "userPrincipalName": f"fed.person@{domain}",
        "passwordProfile": {"password": "Cl0ud!password"},
    }
    refused = graph.post("/users", body)
    assert refused.status_code == 400
    assert error_of(refused)["message"] == "One or more properties contains invalid values."
    anchor = _anchor()
    made = graph.post("/users", {**body, "onPremisesImmutableId": anchor})
    assert made.status_code == 201, made.text
    twin = {**body, "userPrincipalName": f"twin@{domain}", "mailNickname": "twin"}
    assert graph.post("/users", {**twin, "onPremisesImmutableId": anchor}).status_code == 400


@pytest.mark.parametrize(
    ("password", "policies", "accepted"),
    [
        ("Short1!", None, False),  # 7 characters: AD's default minimum, not Entra's
        ("Eight8!x", None, True),
        ("A1!" + "x" * 253, None, True),  # 256
        ("A1!" + "x" * 254, None, False),  # 257
        ("Pässwörd42!", None, False),  # non-ASCII
        ("Pässwörd42!", "DisableStrongPassword", False),  # the charset rule stays
        ("Short1!", "DisableStrongPassword", False),  # so does the length
        ("onlylowercase", None, False),  # one class of four
        ("lower and spaces", None, False),  # two classes
        ("onlylowercase", "DisableStrongPassword", True),
        ("lower-and-digits-7", None, True),  # three classes
    ],
)
def test_entras_password_rule_proved_by_signing_in(
    graph: Graph, tenant, sim, password: str, policies: str | None, accepted: bool
) -> None:
    user = tenant.create_user()
    if policies:
        tenant.update_user(user.id, passwordPolicies=policies)
    answer = graph.patch(
        f"/users/{user.id}",
        {"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": False}},
    )
    if accepted:
        assert answer.status_code == 204, answer.text
        assert sign_in(sim, user.upn, password)
        assert not sign_in(sim, user.upn, user.password)
    else:
        assert answer.status_code == 400
        assert error_of(answer) | {"innerError": None} == {
            "code": "Request_BadRequest",
            "message": COMPLEXITY,
            "innerError": None,
        }
        assert sign_in(sim, user.upn, user.password)


def test_policies_and_the_force_change_flag_round_trip(graph: Graph, tenant, sim) -> None:
    user = tenant.create_user()
    policies = "DisablePasswordExpiration, DisableStrongPassword"
    answer = graph.patch(
        f"/users/{user.id}",
        {
            "passwordPolicies": policies,
            "passwordProfile": {"password": "simple words", "forceChangePasswordNextSignIn": True},
        },
    )
    assert answer.status_code == 204, answer.text
    read = graph.get(
        f"/users/{user.id}", params={"$select": "passwordPolicies,passwordProfile"}
    ).json()
    assert read["passwordPolicies"] == policies
    assert read["passwordProfile"]["forceChangePasswordNextSignIn"] is True
    assert read["passwordProfile"]["password"] is None  # never read back
    assert sign_in(sim, user.upn, "simple words").code == 50055
    graph.patch(f"/users/{user.id}", {"passwordProfile": {"forceChangePasswordNextSignIn": False}})
    assert sign_in(sim, user.upn, "simple words")


def test_password_writes_count_against_the_write_throttle(graph: Graph, tenant, sim) -> None:
    tenant.throttle = ThrottleConfig(write_units=2, write_window=150.0)
    user = tenant.create_user()
    before = tenant.stats["writes"]
    answers = [
        graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": f"Rel4yed!pass{i}"}})
        for i in range(3)
    ]
    assert [a.status_code for a in answers] == [204, 204, 429]
    assert answers[2].headers["x-ms-throttle-information"] == "WriteLimitExceeded"
    assert int(answers[2].headers["Retry-After"]) == 75
    assert tenant.stats["writes"] - before == 3
    assert tenant.stats["password_writes"] == 2
    assert sign_in(sim, user.upn, "Rel4yed!pass1")  # the refused write changed nothing
    sim.advance_clock(75)
    again = graph.patch(f"/users/{user.id}", {"passwordProfile": {"password": "Rel4yed!pass2"}})
    assert again.status_code == 204
    assert sign_in(sim, user.upn, "Rel4yed!pass2")


def test_a_lookup_by_anchor_name_or_mail_follows_every_change(graph: Graph, tenant) -> None:
    user, other = tenant.create_user(), tenant.create_user()
    first, second = _anchor(), _anchor()
    tenant.set_immutable_id(user.id, first)
    assert _ids(graph, f"onPremisesImmutableId eq '{first}'") == {user.id}
    assert graph.patch(f"/users/{user.id}", {"onPremisesImmutableId": second}).status_code == 204
    assert _ids(graph, f"onPremisesImmutableId eq '{first}'") == set()
    assert _ids(graph, f"onPremisesImmutableId eq '{second}' or onPremisesImmutableId eq 'x'") == {
        user.id
    }
    assert _ids(graph, f"userPrincipalName eq '{other.upn.upper()}'") == {other.id}
    assert _ids(graph, f"mail in ('{user.upn}', '{other.upn}')") == {user.id, other.id}
    both = f"userPrincipalName eq '{user.upn}' and accountEnabled eq false"
    assert _ids(graph, both) == set()
    tenant.disable(user.id)
    assert _ids(graph, both) == {user.id}
    graph.delete(f"/users/{user.id}")
    assert _ids(graph, f"onPremisesImmutableId eq '{second}'") == set()
    seeded = [tenant.get_user(i) for i in tenant.user_ids()]
    synced = [u for u in seeded if u["onPremisesImmutableId"] and u["onPremisesSyncEnabled"]]
    for record in synced:
        assert _ids(graph, f"onPremisesImmutableId eq '{record['onPremisesImmutableId']}'") == {
            record["id"]
        }


def test_anchor_lookups_in_a_large_tenant(http, sim: GraphSimulator) -> None:
    big = sim.add_tenant(users=5_000, groups=0, seed=11)
    graph = Graph(http, sim, big, big.default_app)
    anchors = {}
    for user_id in big.user_ids()[::100]:
        anchors[user_id] = _anchor()
        big.set_immutable_id(user_id, anchors[user_id])
    for user_id, anchor in anchors.items():
        assert _ids(graph, f"onPremisesImmutableId eq '{anchor}'") == {user_id}
    hits = big.store.users.lookup("onPremisesImmutableId", list(anchors.values()))
    assert [r["id"] for r in hits] == list(anchors)


def test_a_domain_federated_and_back(graph: Graph, tenant, sim: GraphSimulator) -> None:
    name = sim.add_domain(tenant, "flip.contoso.test")
    user = tenant.create_user(upn=f"flip@{name}", password="Cl0ud!password")

    def write(password: str) -> int:
        body = {"passwordProfile": {"password": password, "forceChangePasswordNextSignIn": False}}
        return graph.patch(f"/users/{user.id}", body).status_code

    assert write("Rel4yed!one") == 204
    assert sign_in(sim, user.upn, "Rel4yed!one")
    tenant.set_federated(name)
    domain = graph.get(f"/domains/{name}").json()
    assert domain["authenticationType"] == "Federated"
    configs = graph.get(f"/domains/{name}/federationConfiguration")
    assert configs.status_code == 403  # the default app lacks Domain-InternalFederation.Read.All
    assert write("Rel4yed!two") == 400
    assert sign_in(sim, user.upn, "Rel4yed!one").code == 50126  # the IdP's to check now
    tenant.set_federated(name, False)
    assert graph.get(f"/domains/{name}").json()["authenticationType"] == "Managed"
    assert write("Rel4yed!three") == 204
    assert sign_in(sim, user.upn, "Rel4yed!three")
    with pytest.raises(ValueError, match="cannot be federated"):
        tenant.set_federated(tenant.domain)
    with pytest.raises(KeyError):
        tenant.set_federated("nowhere.example")
    federated = sim.add_domain(tenant, "born.fed.contoso.test", federated=True)
    assert tenant.federated(f"x@{federated}")
