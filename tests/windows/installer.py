"""What ``windows/install.ps1`` configures on a domain controller, read from the script itself.

There is no PowerShell here, so the installer is never run. Instead its settings are read out
of its text (each with a pattern that must match exactly once), and the Wine tests configure
Wine with *these* values (``sc create``, ``sc failure``, ``reg add``): if the script changes,
the tests change with it or fail, so the two cannot drift. ``test_installer.py`` checks the
values against the C sources (the DLL's and the forwarder's names, keys and ACL).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
INSTALL = ROOT / "windows" / "install.ps1"
UNINSTALL = ROOT / "windows" / "uninstall.ps1"

# New-Service -StartupType -> sc.exe start=
_START = {"Automatic": "auto", "Manual": "demand", "Disabled": "disabled"}
# PowerShell Set-ItemProperty -Type -> the registry's type
_REG_TYPE = {"String": "REG_SZ", "DWord": "REG_DWORD", "MultiString": "REG_MULTI_SZ"}
# FileSystemAccessRule's rights and inheritance -> SDDL
_RIGHTS = {"FullControl": "FA"}
_INHERIT = {"ObjectInherit": "OI", "ContainerInherit": "CI"}  # in SDDL's order
_SID_ALIAS = {"S-1-5-18": "SY", "S-1-5-32-544": "BA"}


def one(pattern: str, text: str, what: str) -> re.Match[str]:
    """The one match of ``pattern`` in ``text``; fails naming ``what`` when there are none or
    several (the script changed shape: this file must follow it)."""
    found = list(re.finditer(pattern, text, re.MULTILINE))
    assert len(found) == 1, f"{what}: {len(found)} matches of {pattern!r} in the script"
    return found[0]


def ps_string(text: str, variable: str) -> str:
    """The single-quoted string assigned to ``$variable``."""
    return one(rf"^\s*\${variable} = '([^']*)'\s*$", text, f"${variable}")[1]


@dataclass(frozen=True)
class ServiceSpec:
    """The forwarder's service as install.ps1 makes it."""

    name: str
    start: str  # sc.exe's word: auto
    account: str  # LocalSystem
    args_after_binary: tuple[str, ...]  # ("CONF", "--service"): the configuration file, quoted
    failure_reset: str
    failure_actions: str
    failure_flag: str

    def bin_path(self, exe: str, conf: str) -> str:
        """``"EXE" "CONF" --service``, quoted as install.ps1 quotes it."""
        quoted = {"CONF": f'"{conf}"'}
        return " ".join([f'"{exe}"', *(quoted.get(a, a) for a in self.args_after_binary)])

    def sc_create(self, exe: str, conf: str) -> list[str]:
        return [
            "create", self.name, "binPath=", self.bin_path(exe, conf),
            "start=", self.start, "obj=", self.account,
        ]  # fmt: skip

    def sc_failure(self) -> list[str]:
        return [
            "failure", self.name, "reset=", self.failure_reset, "actions=", self.failure_actions,
        ]  # fmt: skip


@dataclass(frozen=True)
class RegistrySpec:
    """The registry as install.ps1 leaves it (PowerShell's ``HKLM:\\`` written ``HKLM\\``)."""

    package: str  # the DLL's name without .dll, added to Notification Packages
    lsa_key: str
    packages_value: str
    packages_type: str
    config_key: str
    config_values: dict[str, str]  # value name -> REG_SZ / REG_DWORD, in the script's order


@dataclass(frozen=True)
class Installer:
    service: ServiceSpec
    registry: RegistrySpec
    spool_sddl: str  # the spool directory's DACL, as SDDL
    spool_owner: str  # its owner's SID
    event_sources: tuple[str, ...]
    forwarder_conf_names: tuple[str, ...]  # the name=value lines it writes


