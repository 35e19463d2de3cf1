"""The AES (level 31) -> RC4 (level 26) fallback of the admin reset: which refusals switch the
session to RC4 and which go up verbatim.

No server here refuses level 31 for not knowing it (Samba 4.17 does it), so the switch itself
is shown by a UNIT TEST OF THE DECISION (``aes_unsupported``) with the exceptions impacket
raises for the NTSTATUS values Microsoft documents (MS-SAMR 3.1.5.6.4 SamrSetInformationUser2
and 3.1.5.6.4.1 "Common Processing",
https://learn.microsoft.com/openspecs/windows_protocols/ms-samr/c00ca1dd-5a29-4655-bd6f-6e680e154bc9
; the values from MS-ERREF 2.3.1,
https://learn.microsoft.com/openspecs/windows_protocols/ms-erref/596a1078-e883-4972-9bbc-49e60bebca55
). A real refusal of the level-31 call itself, by the real Samba standalone server (a user
handle opened without the right to set a password: STATUS_ACCESS_DENIED), shows the other side
end to end: reported as it is, no RC4 try, the session still on AES.
"""

from __future__ import annotations

import errno

import pytest
from impacket.dcerpc.v5 import samr
from impacket.dcerpc.v5.rpcrt import DCERPCException

from credsync.connectors.local_accounts import LocalAccountsConnector
from credsync.connectors.local_accounts._client import LEVEL_AES, aes_unsupported, login
from credsync.connectors.local_accounts._errors import translate
from credsync.errors import AccountNotFound, PolicyRejected
from credsync.testing.conformance import strong_password
from credsync.testing.samba_standalone import LocalMachine

# NTSTATUS (MS-ERREF 2.3.1) a server answers when it cannot do the information class itself
SWITCHES_TO_RC4 = {
    "STATUS_INVALID_INFO_CLASS": 0xC0000003,
    "STATUS_NOT_SUPPORTED": 0xC00000BB,
    "STATUS_INVALID_PARAMETER": 0xC000000D,
}
# refusals of this password, this caller or this account: never retried with RC4
REPORTED_AS_IS = {
    "STATUS_PASSWORD_RESTRICTION": 0xC000006C,  # complexity, length, history
    "STATUS_ILL_FORMED_PASSWORD": 0xC000006B,
    "STATUS_ACCESS_DENIED": 0xC0000022,
    "STATUS_WRONG_PASSWORD": 0xC000006A,  # a password blob the server could not open
    "STATUS_NO_SUCH_USER": 0xC0000064,
    "STATUS_ACCOUNT_LOCKED_OUT": 0xC0000234,
}


@pytest.mark.parametrize(("name", "code"), SWITCHES_TO_RC4.items())
def test_decision_unit_an_unknown_information_class_switches_to_rc4(name: str, code: int) -> None:
    refused = samr.DCERPCSessionError(error_code=code)
    assert name in str(refused)  # impacket's name for the documented value
    assert aes_unsupported(refused)


@pytest.mark.parametrize(
    ("fault", "code"), [("rpc_x_bad_stub_data", 0x6F7), ("nca_s_op_rng_error", 0x1C010002)]
)
def test_decision_unit_a_server_that_cannot_unmarshal_level_31_switches_to_rc4(
    fault: str, code: int
) -> None:
    refused = DCERPCException(error_code=code)
    assert fault in str(refused)
    assert aes_unsupported(refused)


@pytest.mark.parametrize(("name", "code"), REPORTED_AS_IS.items())
def test_decision_unit_any_other_refusal_is_reported_not_retried_with_rc4(
    name: str, code: int
) -> None:
    refused = samr.DCERPCSessionError(error_code=code)
    assert name in str(refused)
    assert not aes_unsupported(refused)
    # and what the operator reads is the server's own NTSTATUS name
    assert f": {name}: " in str(translate(refused, where="set the password of FILESRV1\\ann"))


def test_decision_unit_a_policy_refusal_on_level_31_is_policy_rejected_verbatim() -> None:
    refused = samr.DCERPCSessionError(error_code=REPORTED_AS_IS["STATUS_PASSWORD_RESTRICTION"])
    assert not aes_unsupported(refused)
    err = translate(refused, where="set the password of FILESRV1\\ann")
    assert isinstance(err, PolicyRejected)
    assert str(err).startswith("set the password of FILESRV1\\ann: STATUS_PASSWORD_RESTRICTION: ")


def test_decision_unit_other_faults_and_lost_connections_never_switch() -> None:
    assert not aes_unsupported(DCERPCException(error_code=0x5))  # rpc_s_access_denied
    assert not aes_unsupported(ConnectionResetError(errno.ECONNRESET, "reset by peer"))
    assert not aes_unsupported(TimeoutError("timed out"))


def test_a_real_refusal_of_level_31_is_reported_and_never_retried_with_rc4(
    local_machine: LocalMachine, conn: LocalAccountsConnector
) -> None:
    """The real Samba standalone server refuses the level-31 call itself: the account was
    deleted after its handle was opened, so SamrSetInformationUser2 answers
    STATUS_NO_SUCH_USER. It goes up as it is; the session does not switch to RC4 and its next
    reset (of another account) is AES again."""
    gone, other = local_machine.admin.create_users(2)
    session = conn._session
    session.connect()
    assert session.aes

    def reset_after_a_delete(dce: object, domain: object) -> int:
        handle = samr.hSamrOpenUser(dce, domain, samr.USER_FORCE_PASSWORD_CHANGE, gone.rid)[
            "UserHandle"
        ]
        try:
            local_machine.admin.delete(gone.name)
            return session._reset(dce, handle, strong_password(), False)
        finally:
            samr.hSamrCloseHandle(dce, handle)

    with pytest.raises(samr.DCERPCSessionError) as refused:
        session.call(reset_after_a_delete)
    assert "STATUS_NO_SUCH_USER" in str(refused.value)
    assert not aes_unsupported(refused.value)
    assert session.aes  # no switch: RC4 was never tried
    err = translate(refused.value, where="reset")
    assert isinstance(err, AccountNotFound)
    assert ": STATUS_NO_SUCH_USER: " in str(err)
    new = strong_password()
    level, _ = session.set_password(other.rid, new, False)  # AES, as before
    assert level == LEVEL_AES
    facts = local_machine.facts
    assert login(facts.host, facts.port, facts.machine, other.name, new, 5).status is None
