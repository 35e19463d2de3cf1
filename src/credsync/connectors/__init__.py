"""Directory connectors: one package per directory kind behind :mod:`credsync.connectors.base`.

Nothing above this package sees an ldap3 entry, a Graph JSON document or a library exception.
"""
