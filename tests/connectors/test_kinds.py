"""The kind descriptors and the registry: settings parsed and checked with the field named,
defaults, changes, the ways to sign in, the config each kind builds."""

from __future__ import annotations

from typing import Any

import pytest

from credsync.connectors import registry
from credsync.connectors.kinds import BIND_FIELD, BoundCredential, Kind
from credsync.errors import ConfigError, InvalidInput
from credsync.types import Secret

TENANT = "72f988bf-86f1-41af-91ab-2d7cd011db47"
APP = "0b6f3b8e-1c4d-4d0e-9a57-3e1f0c2d9b11"


def kind(name: str) -> Kind[Any]:
    return registry.kind_of(name)


def test_kinds_are_found_by_name_and_alias_in_any_case() -> None:
    names = {k.name for k in registry.KINDS}
    assert len(names) == len(registry.KINDS)
    for each in registry.KINDS:
        assert kind(each.name) is each
        for alias in each.aliases:
            assert kind(f" {alias.upper()} ") is each
    with pytest.raises(InvalidInput, match="not supported \\(one of: ") as refused:
        kind("novell")
    assert refused.value.field == "kind"


def test_every_kind_describes_itself_for_every_boundary() -> None:
    for each in registry.KINDS:
        assert each.display_name
        assert each.description
        assert each.binds
        flags = [s.cli_flag for s in each.settings] + [b.cli_flag for b in each.binds]
        assert len(set(flags)) == len(flags), each.name
        for setting in each.settings:
            assert setting.help.endswith(".")
            assert setting.label
            assert setting.heading
        assert sum(1 for b in each.binds if b.name is None) <= 1
        with pytest.raises(InvalidInput):
            each.parse({})  # every kind has a required setting


def test_required_settings_missing_or_empty_name_their_field() -> None:
    ad = kind("active_directory")
    with pytest.raises(InvalidInput, match="needs its URL") as refused:
        ad.parse({"base_dn": "DC=x"})
    assert refused.value.field == "url"
    with pytest.raises(InvalidInput, match="base DN must not be empty") as refused:
        ad.parse({"url": "ldaps://dc", "base_dn": "  "})
    assert refused.value.field == "base_dn"


def test_values_are_cleaned_and_refusals_name_the_field() -> None:
    ad = kind("ad")
    settings = ad.parse({"url": "LDAP://DC.example.test", "base_dn": " DC=example,DC=test "})
    assert (settings.url, settings.base_dn) == ("ldap://dc.example.test:389", "DC=example,DC=test")
    cases = [
        ({"url": "https://dc", "base_dn": "DC=x"}, "url", "must be ldaps://HOST"),
        ({"url": "ldaps://dc/x?y", "base_dn": "DC=x"}, "url", "only scheme, host and port"),
        ({"url": "ldaps://dc", "base_dn": "contoso"}, "base_dn", "not a distinguished name"),
        ({"url": "ldaps://dc", "base_dn": "DC=x", "tls_server_name": "a\x00b"},
         "tls_server_name", "control character"),
        ({"url": "ldaps://dc", "base_dn": "DC=x", "tenant_id": TENANT},
         "tenant_id", "tenant_id is not a setting of Active Directory"),
    ]  # fmt: skip
    for given, field, words in cases:
        with pytest.raises(InvalidInput, match=words) as refused:
            ad.parse(given)
        assert refused.value.field == field, given


def test_defaults_fill_what_is_not_given_and_a_change_keeps_the_rest() -> None:
    entra = kind("entra")
    first = entra.parse({"tenant_id": "Contoso.OnMicrosoft.com", "app_id": APP.upper()})
    assert first.tenant_id == "contoso.onmicrosoft.com"
    assert first.app_id == APP
    assert first.url == "https://graph.microsoft.com"
    assert first.authority == "https://login.microsoftonline.com"
    changed = entra.parse({"url": "https://127.0.0.1:8443/v1.0/"}, first)
    assert (changed.url, changed.tenant_id) == ("https://127.0.0.1:8443", first.tenant_id)
    back = entra.parse({"url": ""}, changed)  # an empty optional: its default again
    assert back.url == "https://graph.microsoft.com"
    assert not entra.rescans(first, changed)
    assert entra.rescans(first, entra.parse({"tenant_id": TENANT}, first))


def test_settings_are_stored_and_loaded_as_one_document() -> None:
    ad = kind("active_directory")
    settings = ad.parse({"url": "ldaps://dc", "base_dn": "DC=x"})
    stored = ad.dump(settings)
    assert stored == {"url": "ldaps://dc:636", "base_dn": "DC=x"}  # no empty values
    assert ad.load(stored) == settings
    # A setting a later version dropped is left out; a new one takes its default.
    assert ad.load({**stored, "dropped": "x"}) == settings


