"""A streamed full pass keeps the accounts an unlinked credential's name may match: its
check (``_answers``, no set made per account) says what ``Account.names()`` says."""

from __future__ import annotations

import itertools

from credsync.connectors.base import Account
from credsync.sync.streamed import _answers


def test_answers_agrees_with_the_account_s_names() -> None:
    accounts = [
        Account("1", "jdoe", "JDoe@Contoso.test", "CONTOSO"),  # AD: three names
        Account("2", "Ann@Contoso.test", "Ann@Contoso.test"),  # Entra: the UPN alone
        Account("3", "bob", None, None),
        Account("4", "Carl", "carl", None),  # the UPN only in another case
    ]
    names = ["jdoe", "jdoe@contoso.test", "contoso\\jdoe", "ann@contoso.test", "bob", "carl",
             "contoso\\bob", "nobody", "ann"]  # fmt: skip
    for size in range(3):
        for keys in map(set, itertools.combinations(names, size)):
            for account in accounts:
                assert _answers(account, keys) == (not keys.isdisjoint(account.names())), (
                    account.id,
                    keys,
                )
