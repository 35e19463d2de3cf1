"""A Microsoft Graph v1.0 + identity platform simulator for tests, demos and benchmarks.

    from credsync.testing.graphsim import GraphSimulator

    with GraphSimulator(port=0, seed=1) as sim:
        tenant = sim.add_tenant(users=100, groups=10)
        print(sim.info(tenant, tenant.default_app))

One HTTPS server on 127.0.0.1 (its own test CA: ``sim.ca_file``) plays, for any number of tenants,
OIDC discovery and the v2.0 token endpoint (client credentials by secret or certificate, and the
password grant: :func:`sign_in` proves a password works; the authorization code flow with
PKCE and the device code flow, with their sign-in pages: :func:`authorize` and
:func:`approve_device` play the user over HTTP) and Graph v1.0: users, groups and
members, delta queries, deleted items, licences, domains, admin roles (directoryRoles,
roleAssignments), the directory audit log, $batch, throttling and injectable faults, with
Graph's error shapes; and federated domains' sign-in: home realm discovery
(``/getuserrealm.srf``), the hop to the domain's identity provider (SAML 2.0 or WS-Federation)
and ``/login.srf`` checking its signed answer as Entra does, with the sign-in log
(``/auditLogs/signIns``): :func:`start_federated_sign_in` and :func:`post_to_login_srf` play
the browser over HTTP (``_fedsignin``). See the private modules' docstrings for the exact
behaviour. The product runs it only for ``credsync demo`` and ``credsync simulate graph`` (its
dependencies are the product's: see tests/test_dependencies.py).
"""

from ._fedsignin import (
    FederatedSignIn,
    IdpRequest,
    post_to_login_srf,
    read_authn_request,
    start_federated_sign_in,
)
from ._fixtures import simulator_fixture
from ._signin import SignIn, approve_device, authorize, sign_in
from ._signins import sign_in_entries
from ._simulator import DEFAULT_PERMISSIONS, DEFAULT_ROLE, GraphSimulator
from ._tenant import SimApp, SimTenant, SimUser
from ._throttle import ThrottleConfig

__all__ = [
    "DEFAULT_PERMISSIONS",
    "DEFAULT_ROLE",
    "FederatedSignIn",
    "GraphSimulator",
    "IdpRequest",
    "SignIn",
    "SimApp",
    "SimTenant",
    "SimUser",
    "ThrottleConfig",
    "approve_device",
    "authorize",
    "post_to_login_srf",
    "read_authn_request",
    "sign_in",
    "sign_in_entries",
    "simulator_fixture",
    "start_federated_sign_in",
]
