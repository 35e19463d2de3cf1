"""The connector conformance suite lives in ``credsync.testing`` (connector packages run it
too), and the cases both ldap3 connectors pass in ``ldap3_cases``: their asserts are rewritten
for pytest's detailed messages, as a test module's are."""

import pytest

pytest.register_assert_rewrite("credsync.testing.conformance")
pytest.register_assert_rewrite("connectors.ldap3_cases")
