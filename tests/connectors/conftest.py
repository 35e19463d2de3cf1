"""The connector conformance suite lives in ``credsync.testing`` (connector packages run it
too): its asserts are rewritten for pytest's detailed messages, as a test module's are."""

import pytest

pytest.register_assert_rewrite("credsync.testing.conformance")
