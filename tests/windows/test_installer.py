"""install.ps1 and uninstall.ps1 without PowerShell (there is none here; the scripts are never
run): what they configure, read out of their text (installer.py), must be exactly what the
programs read and what the Wine tests configure; and, under Wine, the registry part done with
``reg`` the way the installer does it, read back, and the filter loading that configuration.

What only Windows shows (lsass loading the package at boot, the spool's ACL enforced, the
service's recovery actions carried out, New-Service, Set-Acl, New-EventLog themselves) is
listed in docs/windows-filter.md, "What Wine cannot show".
"""

from __future__ import annotations

import hashlib
import re
import subprocess
from pathlib import Path

import pytest

from credsync.vault.capture_lsa import open_record, parse_record

from .conftest import WINE_TIMEOUT, Wine, windows_path
from .installer import INSTALL, ROOT, UNINSTALL, one, ps_string, read_installer
from .test_filter_dll import Key, key, notify, scan  # noqa: F401  (key: the fixture)

FILTER_C = ROOT / "windows" / "filter" / "credsyncfilter.c"
HARNESS_C = ROOT / "windows" / "tests" / "harness.c"
CONFIG_C = ROOT / "windows" / "forwarder" / "config.c"
SERVICE_C = ROOT / "windows" / "forwarder" / "service.c"
BUILD = ROOT / "scripts" / "build-windows"

pytestmark = pytest.mark.xdist_group("wine")


def c_wide(text: str) -> str:
    """A C wide string literal's text (``\\\\`` -> ``\\``)."""
    return text.replace("\\\\", "\\")


# --- the scripts' text against the C sources (no Wine) -------------------------------------
def test_the_filter_is_listed_by_the_name_the_build_gives_its_dll() -> None:
    reg = read_installer().registry
    built = re.findall(r'-o "\$OUT/([\w-]+)\.dll"', BUILD.read_text())
    assert built == [reg.package]  # "credsyncfilter": the DLL's name without .dll
    assert reg.lsa_key == r"HKLM\SYSTEM\CurrentControlSet\Control\Lsa"
    assert (reg.packages_value, reg.packages_type) == ("Notification Packages", "REG_MULTI_SZ")


def test_the_filters_configuration_is_what_the_dll_reads_and_the_harness_writes() -> None:
    reg = read_installer().registry
    source = FILTER_C.read_text()
    config_key = c_wide(one(r'#define CONFIG_KEY L"([^"]+)"', source, "CONFIG_KEY")[1])
    assert reg.config_key == f"HKLM\\{config_key}"
    reads = {name: "REG_SZ" for name in re.findall(r'read_sz\(L"(\w+)"', source)}
    reads |= {name: "REG_DWORD" for name in re.findall(r'read_dword\(L"(\w+)"', source)}
    # each value the installer writes is one the DLL reads, with the type it asks for
    # (RegGetValueW with RRF_RT_REG_SZ refuses a REG_DWORD and the other way round)
    assert {name: reads.get(name) for name in reg.config_values} == reg.config_values
    # what the DLL cannot do without (read_config returns FALSE), and the domain bound into
    # every record, are written by the installer
    assert {"SpoolDirectory", "RecipientKey", "Domain"} <= set(reg.config_values)
    # the harness (every Wine test of the filter) writes the same key, values and types
    harness = HARNESS_C.read_text()
    assert (
        c_wide(one(r'RegCreateKeyExW\(HKEY_LOCAL_MACHINE, L"([^"]+)"', harness, "key")[1])
        == config_key
    )
    written = {name: "REG_SZ" for name in re.findall(r'set_sz\(key, L"(\w+)"', harness)}
    written |= {
        n: t for n, t in re.findall(r'RegSetValueExW\(key, L"(\w+)", 0, (REG_\w+)', harness)
    }
    assert written == reg.config_values


