"""Every command that works on a local vault and through a server gives the same output, the
same exit status and the same error line both ways, for the same input: reads, writes and
errors (an empty title, an unknown client, a stale version, a missing permission...).

Two copies of one vault: the local one, and one served by `credsync serve`. Each row of
:data:`CASES` runs on both (in order: the writes change both alike), locally signed in with
an API token and the passphrase, through the server with the same token; the outputs are
compared with what is not the same by nature masked (new ids, times, hashes, new tokens).

To add a command: a row (``read``: run with --json and as a table; ``write``: once; a
``{cred:Client/Title}`` or ``{token:name}`` in the arguments is that record's id on each
side)."""

from __future__ import annotations

import difflib
import json
import re
import shlex
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from credsync.types import Secret

BOB_PASSWORD = "bob-parity-password-5521"
PARTIAL = 10  # an import that rejected some rows (no error line: the report says which)
SECRETS = {  # the passwords this module stores: never shown by a failing comparison
    "First-Pa55-word!",
    "Second-Pa55-word!",
    "Backup-Pa55-word!",
    "Old-Pa55-word!",
    "Fab-Pa55-word!",
    "Bind-Pa55-word!",
    "Web-Pa55-word!",
    "Web-Pa55-word-2!",
    "Imp-Pa55-word-1!",
    "Imp-Pa55-word-2!",
    "dave-parity-password-7731",
    "dave-parity-password-8842",
    "frank-parity-password-6614",
    BOB_PASSWORD,
    "parity-app-secret-1",
    "parity-app-secret-2",
}
IMPORT = (
    "title,username,password,url,notes,tags,folder,type,sync_mode\r\n"
    "Imported one,imp1,Imp-Pa55-word-1!,https://one.test,a note,imp;one,Imported,login,\r\n"
    ",nobody,Imp-Pa55-word-2!,,,,,,\r\n"
    "Imported two,imp2,Imp-Pa55-word-2!,,,,,spaceship,\r\n"
)
MS_SETUP = (
    "--tenant-id 11111111-2222-3333-4444-555555555555 --client-id "
    "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee --redirect-uri "
    "https://vault.example.test/sign-in/microsoft/callback"
)
# What differs by nature between two vaults and two processes.
MASKS = [
    (re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"), "<id>"),
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"), "<time>"),
    (re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ"), "<time>"),
    (re.compile(r"\b[0-9a-f]{64}\b"), "<hash>"),
    (re.compile(r"cst_[A-Za-z0-9_-]+"), "<token>"),
]


@dataclass(frozen=True)
class Case:
    args: str  # shell words; {cred:Client/Title} and {token:name}: ids, side by side
    code: int = 0
    stdin: str | None = None
    who: str = "admin"  # or "bob" (a technician), or "viewer"
    modes: tuple[str, ...] = ("--json", "")  # a run with each: "--json", or "" (the table)
    mask: Callable[[str], str] | None = None  # what else differs by nature

    def __str__(self) -> str:
        args = re.sub(r"(.)\1{19,}", lambda m: f"{m.group(1)}*{len(m.group())}", self.args)
        return f"{self.who}: {args}" + (f" -> {self.code}" if self.code else "")


def read(args: str, code: int = 0, **kw: Any) -> Case:
    """A command that changes nothing: --json and table."""
    return Case(args, code, modes=("--json", "") if code == 0 else ("",), **kw)


def write(args: str, code: int = 0, *, json: bool = True, **kw: Any) -> Case:
    """A command run once (--json, or as text when ``json`` is False or it has none)."""
    return Case(args, code, modes=("--json",) if json and code == 0 else ("",), **kw)


def _lengths(text: str) -> str:
    """Generated passwords (a JSON list, or one a line): only their number and lengths can
    be the same."""
    try:
        shown = json.loads(text)
    except ValueError:  # one a line: a password may itself begin with "["
        shown = None
    if isinstance(shown, list):
        return json.dumps([len(p) for p in shown])
    return "\n".join(str(len(line)) for line in text.splitlines())


def _password(text: str) -> str:
    """A generated password shown: there, but not the same."""
    text = re.sub(r'"password": "[^"\n]+"', '"password": "<generated>"', text)
    return re.sub(r"(?m)^(Password:\s+).+$", r"\1<generated>", text)


def _denials(text: str) -> str:
    """A ``permission.denied`` entry says where the refusal came from: the command locally,
    the API route through a server, and the record a command's argument names where the
    API's path names none (a name to create): those are masked, the rest is the same."""
    if not text.lstrip().startswith("["):
        return re.sub(r"(?m)^(.*\bpermission\.denied\s+\S+).*$", r"\1 <as refused>", text)
    entries = json.loads(text)
    for entry in entries:
        if entry["action"] == "permission.denied":
            entry["target_id"] = "<as refused>"
            entry["details"] = {k: entry["details"][k] for k in ("permissions", "reason")}
    return json.dumps(entries, indent=2, ensure_ascii=False)


def _capture_key(text: str) -> str:
    """Each side makes its own capture key: its fingerprint and public key differ."""
    text = re.sub(r"\b[0-9A-F]{40}\b", "<fingerprint>", text)
    return re.sub(
        r"-----BEGIN PGP PUBLIC KEY BLOCK-----.*?-----END PGP PUBLIC KEY BLOCK-----\n?",
        "<public key>",
        text,
        flags=re.DOTALL,
    )


def _forwarder_token(text: str) -> str:
    return re.sub(r"csf1\.[^.\s\"]+\.[A-Za-z0-9_-]+", "<forwarder token>", text)


def _agent_enrolment(text: str) -> str:
    """An agent's id, token and times differ between the two sides."""
    text = re.sub(r"cra1\.[^.\s\"]+\.[A-Za-z0-9_-]+", "<agent token>", text)
    text = re.sub(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", "<id>", text)
    return re.sub(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?Z?( UTC)?", "<when>", text)


def _database(text: str) -> str:
    return re.sub(r"(?m)(\"database\": \"|^Database:\s+).*?(\"?,?)$", r"\1<where>\2", text)


CASES = [
    # -- clients and folders ---------------------------------------------------------------
    read("client list"),
    read("client list --archived"),
    read("client show contoso"),
    read("client show Nope", 4),
    write("client add 'Parity Co'"),
    write("client add 'parity co'", 5),
    write("client add ''", 2),
    write(f"client add '{'x' * 201}'", 2),
    write("client rename 'Parity Co' 'Parity Ltd'"),
    write("client rename 'Parity Ltd' 'Parity X' --if-version 1", 5),
    write("client set 'Parity Ltd' --directory-sync on"),
    write("client set 'Parity Ltd'", 2),
    write("client set 'Parity Ltd' --default-sync-mode enforce", 2),
    write("client set 'Parity Ltd' --default-sync-mode enforce --yes"),
    write("client set Contoso --directory-sync off", 3, who="bob"),
    write("client set 'Parity Ltd' --rotate-every 90"),
    write("client set 'Parity Ltd' --rotate-every 30 --directory-sync on"),
    write("client set 'Parity Ltd' --rotate-every never"),
    write("client set 'Parity Ltd' --rotate-every 3651", 2),
    write("client set 'Parity Ltd' --rotate-every soon", 2),
    write("client set Contoso --rotate-every 30", 3, who="viewer"),
    write("client add 'Parity Co' --rotate-every -3", 2),
    write("client archive 'Parity Ltd'"),
    write("client unarchive 'Parity Ltd'", json=False),
    read("folder list Contoso"),
    read("folder list Nope", 4),
    write("folder add 'Parity Ltd' ' Servers / DCs '"),
    write("folder add 'Parity Ltd' servers/dcs", 5),
    write("folder add 'Parity Ltd' ''", 2),
    write("folder add 'Parity Ltd' a/../b", 2),
    write("folder add 'Archived Co' Apps", 2),
    write("folder delete 'Parity Ltd' Servers/DCs"),
    write("folder delete 'Parity Ltd' Nope/Never", 4),
    # -- credentials: reads ----------------------------------------------------------------
    read("cred list Contoso"),
    read("cred list Contoso --trash"),
    read("cred list Contoso --tag backup"),
    read("cred list Contoso --folder Servers"),
    read("cred list Contoso --limit 1"),
    read("cred list Contoso --limit 1 --all"),
    read("cred list Contoso --limit 0", 2),
    read("cred list Nope", 4),
    read("cred search domain adm"),
    read("cred search backup --client contoso"),
    read("cred search ''", 2),
    read("cred search x --client Nope", 4),
    read("cred show '{cred:Contoso/Domain admin}'"),
    read("cred show '{cred:Contoso/Domain admin}' --reveal"),
    read("cred show '{cred:Contoso/Old share}'"),
    read("cred show 00000000-0000-0000-0000-000000000000", 4),
    read("cred show abc", 2),
    read("cred show '{cred:Contoso/Domain admin}' --reveal", 3, who="viewer"),
    read("cred history '{cred:Contoso/Domain admin}'"),
    read("cred history '{cred:Contoso/Domain admin}' --reveal"),
    read("cred history '{cred:Contoso/Domain admin}' --version 1"),
    read("cred history '{cred:Contoso/Domain admin}' --version 1 --reveal"),
    read("cred history '{cred:Contoso/Domain admin}' --version 9 --reveal", 4),
    read("cred history '{cred:Contoso/Domain admin}' --version 1 --reveal", 3, who="viewer"),
    read("cred list Contoso --password-unknown"),
    read("cred list Contoso --overdue"),
    # A directory_admin credential is not there for an operator without directory_admin.use.
    read("cred show '{cred:Fabrikam/LDAP bind}'", 4, who="bob"),
    read("cred history '{cred:Fabrikam/LDAP bind}'", 4, who="viewer"),
    # -- credentials: writes ---------------------------------------------------------------
    write(
        "cred add 'Parity Ltd' --title 'Web admin' --username webadmin --url https://web.test "
        "--tag web --folder Apps --notes 'the web one' --password-stdin",
        stdin="Web-Pa55-word!\n",
    ),
    write("cred add 'Parity Ltd' --title '' --password-stdin", 2, stdin="Web-Pa55-word!\n"),
    write("cred add 'Parity Ltd' --title x --password-stdin", 2, stdin="Web-Pa55-word!\nmore\n"),
    write(
        "cred add 'Parity Ltd' --title Noted --username n --generate --notes-stdin",
        stdin="line one\nline two\n",
    ),
    read("cred show '{cred:Parity Ltd/Noted}' --reveal", mask=_password),
    write("cred edit '{cred:Parity Ltd/Noted}' --notes-stdin", stdin="replaced\r\n"),
    write("cred edit '{cred:Parity Ltd/Noted}' --notes-stdin", 2, stdin="n" * 20_001),
    write("cred edit '{cred:Parity Ltd/Noted}' --notes-file /nonexistent/notes.txt", 2),
    write("cred edit '{cred:Parity Ltd/Noted}' --notes-file /dev/null"),
    write("cred add 'Parity Ltd' --title x --password-stdin --notes-stdin", 2, stdin="pw\nn\n"),
    write("cred add 'Parity Ltd' --title x --generate --notes 'a note' --notes-stdin", 2),
    write("cred add 'Parity Ltd' --title Inline --generate --notes 'inline note'"),
    write(f"cred add 'Parity Ltd' --title '{'t' * 256}' --generate", 2),
    write("cred add Nope --title x --password-stdin", 4, stdin="Web-Pa55-word!\n"),
    write("cred add 'Parity Ltd' --title Generated --username gen --generate --policy long"),
    write("cred add 'Parity Ltd' --title Twin --username twin --folder Apps --generate"),
    write("cred add 'Parity Ltd' --title TWIN --username Twin --folder apps --generate", 5),
    write(
        "cred add 'Parity Ltd' --title twin --username TWIN --folder Apps --generate "
        "--allow-duplicate"
    ),
    write("cred edit '{cred:Parity Ltd/Generated}' --title Twin --username twin --folder Apps", 5),
    write("cred add 'Parity Ltd' --title x --generate --policy nope", 4),
    write("cred add 'Parity Ltd' --title x --generate --password-stdin", 2),
    write("cred add 'Parity Ltd' --title x --policy long --password-stdin", 2, stdin="Pa55!\n"),
    write("cred add 'Parity Ltd' --title x --password-stdin", 2, stdin="\n"),
    write("cred add 'Parity Ltd' --title x --tag 'not a tag' --generate", 2),
    write("cred add 'Parity Ltd' --title x --type directory_admin --generate", 3, who="bob"),
    write("cred add 'Parity Ltd' --title x --sync-mode enforce --generate", 3, who="bob"),
    write("cred add 'Archived Co' --title x --generate", 2),
    write("cred edit '{cred:Parity Ltd/Web admin}' --title 'Web admin (old)' --tag legacy"),
    write("cred edit '{cred:Parity Ltd/Web admin (old)}' --title x --if-version 1", 5),
    write("cred edit '{cred:Parity Ltd/Web admin (old)}'", 2),
    write("cred edit '{cred:Parity Ltd/Web admin (old)}' --title ''", 2),
    write("cred edit '{cred:Parity Ltd/Web admin (old)}' --clear-tags --folder ''"),
    write(
        "cred set-password '{cred:Parity Ltd/Web admin (old)}' --password-stdin --reason rot",
        stdin="Web-Pa55-word-2!\n",
    ),
    write("cred set-password '{cred:Parity Ltd/Web admin (old)}' --generate --policy long"),
    write("cred set-password '{cred:Parity Ltd/Web admin (old)}' --generate --if-version 2", 5),
    write("cred set-password 00000000-0000 --generate", 4),
    write("cred generate '{cred:Parity Ltd/Web admin (old)}' --reason quarterly"),
    write("cred generate '{cred:Parity Ltd/Web admin (old)}' --show", mask=_password),
    write("cred generate '{cred:Parity Ltd/Web admin (old)}' --show", json=False, mask=_password),
    read("cred history '{cred:Parity Ltd/Web admin (old)}'"),
    write("cred sync-mode '{cred:Parity Ltd/Web admin (old)}' off"),
    write("cred sync-mode '{cred:Parity Ltd/Web admin (old)}' enforce", 2),
    write("cred sync-mode '{cred:Parity Ltd/Web admin (old)}' enforce --yes", 3, who="bob"),
    write("cred sync-mode '{cred:Parity Ltd/Web admin (old)}' enforce --yes"),
    write("cred sync-mode '{cred:Parity Ltd/Web admin (old)}' report"),
    write("cred sync-mode '{cred:Parity Ltd/Web admin (old)}' inherit", 2),
    write("cred sync-mode '{cred:Parity Ltd/Web admin (old)}' inherit --yes"),
    write("cred delete '{cred:Parity Ltd/Web admin (old)}' --if-version 1", 5),
    write("cred delete '{cred:Parity Ltd/Web admin (old)}'"),
    write("cred restore '{cred:Parity Ltd/Web admin (old)}'", json=False),
    write("cred restore '{cred:Parity Ltd/Web admin (old)}'", 2),
    write("cred delete '{cred:Parity Ltd/Web admin (old)}'", json=False),
    write("cred purge '{cred:Parity Ltd/Generated}' --yes", 2),
    write("cred purge '{cred:Parity Ltd/Web admin (old)}'", 2),
    write("cred purge '{cred:Parity Ltd/Web admin (old)}' --yes", 3, who="bob"),
    write("cred purge '{cred:Parity Ltd/Web admin (old)}' --yes", json=False),
    # -- policies and generate -------------------------------------------------------------
    read("policy list"),
    read("generate", mask=_lengths),
    read("generate --policy long --count 3 --no-ambiguous", mask=_lengths),
    read("generate --policy nope", 4),
    read("generate --length 4 --min-digits 5", 2),
    write("policy add Pin --length 6 --min-lower -1 --min-upper -1 --min-symbols -1"),
    write("policy add pin", 5),
    write("policy add default", 2),
    write("policy add ''", 2),
    write("policy add wide --length 300", 2),
    write("policy add wide --length 40", 3, who="bob"),
    write("policy delete pin", json=False),
    write("policy delete pin", 4),
    # -- operators, roles, tokens, who am I ------------------------------------------------
    read("whoami", mask=_database),
    read("whoami", who="bob", mask=_database),
    read("operator list"),
    read("operator show BOB"),
    read("operator show nobody", 4),
    read("operator list", 3, who="bob"),
    write("operator add dave --role viewer --password-stdin", stdin="dave-parity-password-7731\n"),
    write(
        "operator add Dave --role viewer --password-stdin",
        5,
        stdin="dave-parity-password-7731\n",
    ),
    write("operator add eve --role wizard --password-stdin", 4, stdin="eve-password-1234\n"),
    write("operator add eve --role viewer --password-stdin", 2, stdin="short\n"),
    write("operator add '' --role viewer --password-stdin", 2, stdin="eve-password-1234\n"),
    write("operator set-role dave auditor"),
    write("operator set-role dave nosuchrole", 4),
    write("operator disable dave", json=False),
    write("operator enable DAVE", json=False),
    write("operator disable alice", 2),
    write("operator passwd dave --password-stdin", json=False, stdin="dave-parity-password-8842\n"),
    write("operator passwd dave --password-stdin", 3, who="bob", stdin="dave-parity-pass-9953\n"),
    write(
        "operator passwd dave --password-stdin --revoke-tokens",
        json=False,
        stdin="dave-parity-password-8842\n",
    ),
    # client access: every client, or some (an admin always every one)
    write(
        "operator add frank --role viewer --client Contoso --password-stdin",
        stdin="frank-parity-password-6614\n",
    ),
    read("operator show frank"),
    write("operator clients frank --client contoso --client Fabrikam"),
    write("operator clients frank --all-clients"),
    write("operator clients frank --client Contoso", json=False),
    write("operator clients frank", 2),
    write("operator clients frank --client Nope", 2),
    write("operator clients alice --client Contoso", 2),
    write("operator clients nobody --all-clients", 4),
    write("operator clients frank --all-clients", 3, who="bob"),
    # -- operators who sign in with Microsoft ----------------------------------------------
    read("operator microsoft show", 4),
    write(
        f"operator microsoft setup {MS_SETUP} --client-secret-stdin",
        stdin="parity-app-secret-1\n",
    ),
    read("operator microsoft show"),
    write(
        "operator microsoft setup --tenant-id contoso --client-id "
        "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee --redirect-uri https://v.test/cb "
        "--client-secret-stdin",
        2,
        stdin="parity-app-secret-1\n",
    ),
    write(
        f"operator microsoft setup {MS_SETUP} --client-secret-stdin",
        3,
        who="bob",
        stdin="parity-app-secret-2\n",
    ),
    write(
        "operator microsoft link frank 99999999-8888-7777-6666-555555555555 --username f@msp.test"
    ),
    write("operator microsoft link frank not-a-guid", 2),
    read("operator microsoft list"),
    read("operator microsoft list", 3, who="bob"),
    read("operator microsoft group list"),
    write("operator microsoft group unmap 11111111-2222-3333-4444-555555555555", 4),
    write("operator microsoft group unmap not-a-guid", 2),
    write("operator microsoft unlink frank", json=False),
    write("operator microsoft unlink frank", 4),
    read("operator list"),
    read("role list"),
    write("role add Support --permission vault.read --permission secret.reveal --description x"),
    write("role add support --permission vault.read", 5),
    write("role add x --permission vault.everything", 2),
    write("role add '' --permission vault.read", 2),
    write("role set support --permission vault.read --permission audit.read"),
    write("role set support --description 'first line support'"),
    write("role set support", 2),
    write("role set viewer --permission vault.read", 2),
    write("role set nosuchrole --permission vault.read", 4),
    write("role delete support", json=False),
    write("role delete support", 4),
    write("role delete viewer", 2),
    # -- multi-factor sign-in (enrolment prints a new secret: tests/cli/test_mfa_cli.py) -----
    read("operator mfa status"),
    read("operator mfa status BOB"),
    read("operator mfa status val"),  # a security key: its name and dates, no key material
    read("operator mfa status nobody", 4),
    read("operator mfa status alice", 3, who="bob"),
    write("operator mfa confirm 123456", 5),
    write("operator mfa reset dave"),
    write("operator mfa reset dave", 3, who="bob"),
    write("operator mfa reset nobody", 4),
    read("mfa show"),
    write("mfa require --role technician"),
    write("mfa require --off --role technician"),
    write("mfa require --role nosuchrole", 4),
    write("mfa require --all", 3, who="bob"),
    write("mfa require", 2),
    read("token list"),
    read("token list --all"),
    read("token list", who="bob"),
    read("token list --all", 3, who="bob"),
    write("token create nightly --expires-days 30"),
    write("token create ''", 2),
    write("token create x --operator nobody", 4),
    write("token create for-alice --operator alice", 3, who="bob"),
    write("token revoke '{token:nightly}'", json=False),
    write("token revoke no-such-token", 4),
    write("token create dave-script --operator dave"),
    write("token revoke --all --operator dave", json=False),
    write("token revoke --all --operator alice", 3, who="bob"),
    write("token revoke --all --operator nobody", 4),
    write("token revoke", 2),
    # -- import and export -----------------------------------------------------------------
    write("import 'Parity Ltd' - --dry-run", 10, stdin=IMPORT),
    write("import 'Parity Ltd' - --strict", 2, stdin=IMPORT),
    write("import 'Parity Ltd' -", 10, stdin=IMPORT),
    write("import 'Parity Ltd' -", 10, stdin=IMPORT, json=False),
    write("import Nope -", 4, stdin=IMPORT),
    write("import 'Parity Ltd' - --generate-missing --policy nope", 4, stdin=IMPORT),
    write("import 'Parity Ltd' -", 2, stdin="title,secret\r\nx,y\r\n"),
    write("import 'Parity Ltd' -", 2, stdin=""),
    write("import 'Parity Ltd' - --policy nope", 3, who="viewer", stdin=IMPORT),
    write("export Fabrikam -o - --yes", json=False),
    write("export Fabrikam -o -", 2),
    write("export Nope -o - --yes", 4),
    write("export Fabrikam -o - --yes", 3, who="bob"),
    # -- audit -----------------------------------------------------------------------------
    read("audit --limit 500", mask=_denials),
    read("audit --action 'credential.*' --limit 20"),
    read("audit --client contoso"),
    read("audit --operator alice --limit 3"),
    read("audit --target '{cred:Contoso/Domain admin}'", mask=_denials),
    read("audit --client Nope", 4),
    read("audit --since 2000-01-01 --until 2999-12-31 --limit 5", mask=_denials),
    read("audit --until 2000-01-01T00:00:00Z"),
    read("audit --since yesterday", 2),
    read("audit --since 2026-03-02 --until 2026-03-01", 2),
    read("audit", 3, who="bob"),
    read("audit verify"),
    # -- sync and flags (without a directory: see test_remote_sync.py for runs) -------------
    read("flags"),
    read("flags Contoso --all"),
    read("flags Nope", 4),
    read("flags --directory parity-ldap --status mismatch --older-than 7d --since 2026-01-01"),
    read("flags --directory nowhere", 4),
    read("flags --older-than soon", 2),
    read("flags --status 'no such'", 2),
    read("flags --cursor bogus", 2),
    read("flags --limit 0", 2),
    read("flags --limit 5"),
    write("flags resolve 00000000 --push", 4),
    write("flags resolve 00000000", 2),
    write("flags resolve 00000000 11111111 --accept-directory", 9),
    write("flags resolve 00000000 11111111 --push", 3, who="bob"),
    write("flags resolve 00000000 11111111 --accept-directory --password-stdin", 2),
    write("flags confirm 00000000 --yes", 4),
    write("flags confirm --client Contoso --yes", 2),  # no link awaits confirmation
    write("flags confirm", 2),
    write("flags confirm --client Contoso --yes", 3, who="bob"),  # no directory.setup
    read("sync runs"),
    read("sync runs Contoso --limit 5"),
    read("sync runs --limit 0", 2),
    read("sync runs --state failed"),
    read("sync runs Contoso --directory nowhere", 4),
    read("sync runs --state sideways", 2),
    read("sync show 00000000", 4),
    read("sync show 0000", 2),
    write("sync plan Contoso", 2),
    write("sync run Contoso --dry-run", 2),
    write("sync run Nope", 4),
    # -- directories (their options made from the kind descriptors) --------------------------
    read("directory list"),
    read("directory list Fabrikam"),
    read("directory show parity-ldap"),
    read("directory show parity-ldap", who="bob"),
    read("directory list", who="viewer"),
    read("directory show Nope", 4),
    write(
        "directory add Fabrikam second-ldap --kind ldap --url ldaps://127.0.0.1:2 "
        "--base-dn ou=second,dc=example,dc=org --bind-credential '{cred:Fabrikam/LDAP bind}'"
    ),
    write(
        "directory add Fabrikam second-ldap --kind ldap --url ldaps://127.0.0.1:2 "
        "--base-dn ou=x,dc=example,dc=org --bind-credential '{cred:Fabrikam/LDAP bind}'",
        5,
    ),
    write(
        "directory add Fabrikam x --kind ldap --url https://x --base-dn dc=x "
        "--bind-credential '{cred:Fabrikam/LDAP bind}'",
        2,
    ),
    write(
        "directory add Fabrikam x --kind entra --tenant-id contoso.example "
        "--client-id 0b6f3b8e-1c4d-4d0e-9a57-3e1f0c2d9b11",
        2,
    ),
    write(
        "directory add Fabrikam x --kind ldap --url ldaps://x --base-dn dc=x "
        "--bind-credential '{cred:Fabrikam/LDAP bind}'",
        3,
        who="bob",
    ),
    write("directory set parity-ldap --naming-attribute cn"),
    write("directory set parity-ldap --user-filter uid=x", 2),
    write("directory set parity-ldap --tenant-id contoso.example", 2),
    write("directory set parity-ldap --option never_expires=1", 2),
    write("directory set parity-ldap --push-cap 0", 2),
    write("directory test parity-ldap", 8),
    read("directory auto-create parity-ldap"),
    write("directory auto-create parity-ldap --max-per-run 20 --folder 'From LDAP' --tag ldap"),
    write("directory auto-create parity-ldap --on", 2),  # LDAP can't select by scope yet
    write("directory auto-create parity-ldap --title '{mail}'", 2),
    write("directory auto-create parity-ldap --max-per-run 5", 3, who="bob"),
    write("directory auto-create parity-ldap --dry-run", 3, who="bob"),
    write("directory auto-create nowhere --dry-run", 4),
    # -- capture: the capture key, forwarders, accepting captured passwords ---------------
    write("capture key parity-ldap", mask=_capture_key),
    read("capture key parity-ldap", mask=_capture_key),
    write("capture key Nope", 4),
    write("capture key parity-ldap", 3, who="bob"),  # no directory.setup
    write("capture enroll parity-ldap --name dc1", mask=_forwarder_token),
    write("capture enroll parity-ldap --name ''", 2),
    read("capture list"),
    read("capture list --directory parity-ldap"),
    read("capture list --directory nowhere", 4),
    write("capture list", 3, who="bob"),
    write("capture revoke 00000000-0000-4000-8000-000000000000", 4),
    # -- remote agents --------------------------------------------------------------------
    write("remote-agent enroll site-p --directory parity-ldap", mask=_agent_enrolment),
    write("remote-agent enroll site-q --directory Nope", 4),
    write("remote-agent enroll site-r --directory parity-ldap", 3, who="bob"),
    read("remote-agent list", mask=_agent_enrolment),
    write("remote-agent rotate site-p", mask=_agent_enrolment),
    write("remote-agent revoke site-p", mask=_agent_enrolment),
    write("remote-agent revoke Nope", 4),
    write("flags accept 00000000 11111111", 9),
    write("flags accept 00000000", 3, who="viewer"),
    # -- people and groups (issue 16) -----------------------------------------------------
    write(
        "person add Contoso --username anna.berg --given-name Anna --surname Berg "
        "--email anna.berg@contoso.com --usage-location se"
    ),
    write("person add Contoso --username ANNA.BERG", 5),
    write("person add Contoso --username x --usage-location ZZ", 2),
    write("person add Contoso --username y --email nope", 2),
    write("person add Contoso --username v", 3, who="viewer"),
    read("person list Contoso"),
    # -- mail and self-service -------------------------------------------------------------
    read("mail show", 4),
    write("person invite anna.berg", 4),  # no mail server yet
    write(
        "mail set --host 127.0.0.1 --port 2525 --security none --from vault@msp.test "
        "--public-url https://vault.msp.test"
    ),
    read("mail show"),
    write("mail set --security none --host smtp.example.com", 2),
    write("mail set --host 127.0.0.1", 3, who="bob"),
    write("mail test nope", 2, json=False),
    write("person invite anna.berg", 2),  # not awaiting onboarding
    write("person invite anna.berg", 3, who="viewer"),
    write("person password-policy Contoso default", json=False),
    write("person password-policy Contoso no-such-policy", 4, json=False),
    write("person password-policy Contoso", json=False),
    read("person search anna"),
    read("person show anna.berg"),
    read("person show nobody", 4),
    write("person edit anna.berg --department Sales"),
    write("person edit anna.berg --surname X", 3, who="viewer"),
    write("person disable anna.berg"),
    write("person enable anna.berg"),
    write("person delete anna.berg"),
    read("person list Contoso --trash"),
    write("person restore anna.berg"),
    write("person mfa-reset anna.berg --client Contoso"),
    write("person mfa-reset anna.berg", 3, who="viewer"),
    write("person mfa-reset nobody", 4),
    write("group add Contoso Sales --type microsoft365 --email sales@contoso.com"),
    write("group add Contoso 'Nordic sales'"),
    write("group add Contoso X --email bad", 2),
    read("group list Contoso"),
    read("group search sales"),
    read("group show Sales"),
    write("group add-member Sales anna.berg"),
    write("group add-member Sales 'Nordic sales' --group"),
    write("group add-member 'Nordic sales' Sales --group", 2),
    read("group members Sales"),
    write("group remove-member Sales anna.berg"),
    write("group edit Sales --description 'Everyone in sales'"),
    write("group edit Sales --name Y", 3, who="viewer"),
    write("group delete 'Nordic sales'"),
    write("group restore 'Nordic sales'"),
    # -- the import of people and groups (a tenant of the Graph simulator: _seed_tenant) ----
    read("person import search Northwind parity-365"),
    read("person import search Northwind parity-365 ada --groups"),
    read("person import search Northwind parity-365 sales --groups --limit 1"),
    read("person import search Northwind parity-365 '\"displayName:ada\" AND'", 2),
    read("person import search Contoso nowhere", 4),
    read("person import search Contoso parity-365", 2),  # another client's directory
    read("person import search Northwind parity-365", 3, who="bob"),  # no directory.setup
    read("person import search Northwind parity-365 --limit 0", 2),
    write("person import sync Northwind parity-365 --query '' --groups --members --dry-run"),
    write("person import sync Northwind parity-365 --query ada"),
    write("person import sync Northwind parity-365 --query '' --groups --members", json=False),
    write("person import sync Northwind parity-365 --query '' --groups"),  # all unchanged
    # saved selections, and the import into a group with a provisioning policy
    write("person import save Northwind parity-365 Everyone --query '' --groups --interval 3600"),
    write("person import save Northwind parity-365 Everyone --query '' --interval 5", 2),
    write("person import save Northwind parity-365 Mine --query ''", 3, who="bob"),
    write("person import run-selection Northwind everyone"),
    write("person import run-selection Northwind everyone", json=False),
    read("person import selections Northwind"),
    read("person import selections Northwind Everyone"),
    read("person import selections Northwind", 3, who="bob"),
    write("person import run-selection Northwind nope", 4),
    write("person import remove-selection Northwind everyone"),
    read("person import selections Northwind"),
    write(
        "person import sync Northwind parity-365 --query ada --into-group Staff --folder "
        "People --sync-mode enforce --invite"
    ),
    write("person import sync Northwind parity-365 --query '' --into-group Staff", json=False),
    write("person import sync Northwind parity-365 --query ada --folder People", 2),
    read("person list Northwind"),
    read("person import search Northwind parity-365 --groups"),  # each with its vault id now
    write("person import sync Northwind parity-365 --id no-such-object", 9),
    write("person import sync Northwind parity-365 --id no-such-object", 9, json=False),
    write("person import sync Northwind parity-365", 2),  # neither ids nor a query
    write("person import sync Northwind parity-365 --id x --query ada", 2),  # both
    write("person import sync Northwind parity-365 --query ada", 3, who="viewer"),
    # -- the check of deleted objects (the same tenant: its users are live, so nothing is
    # listed and a choice is skipped; both sides read the one tenant, and write none of it)
    read("person deleted check Northwind parity-365"),
    read("person deleted check Northwind parity-365 --kept"),
    read("person deleted check Northwind parity-365", 3, who="bob"),  # no directory.setup
    read("person deleted check Contoso nowhere", 4),
    write("person deleted apply Northwind parity-365 --keep no-such-object --delete other"),
    write("person deleted apply Northwind parity-365 --keep no-such-object", json=False),
    write("person deleted apply Northwind parity-365 --restore 'x=a b'", 2),
    write("person deleted apply Northwind parity-365", 2),  # nothing chosen
    write("person deleted apply Northwind parity-365 --delete x", 3, who="viewer"),
    # -- quarantine (nothing held in this world: the reads, the refusals, empty decisions)
    read("quarantine list"),
    read("quarantine list --directory parity-365 --all"),
    read("quarantine list --directory nowhere", 4),
    read("quarantine show 0123456789abcdef", 4),
    read("quarantine show 01", 2),  # too short an id
    write("quarantine approve --directory parity-365"),
    write("quarantine discard --directory parity-365", json=False),
    write("quarantine restore --directory parity-365 --dry-run"),
    write("quarantine accept --directory parity-365"),
    write("quarantine approve", 2),  # neither ids nor a directory
    write("quarantine approve --directory parity-365", 3, who="bob"),  # no directory_admin.use
    write("quarantine restore --directory parity-365", 3, who="viewer"),
    read("quarantine defaults show"),
    write("quarantine defaults set --inbound-cap 50 --push-cap-percent 10"),
    write("quarantine defaults set --unset push_cap_percent --push-cap 300", json=False),
    write("quarantine defaults set --push-cap-percent 101", 2),  # names --push-cap-percent
    write("quarantine defaults set --inbound-cap -1", 2),
    write("quarantine defaults set", 2),  # nothing to set
    write("quarantine defaults set --push-cap 5 --unset push_cap", 2),
    write("quarantine defaults set --inbound-cap 50", 3, who="bob"),  # not an admin
    write("quarantine defaults set --inbound-cap 50", 3, who="viewer"),
    # -- the group export (the tenant is both sides': only what writes nothing to it) -------
    read("group export show Northwind parity-365"),
    write("group export set Northwind parity-365 --matching name --remove-duplicates"),
    write("group export set Northwind parity-365 --matching email", 2),
    read("group export show Northwind parity-365", 3, who="bob"),  # no directory.setup
    read("group export plan Northwind parity-365"),
    read("group export plan Northwind parity-365 --group 'Inner Sales'"),
    read("group export plan Northwind parity-365 --group nope", 4),
    read("group export plan Contoso parity-365", 2),  # another client's directory
    write("group export apply Northwind parity-365", 2),  # Northwind's directory sync is off
    write("client set Northwind --directory-sync on"),
    write("group export apply Northwind parity-365 --confirm-duplicates nope", 2),
    write("group export apply Northwind parity-365", 3, who="viewer"),
    # -- provisioning people (the tenant's domains are the simulator's: a suffix that is no
    # verified domain of it is refused at plan, so nothing is written to the shared tenant)
    read("person provision show parity-365"),
    write("person provision set parity-365 --username-template '{given}.{nick}'", 2),
    write("person provision set parity-365 --licence E3", 3, who="bob"),
    write(
        "person provision set parity-365 --username-template '{given}.{surname}' "
        "--suffix example.com --licence ENTERPRISEPACK --usage-location SE"
    ),
    write("person provision set parity-365", 2),  # nothing to change
    read("person provision show parity-365"),
    read("person provision plan Northwind parity-365", 2),
    read("person provision plan Northwind parity-365", 3, who="bob"),
    write("person provision apply Northwind parity-365", 2),
    write("person provision apply Northwind parity-365 --person x --group y", 2),
    # -- federation (the tenant is both sides': its app may not federate, so enable is
    # refused before any write; the rotation only makes keys in each vault)
    read("federation show Northwind"),
    write("federation enable Northwind example.com --url https://vault.example --yes", 2),
    write(
        "federation enable Northwind example.com --url https://vault.example --yes", 3, who="bob"
    ),
    write("federation disable Northwind example.com --yes", 4),
    write("federation rotate Northwind", 3, who="viewer"),
    write("federation rotate Northwind"),
    write("federation rotate Northwind --finish"),
    read("federation show Northwind", who="viewer"),
    write("directory remove second-ldap --yes"),
]


# -- the two vaults -----------------------------------------------------------------------
@dataclass
class Sides:
    """The local vault's home and the served copy; each side's environment per operator."""

    local: dict[str, dict[str, str | None]]
    remote: dict[str, dict[str, str | None]]
    server: Any = None

    def __repr__(self) -> str:  # the environments hold API tokens
        return "Sides()"


def _setup(cli: Any, home: Path, sim: Any) -> dict[str, str]:
    """The local vault as both sides start; the API tokens of alice, bob and a viewer."""
    cli.home, cli.env = home, {**cli.env, "CREDSYNC_HOME": str(home)}
    for name in ("Contoso", "Fabrikam", "Archived Co"):
        cli.ok("client", "add", name)
    cli.ok("client", "set", "Contoso", "--directory-sync", "on")
    admin = cli.add_cred(
        "Contoso", "Domain admin", "First-Pa55-word!", "--tag", "tier0", username="CONTOSO\\admin"
    )
    cli.ok("cred", "set-password", admin["id"], "--password-stdin", "--reason", "rotation",
           stdin="Second-Pa55-word!\n")  # fmt: skip
    cli.add_cred("Contoso", "Backup", "Backup-Pa55-word!", "--tag", "backup", "--folder",
                 "Servers", username="svc-backup")  # fmt: skip
    old = cli.add_cred("Contoso", "Old share", "Old-Pa55-word!", username="share")
    cli.ok("cred", "delete", old["id"])
    cli.add_cred("Fabrikam", "Fab admin", "Fab-Pa55-word!", "--notes", "kept secret",
                 username="FAB\\admin")  # fmt: skip
    cli.ok("client", "archive", "Archived Co")
    bind = cli.add_cred(
        "Fabrikam", "LDAP bind", "Bind-Pa55-word!", "--type", "directory_admin", "--sync-mode",
        "off", username="cn=credsync,ou=services,dc=example,dc=org",
    )  # fmt: skip
    cli.ok("directory", "add", "Fabrikam", "parity-ldap", "--kind", "ldap", "--url",
           "ldaps://127.0.0.1:1", "--base-dn", "ou=people,dc=example,dc=org",
           "--bind-credential", bind["id"])  # fmt: skip
    cli.ok("policy", "add", "long", "--length", "32", "--exclude", "`")
    _seed_tenant(cli, sim, home.parent)
    for name, role in (("bob", "technician"), ("val", "viewer")):
        cli.ok("operator", "add", name, "--role", role, "--password-stdin", stdin=BOB_PASSWORD)
    cli.ok("role", "add", "helpdesk", "--permission", "vault.read")
    tokens = {"admin": cli.json("token", "create", "parity")["token"]}
    tokens["bob"] = cli.json("token", "create", "bob-script", "--operator", "bob")["token"]
    tokens["viewer"] = cli.json("token", "create", "val-script", "--operator", "val")["token"]
    _add_security_key(home, "val")
    return tokens


def _seed_tenant(cli: Any, sim: Any, folder: Path) -> None:
    """A tenant of the Graph simulator (two users, a group of one of them and another group)
    and the Entra directory on it of a client of its own, ``parity-365`` of Northwind (the
    other clients' rows stay as they were): both sides reach the same simulator, which the
    import only reads."""
    cli.ok("client", "add", "Northwind")
    tenant = sim.add_tenant(users=0, groups=0)
    ada = tenant.create_user(upn=f"ada@{tenant.domain}", display_name="Ada Lovelace")
    tenant.create_user(upn=f"bob@{tenant.domain}", display_name="Bob Sales")
    inner = tenant.create_group("Inner Sales", members=[ada.id])
    team = tenant.create_group("Sales Team", unified=True)
    tenant.add_member(team, inner)
    ca = folder / "ca.pem"
    ca.write_text(sim.ca_pem)
    app = tenant.default_app
    secret = cli.add_cred("Northwind", "Graph app", app.client_secret, "--type",
                          "directory_admin", "--sync-mode", "off",
                          username="credsync-app")  # fmt: skip
    cli.ok("directory", "add", "Northwind", "parity-365", "--kind", "entra", "--tenant-id",
           tenant.id, "--client-id", app.client_id, "--secret-credential", secret["id"],
           "--authority", sim.url, "--url", sim.graph_url, "--ca-file", str(ca))  # fmt: skip


def _add_security_key(home: Path, name: str) -> None:
    """A security key for operator ``name`` (a software authenticator: the dashboard's
    ceremony, which the CLI has no command for), so `operator mfa status` lists one."""
    from credsync.crypto.webauthn import RelyingParty
    from credsync.storage import Database
    from credsync.vault import Vault
    from vault.soft_key import SoftKey

    rp = RelyingParty("localhost", "http://localhost")
    db = Database(f"sqlite:///{home / 'vault.db'}")
    try:
        vault = Vault.open(db)
        actor = vault.access.login_password(name, Secret(BOB_PASSWORD))
        options = vault.security_keys.registration_options(actor, rp)
        vault.security_keys.register(actor, rp, "Desk key", SoftKey().create(options))
    finally:
        db.dispose()


@pytest.fixture(scope="module")
def _sides() -> Iterator[dict[str, Any]]:
    """Made by the module's first test (which has a ``cli`` to make them with)."""
    from credsync.testing.graphsim import GraphSimulator

    made: dict[str, Any] = {}
    with GraphSimulator(port=0, seed=11) as sim:
        made["sim"] = sim
        yield made
        if "sides" in made:
            made["sides"].server.stop()


@pytest.fixture
def sides(
    _sides: dict[str, Any], cli: Any, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Any, Sides]:
    if "sides" not in _sides:
        root = tmp_path_factory.mktemp("parity")
        local, served = root / "local", root / "served"
        shutil.copytree(cli.home, local)
        tokens = _setup(cli, local, _sides["sim"])
        shutil.copytree(local, served)
        cli.home, cli.env = served, {**cli.env, "CREDSYNC_HOME": str(served)}
        server = cli.serve()
        home = {"CREDSYNC_HOME": str(local)}
        _sides["sides"] = Sides(
            local={
                who: cli.RemoteEnv(home, CREDSYNC_TOKEN=token, CREDSYNC_PASSPHRASE=cli.passphrase)
                for who, token in tokens.items()
            },
            remote={who: {**home, **server.remote(token)} for who, token in tokens.items()},
            server=server,
        )
        _sides["home"] = local
    cli.home = _sides["home"]
    return cli, _sides["sides"]


# -- running a row on both sides ----------------------------------------------------------
_PLACEHOLDER = re.compile(r"\{(cred|token):([^}]+)\}")


def _resolve(cli: Any, env: dict[str, str | None], word: str) -> str:
    """A row's argument with its placeholders replaced by ids on this side."""

    def lookup(match: re.Match[str]) -> str:
        if match.group(1) == "token":
            found = cli.run("token", "list", "--json", env=env, only=True).json()
            return next(t["id"] for t in found if t["name"] == match.group(2))
        client, title = match.group(2).split("/", 1)
        for trash in ((), ("--trash",)):
            listed = cli.run("cred", "list", client, "--json", *trash, env=env, only=True)
            found = [c["id"] for c in listed.json() if c["title"] == title]
            if found:
                return str(found[0])
        raise AssertionError(f"no credential {match.group(2)!r}")

    return _PLACEHOLDER.sub(lookup, word)


def _masked(text: str, case: Case) -> str:
    for pattern, stand_in in MASKS:
        text = pattern.sub(stand_in, text)
    return case.mask(text) if case.mask else text


def _shown(text: str) -> str:
    """For a failure message: the stored passwords named, never shown."""
    for secret in SECRETS:
        text = text.replace(secret, "<secret>")
    return text


@pytest.mark.parametrize("case", CASES, ids=str)
def test_a_command_gives_the_same_locally_and_through_a_server(sides: Any, case: Case) -> None:
    cli, both = sides
    runs = {}
    for side, envs in (("local", both.local), ("remote", both.remote)):
        env = envs[case.who]
        args = [_resolve(cli, envs["admin"], word) for word in shlex.split(case.args)]
        for mode in case.modes:
            result = cli.run(*args, *([mode] if mode else []), stdin=case.stdin, env=env, only=True)
            runs[side, mode] = result
    problems = []
    for mode in case.modes:
        local, remote = runs["local", mode], runs["remote", mode]
        if (local.code, remote.code) != (case.code, case.code):
            problems.append(f"{mode or 'text'}: exit {local.code} locally, {remote.code} remotely")
        for stream in ("out", "err"):
            here = _masked(getattr(local, stream), case)
            there = _masked(getattr(remote, stream), case)
            if here != there:
                diff = difflib.unified_diff(
                    here.splitlines(), there.splitlines(), "local", "remote", lineterm=""
                )
                problems.append(f"{mode or 'text'} std{stream}:\n" + "\n".join(diff))
        if case.code not in (0, PARTIAL) and local.err.count("credsync: error: ") != 1:
            problems.append(f"{mode or 'text'}: not one error line: {local.err!r}")
    if problems:
        pytest.fail(_shown(f"{case}\n" + "\n".join(problems)), pytrace=False)