def _service(text: str) -> ServiceSpec:
    name = ps_string(text, "service")
    bin_path = one(r'^\s*\$binPath = "`"\$binary`" (.*)"\s*$', text, "$binPath")[1]
    args = tuple("CONF" if a == '`"$conf`"' else a for a in bin_path.split(" "))
    config = one(
        r"^\s*& sc\.exe config \$service binPath= \$binPath start= (\w+) obj= (\w+) \| Out-Null$",
        text,
        "sc.exe config",
    )
    new = one(r"New-Service -Name \$service -BinaryPathName \$binPath [^|]*", text, "New-Service")
    startup = one(r"-StartupType (\w+)", new[0], "New-Service -StartupType")[1]
    # New-Service without -Credential runs the service as LocalSystem
    assert "-Credential" not in new[0], "New-Service names an account: the tests assume LocalSystem"
    assert _START[startup] == config[1], "New-Service and sc.exe config disagree on the start type"
    failure = one(
        r"^\s*& sc\.exe failure \$service reset= (\d+) actions= (\S+) \| Out-Null$",
        text,
        "sc.exe failure",
    )
    flag = one(r"^\s*& sc\.exe failureflag \$service (\d) \| Out-Null$", text, "sc.exe failureflag")
    return ServiceSpec(
        name=name,
        start=config[1],
        account=config[2],
        args_after_binary=args,
        failure_reset=failure[1],
        failure_actions=failure[2],
        failure_flag=flag[1],
    )


def _registry(text: str) -> RegistrySpec:
    lsa_key = ps_string(text, "lsaKey")
    config_key = ps_string(text, "configKey")
    added = one(
        r"^\s*Set-ItemProperty -Path \$lsaKey -Name '([^']+)' "
        r"-Value \(\[string\[\]\]\(\$packages \+ \$package\)\) -Type (\w+)$",
        text,
        "Notification Packages",
    )
    # ours added only when absent, the others kept (read first, empties dropped)
    one(r"if \(\$packages -notcontains \$package\)", text, "the check that ours is absent")
    one(
        r"\$packages = @\(\(Get-ItemProperty -Path \$lsaKey -Name '"
        + re.escape(added[1])
        + r"' -ErrorAction SilentlyContinue\)\.'"
        + re.escape(added[1])
        + r"'\)",
        text,
        "the read of the list",
    )
    values = {
        m[1]: _REG_TYPE[m[2]]
        for m in re.finditer(
            r"^\s*Set-ItemProperty -Path \$configKey -Name (\w+) -Value .* -Type (\w+)$",
            text,
            re.MULTILINE,
        )
    }
    return RegistrySpec(
        package=ps_string(text, "package"),
        lsa_key=lsa_key.replace("HKLM:\\", "HKLM\\"),
        packages_value=added[1],
        packages_type=_REG_TYPE[added[2]],
        config_key=config_key.replace("HKLM:\\", "HKLM\\"),
        config_values=values,
    )


def _spool_acl(text: str) -> tuple[str, str]:
    block = one(
        r"(?s)# 1\. The spool directory.*?Set-Acl -LiteralPath \$SpoolDirectory -AclObject \$acl",
        text,
        "the spool directory's block",
    )[0]
    protected = "$acl.SetAccessRuleProtection($true, $false)" in block
    sid = one(r"SecurityIdentifier\('([^']+)'\)", block, "the spool's SID")[1]
    assert "$acl.SetOwner($system)" in block, "the spool's owner is no longer SYSTEM"
    rules = re.findall(
        r"FileSystemAccessRule\(\s*\$system, '(\w+)', '([\w,]+)', 'None', 'Allow'\)", block
    )
    assert len(rules) == 1, f"the spool's ACEs: {rules}"
    assert block.count("AddAccessRule") == 1, "another ACE was added to the spool"
    rights, inherit = rules[0]
    given = inherit.split(",")
    flags = "".join(code for name, code in _INHERIT.items() if name in given)  # "OICI"
    sddl = f"D:{'P' if protected else ''}(A;{flags};{_RIGHTS[rights]};;;{_SID_ALIAS[sid]})"
    return sddl, sid


def read_installer() -> Installer:
    text = INSTALL.read_text(encoding="utf-8")
    sddl, owner = _spool_acl(text)
    sources = one(r"foreach \(\$source in ('[^)]*')\)", text, "the event sources")[1]
    lines = one(r"(?s)\$lines = @\((.*?)\)\n", text, "the forwarder's configuration")[1]
    names = tuple(re.findall(r"['\"](\w+)=", lines))
    return Installer(
        service=_service(text),
        registry=_registry(text),
        spool_sddl=sddl,
        spool_owner=owner,
        event_sources=tuple(re.findall(r"'([^']+)'", sources)),
        forwarder_conf_names=names,
    )