def test_the_way_to_sign_in_is_chosen_once() -> None:
    entra, ad = kind("entra"), kind("active_directory")
    assert ad.choose_bind({BIND_FIELD: "abc12345"}, None, adding=True) == ("abc12345", None)
    assert entra.choose_bind({"certificate_credential": "abc12345"}, None, adding=True) == (
        "abc12345",
        "certificate",
    )
    assert entra.choose_bind({BIND_FIELD: "abc12345"}, "secret", adding=False) == (
        "abc12345",
        "secret",
    )
    assert entra.choose_bind({}, "secret", adding=False) == (None, None)
    refusals = [
        (entra, {BIND_FIELD: "x"}, True, "say which", BIND_FIELD),
        (entra, {}, True, "certificate_credential \\(the app's certificate",
         "certificate_credential"),
        (entra, {"certificate_credential": "a", "secret_credential": "b"}, True, "not both",
         "secret_credential"),
        (ad, {"secret_credential": "x"}, True, "not how Active Directory directories sign in",
         "secret_credential"),
        (ad, {}, True, "give the credential Active Directory directories sign in with",
         BIND_FIELD),
    ]  # fmt: skip
    for each, given, adding, words, field in refusals:
        with pytest.raises(InvalidInput, match=words) as refused:
            each.choose_bind(given, None, adding=adding)
        assert refused.value.field == field, given


def test_each_kind_builds_its_connector_config() -> None:
    secret = Secret("Bind-Passw0rd-1!")
    ad = kind("active_directory")
    config = ad.config(
        ad.parse({"url": "ldaps://dc", "base_dn": "DC=x", "tls_server_name": "dc1.x"}),
        "contoso-ad",
        BoundCredential("CONTOSO\\svc", secret, None),
    )
    assert (config.kind, config.name, config.url) == (
        "active_directory",
        "contoso-ad",
        "ldaps://dc:636",
    )
    assert (config.bind_username, config.base_dn, config.tls_server_name) == (
        "CONTOSO\\svc",
        "DC=x",
        "dc1.x",
    )
    entra = kind("entra")
    config = entra.config(
        entra.parse({"tenant_id": TENANT, "app_id": APP}),
        "contoso-365",
        BoundCredential("ignored", secret, "secret"),
    )
    assert config.bind_username == APP  # the app signs in as itself
    assert config.options == {
        "tenant_id": TENANT,
        "authority": "https://login.microsoftonline.com",
        "credential": "secret",
    }
    assert "Bind-Passw0rd" not in repr(BoundCredential("u", secret, None))


def test_connectors_open_only_for_known_kinds() -> None:
    config = kind("active_directory").config(
        kind("active_directory").parse({"url": "ldaps://dc", "base_dn": "DC=x"}),
        "x",
        BoundCredential("u", Secret("p"), None),
    )
    connector = registry.open_connector(config)
    assert connector.kind == "active_directory"
    import dataclasses

    with pytest.raises(ConfigError, match="no connector for directory kind 'novell'"):
        registry.open_connector(dataclasses.replace(config, kind="novell"))


def test_help_texts_say_which_kind_when_kinds_differ() -> None:
    assert registry.help_text("tenant_id").startswith("Entra ID: ")
    url = registry.help_text("url")
    assert "Active Directory: " in url
    assert "Entra ID: " in url
    assert set(registry.verifying_kinds()) == {
        k.name for k in registry.KINDS if k.verifies_passwords
    }


def test_a_kinds_people_source_flag_agrees_with_its_connectors_people_capability() -> None:
    from credsync.connectors.ad.connector import ActiveDirectoryConnector
    from credsync.connectors.base import Capability
    from credsync.connectors.graph.connector import GraphConnector
    from credsync.connectors.ldap.connector import LdapConnector
    from credsync.connectors.local_accounts.connector import LocalAccountsConnector
    from credsync.connectors.registry import KINDS

    classes = {
        "active_directory": ActiveDirectoryConnector,
        "entra": GraphConnector,
        "ldap": LdapConnector,
        "local_accounts": LocalAccountsConnector,
    }
    assert sorted(classes) == sorted(k.name for k in KINDS)
    for kind in KINDS:
        # ldap's connector sets its capabilities per instance (never PEOPLE: ldap/connector.py)
        has = getattr(classes[kind.name], "capabilities", frozenset())
        assert kind.people_source == (Capability.PEOPLE in has), kind.name
        assert kind.deleted_objects == (Capability.DELETED_OBJECTS in has), kind.name
        assert kind.group_export == (Capability.GROUP_EXPORT in has), kind.name
        if kind.group_export:  # the export reads members with the people capability
            assert Capability.PEOPLE in has, kind.name
        assert kind.people_target == (Capability.PROVISION in has), kind.name