def test_the_spool_directory_gets_the_same_acl_from_the_installer_and_the_dll() -> None:
    installer = read_installer()
    # protected (no inherited ACE), one ACE: SYSTEM full control, inherited by files and folders
    assert installer.spool_sddl == "D:P(A;OICI;FA;;;SY)"
    assert installer.spool_owner == "S-1-5-18"
    dll = one(r'ConvertStringSecurityDescriptorToSecurityDescriptorW\(\s*L"([^"]+)"',
              FILTER_C.read_text(), "the DLL's SDDL")[1]  # fmt: skip
    assert dll == installer.spool_sddl  # when lsass has to make the directory itself


def test_the_service_runs_the_forwarder_as_service_c_expects() -> None:
    installer = read_installer()
    service = installer.service
    source = SERVICE_C.read_text()
    assert (
        c_wide(one(r'#define SERVICE_NAME L"([^"]+)"', source, "SERVICE_NAME")[1]) == service.name
    )
    assert service.args_after_binary == ("CONF", "--service")
    assert 'L"--service"' in source
    assert (service.start, service.account) == ("auto", "LocalSystem")
    # restarted after a failure: 1 minute, three times, the count reset after a day; also when
    # it stops itself with an error
    assert service.failure_actions == "restart/60000/restart/60000/restart/60000"
    assert (service.failure_reset, service.failure_flag) == ("86400", "1")
    docs = (ROOT / "docs" / "windows-filter.md").read_text()
    assert f"actions= {service.failure_actions} reset= {service.failure_reset}" in docs
    assert f"sc.exe failureflag {service.failure_flag}" in docs


def test_the_forwarders_configuration_has_what_it_needs() -> None:
    names = read_installer().forwarder_conf_names
    source = CONFIG_C.read_text()
    known = set(re.findall(r"FIELD\((\w+)\)", source))
    known |= set(re.findall(r'!strcmp\(name, "(\w+)"\)', source))
    assert set(names) <= known, set(names) - known
    needed = set(re.findall(r"cfg\.(\w+)\[0\]", one(r"(?s)return cfg\.server_host.*?;", source,
                                                     "load_config's check")[0]))  # fmt: skip
    needed |= {"server_port", "token"}
    assert needed <= set(names), needed - set(names)
    assert "ldap_bind_password" not in names  # on a DC it binds as the machine


def test_the_event_sources_are_the_programs_own() -> None:
    sources = read_installer().event_sources
    filter_source = one(r'RegisterEventSourceW\(NULL, L"([^"]+)"\)', FILTER_C.read_text(), "DLL")
    forwarder_source = one(r'RegisterEventSourceW\(NULL, L"([^"]+)"\)', CONFIG_C.read_text(), "fw")
    assert sources == (filter_source[1], forwarder_source[1])


def test_the_uninstaller_undoes_the_same_names() -> None:
    installer = read_installer()
    text = UNINSTALL.read_text(encoding="utf-8")
    reg = installer.registry
    assert ps_string(text, "package") == reg.package
    assert ps_string(text, "lsaKey").replace("HKLM:\\", "HKLM\\") == reg.lsa_key
    assert ps_string(text, "configKey").replace("HKLM:\\", "HKLM\\") == reg.config_key
    # ours taken out of the list, the others kept, as a REG_MULTI_SZ still; ``@(...)`` keeps
    # it an array when ours was the only entry (an empty one, written as an empty
    # REG_MULTI_SZ: a bare pipeline would give $null)
    one(
        r"Set-ItemProperty -Path \$lsaKey -Name '"
        + re.escape(reg.packages_value)
        + r"' -Value \(\[string\[\]\]@\(\$packages \| Where-Object \{ \$_ -ne \$package \}\)\)"
        r" -Type MultiString",
        text,
        "the removal from the list",
    )
    name = installer.service.name
    one(rf"Stop-Service -Name '{name}' -Force", text, "the service stopped")
    one(rf"& sc\.exe delete '{name}'", text, "the service deleted")
    sources = one(r"foreach \(\$source in ('[^)]*')\)", text, "the event sources")[1]
    assert tuple(re.findall(r"'([^']+)'", sources)) == installer.event_sources
    assert "MOVEFILE_DELAY_UNTIL_REBOOT" in text  # lsass holds the DLL until the restart
    assert "RESTART" in text
    assert "RESTART" in INSTALL.read_text(encoding="utf-8")


# --- under Wine: the registry part, done with reg as install.ps1 does it --------------------
def _reg(wine: Wine, *args: str) -> str:
    return wine.run(Path("reg"), *args)


def _packages(wine: Wine, lsa_key: str, value: str, export: Path) -> list[str]:
    """The list read back from ``reg export`` (the value's raw bytes: ``hex(7)`` is
    REG_MULTI_SZ, UTF-16-LE strings each ended by a NUL, the list by one more)."""
    _reg(wine, "export", lsa_key, windows_path(export), "/y")
    text = export.read_bytes().decode("utf-16")
    found = one(rf'^"{re.escape(value)}"=hex\(7\):((?:[0-9a-f,]|\\\r?\n\s*)*)', text, value)
    raw = bytes.fromhex(re.sub(r"[^0-9a-f]", "", found[1]))
    strings = raw.decode("utf-16-le")
    if strings in ("", "\0"):  # an empty list: no string, at most the list's own NUL
        return []
    assert strings.endswith("\0\0"), repr(strings)
    return strings[:-2].split("\0")


def _install_packages_step(wine: Wine, lsa_key: str, value: str, package: str) -> None:
    """install.ps1's step 4 with reg: read the list, drop empty entries, add ours if absent,
    write it back as a REG_MULTI_SZ."""
    query = subprocess.run(
        ["wine", "reg", "query", lsa_key, "/v", value],
        env=wine.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=WINE_TIMEOUT,
        check=False,
    )  # exit 1 when the value is not there
    line = re.search(rf"{re.escape(value)}\s+REG_MULTI_SZ\s+(.*)", query.stdout.decode())
    packages = [p for p in (line[1].strip().split("\\0") if line else []) if p]
    if package not in packages:
        joined = "\\0".join([*packages, package])
        _reg(wine, "add", lsa_key, "/v", value, "/t", "REG_MULTI_SZ", "/d", joined, "/f")


def _uninstall_packages_step(
    wine: Wine, lsa_key: str, value: str, package: str, export: Path
) -> None:
    """uninstall.ps1's step with reg: ours out of the list, the others kept, written back as
    a REG_MULTI_SZ, an empty one when ours was the only entry (``@(...)``: never $null)."""
    kept = [p for p in _packages(wine, lsa_key, value, export) if p != package]
    _reg(wine, "add", lsa_key, "/v", value, "/t", "REG_MULTI_SZ", "/d", "\\0".join(kept), "/f")


def test_the_installers_registry_steps_under_wine_and_the_filter_loads_them(
    wine: Wine,
    key: Key,  # noqa: F811
    tmp_path: Path,
) -> None:
    reg = read_installer().registry
    lsa, value = reg.lsa_key, reg.packages_value
    # a DC's list before: Windows' own packages (scecli; rassfm with RRAS)
    _reg(wine, "add", lsa, "/v", value, "/t", "REG_MULTI_SZ", "/d", "scecli\\0rassfm", "/f")
    _install_packages_step(wine, lsa, value, reg.package)
    _install_packages_step(wine, lsa, value, reg.package)  # installed again: ours once
    export = tmp_path / "lsa.reg"
    assert _packages(wine, lsa, value, export) == ["scecli", "rassfm", reg.package]

    # step 3: the filter's configuration, each value with the installer's type
    spool = tmp_path / "spool"  # not made: the DLL makes it (SYSTEM only on Windows)
    given = {
        "SpoolDirectory": windows_path(spool),
        "RecipientKey": key.recipient_hex.upper(),  # install.ps1 lowercases it; either reads
        "Domain": "CONTOSO",
        "MaxSpoolFiles": "100000",
    }
    assert set(given) == set(reg.config_values)
    for name, kind in reg.config_values.items():
        _reg(wine, "add", reg.config_key, "/v", name, "/t", kind, "/d", given[name], "/f")
    shown = _reg(wine, "query", reg.config_key)
    for name, kind in reg.config_values.items():
        assert re.search(rf"{name}\s+{kind}\s", shown), shown

    # the filter reads that configuration (the harness writes none: SPOOL "-")
    password = "Inställér-Régistry-7!"
    script = tmp_path / "script.txt"
    script.write_text(notify(1234, "ann", password) + "\ndrain 15000\n", encoding="ascii")
    harness = wine.bin_dir / "harness.exe"
    out = wine.run(harness, windows_path(wine.dll), "-", "-", "-", "0", windows_path(script))
    assert "init ok" in out
    assert "drain ok" in out
    (path,) = sorted(spool.glob("*.cap"))
    record = parse_record(path.read_bytes())
    assert (record.domain_name, record.account_name, record.rid) == ("CONTOSO", "ann", 1234)
    assert open_record(key.decryptor, record).reveal() == password
    scan([path], [out], [password])

    # uninstall.ps1: ours out of the list (the others kept), the configuration deleted; a
    # filter loaded then refuses to start (lsass would skip it)
    _uninstall_packages_step(wine, lsa, value, reg.package, export)
    assert _packages(wine, lsa, value, export) == ["scecli", "rassfm"]
    # ours the only entry: the value stays, an empty REG_MULTI_SZ (not $null, not removed)
    _reg(wine, "add", lsa, "/v", value, "/t", "REG_MULTI_SZ", "/d", reg.package, "/f")
    _uninstall_packages_step(wine, lsa, value, reg.package, export)
    assert _packages(wine, lsa, value, export) == []
    assert re.search(rf"{re.escape(value)}\s+REG_MULTI_SZ", _reg(wine, "query", lsa, "/v", value))
    _reg(wine, "delete", reg.config_key, "/f")
    with pytest.raises(AssertionError, match="exited 4"):  # init false
        wine.run(harness, windows_path(wine.dll), "-", "-", "-", "0", windows_path(script))


def test_the_build_is_reproducible(wine: Wine, tmp_path: Path) -> None:
    """scripts/build-windows again, into another directory: the same bytes (the session's
    build is the first)."""
    again = tmp_path / "again"
    subprocess.run([str(BUILD), str(again)], capture_output=True, timeout=300, check=True)
    names = sorted(p.name for p in wine.bin_dir.iterdir() if p.suffix in (".dll", ".exe"))
    assert names == ["credsync-forwarder.exe", "credsyncfilter.dll", "harness.exe", "trustca.exe"]
    for name in names:
        first = hashlib.sha256((wine.bin_dir / name).read_bytes()).hexdigest()
        second = hashlib.sha256((again / name).read_bytes()).hexdigest()
        assert first == second, name


def test_the_dll_exports_lsas_three_names_and_imports_no_network(wine: Wine) -> None:
    """What lsass loads: the three notification package exports, undecorated; nothing in its
    import table that reaches a network (no sockets, WinHTTP, WinINet, LDAP, DNS)."""
    table = subprocess.run(
        ["x86_64-w64-mingw32-objdump", "-p", str(wine.dll)],
        capture_output=True,
        timeout=60,
        check=True,
    ).stdout.decode()
    imports = {name.lower() for name in re.findall(r"DLL Name: (\S+)", table)}
    assert imports == {"advapi32.dll", "bcrypt.dll", "kernel32.dll", "msvcrt.dll"}, imports
    exports = set(re.findall(r"^\s*\[\s*\d+\] (\w+)$", table, re.MULTILINE))
    lsa = {"InitializeChangeNotify", "PasswordFilter", "PasswordChangeNotify"}
    # and two hooks only the test harness and the bench call (drain, counters)
    assert exports == lsa | {"CredsyncFilterDrain", "CredsyncFilterCounters"}, exports
