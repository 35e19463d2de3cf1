"""What the benchmarks share: realistic fake credentials, a cheap-KDF vault, timing and tables.

Not a benchmark itself (the leading underscore); each ``bench/*.py`` script puts this directory
on ``sys.path`` by being run as ``python bench/NAME.py``.
"""

from __future__ import annotations

import json
import os
import platform
import random
import signal
import statistics
import string
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"  # git-ignored

# Throwaway secrets of throwaway vaults; never printed.
PASSPHRASE = "bench-master-passphrase-0001"
ADMIN = "bench"
ADMIN_PASSWORD = "bench-admin-password-0001"

# ---------------------------------------------------------------------------------------------
# A realistic vocabulary: MSP customers, their systems, people, sites, URLs, tags and folders.
# ---------------------------------------------------------------------------------------------
CLIENTS = (
    ("Contoso Ltd", "contoso.com", "CONTOSO"),
    ("Fabrikam Inc", "fabrikam.com", "FABRIKAM"),
    ("Northwind Traders", "northwindtraders.com", "NWT"),
    ("Adventure Works", "adventure-works.com", "ADVWORKS"),
    ("Tailspin Toys", "tailspintoys.com", "TAILSPIN"),
    ("Wingtip Toys", "wingtiptoys.com", "WINGTIP"),
    ("Litware Inc", "litwareinc.com", "LITWARE"),
    ("Proseware", "proseware.com", "PROSEWARE"),
    ("Fourth Coffee", "fourthcoffee.com", "FOURTHCOF"),
    ("Woodgrove Bank", "woodgrovebank.com", "WOODGROVE"),
    ("Alpine Ski House", "alpineskihouse.com", "ALPINE"),
    ("Blue Yonder Airlines", "blueyonderairlines.com", "BLUEYONDER"),
    ("City Power & Light", "cpandl.com", "CPANDL"),
    ("Coho Winery", "cohowinery.com", "COHO"),
    ("Humongous Insurance", "humongousinsurance.com", "HUMONGOUS"),
    ("Lucerne Publishing", "lucernepublishing.com", "LUCERNE"),
    ("Margie's Travel", "margiestravel.com", "MARGIES"),
    ("Trey Research", "treyresearch.net", "TREY"),
    ("Wide World Importers", "wideworldimporters.com", "WWI"),
    ("Graphic Design Institute", "graphicdesigninstitute.com", "GDI"),
)


def client_at(index: int) -> tuple[str, str, str]:
    """The ``index``-th client (name, domain, NetBIOS name): :data:`CLIENTS`, then numbered."""
    if index < len(CLIENTS):
        return CLIENTS[index]
    n = index + 1
    return (f"Client {n:03d}", f"client{n:03d}.example", f"CLIENT{n:03d}")


SYSTEMS = (
    "Domain", "Exchange", "VPN", "Firewall", "Wi-Fi", "SQL Server", "Backup", "Printer",
    "Core switch", "Edge router", "vCenter", "ESXi host", "NAS", "Office 365", "Azure",
    "AWS console", "Veeam", "Sophos", "FortiGate", "Meraki", "UniFi", "Synology", "QNAP",
    "SharePoint", "Teams", "Intune", "Jira", "Confluence", "GitLab", "Zabbix", "PRTG",
    "Hyper-V", "iLO", "iDRAC", "UPS", "CCTV", "Door access", "Payroll", "ERP", "CRM",
    "Sage", "Xero", "Salesforce", "Google Workspace", "Dropbox", "Entra ID", "Citrix",
    "RDS gateway", "Print server", "File server", "Web server", "Mail relay", "DNS", "DHCP",
    "PBX", "Phone system", "Website CMS", "WordPress", "Cloudflare", "Registrar",
)  # fmt: skip
ROLES = (
    "admin", "administrator", "service account", "root", "backup user", "read-only",
    "API key", "console", "portal", "local admin", "helpdesk", "break glass", "sync account",
    "monitoring", "operator", "reporting", "scanner", "installer",
)  # fmt: skip
SITES = (
    "London", "Leeds", "Manchester", "Bristol", "Glasgow", "Dublin", "Berlin", "Munich",
    "Hamburg", "Paris", "Lyon", "Madrid", "Lisbon", "Amsterdam", "Rotterdam", "Brussels",
    "Zurich", "Vienna", "Prague", "Warsaw", "Oslo", "Stockholm", "Copenhagen", "Helsinki",
    "Milan", "Rome", "Boston", "Chicago", "Denver", "Seattle", "Austin", "Toronto",
    "Sydney", "Auckland", "Singapore", "Tokyo", "HQ", "Warehouse", "Head office", "DR site",
)  # fmt: skip
FIRST = (
    "james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda", "william",
    "elizabeth", "david", "barbara", "richard", "susan", "joseph", "jessica", "thomas", "sarah",
    "charles", "karen", "daniel", "nancy", "matthew", "lisa", "anthony", "betty", "mark",
    "margaret", "paul", "sandra", "steven", "ashley", "andrew", "kimberly", "kenneth", "emily",
    "joshua", "donna", "kevin", "michelle", "brian", "carol", "george", "amanda", "timothy",
    "melissa", "ronald", "deborah", "edward", "stephanie", "jason", "rebecca", "jeffrey",
    "sharon", "ryan", "laura", "jacob", "cynthia", "gary", "kathleen", "nicholas", "amy",
    "eric", "angela", "jonathan", "shirley", "stephen", "anna", "larry", "brenda", "justin",
    "pamela", "scott", "emma", "brandon", "nicole", "benjamin", "helen", "samuel", "samantha",
    "lukas", "lena", "maximilian", "hannah", "felix", "leonie", "paul", "lea", "jonas", "sophie",
    "oliver", "amelia", "harry", "isla", "jack", "ava", "noah", "mia", "leo", "freya",
)  # fmt: skip
LAST = (
    "smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis", "rodriguez",
    "martinez", "hernandez", "lopez", "gonzalez", "wilson", "anderson", "thomas", "taylor",
    "moore", "jackson", "martin", "lee", "perez", "thompson", "white", "harris", "sanchez",
    "clark", "ramirez", "lewis", "robinson", "walker", "young", "allen", "king", "wright",
    "scott", "torres", "nguyen", "hill", "flores", "green", "adams", "nelson", "baker", "hall",
    "rivera", "campbell", "mitchell", "carter", "roberts", "mueller", "schmidt", "schneider",
    "fischer", "weber", "meyer", "wagner", "becker", "schulz", "hoffmann", "koch", "richter",
    "klein", "wolf", "schroeder", "neumann", "schwarz", "zimmermann", "braun", "krueger",
    "hofmann", "hartmann", "lange", "schmitt", "werner", "krause", "meier", "lehmann", "dubois",
    "durand", "lefebvre", "moreau", "laurent", "simon", "michel", "leroy", "roux", "david",
    "bertrand", "morel", "fournier", "girard", "bonnet", "dupont", "lambert", "fontaine",
    "rousseau", "vincent", "murphy", "kelly", "byrne", "ryan", "oconnor", "walsh", "odonnell",
)  # fmt: skip
SUBDOMAINS = (
    "portal", "mail", "vpn", "fw", "nas", "vcenter", "backup", "intranet", "erp", "crm",
    "owa", "remote", "gateway", "monitor", "helpdesk", "wiki", "git", "print", "cctv", "ups",
)  # fmt: skip
SAAS_URLS = (
    "https://admin.microsoft.com",
    "https://portal.azure.com",
    "https://console.aws.amazon.com",
    "https://admin.google.com",
    "https://dash.cloudflare.com",
    "https://dashboard.meraki.com",
    "https://login.xero.com",
    "https://login.salesforce.com",
)
PATHS = ("", "/admin", "/login", "/owa", "/ui", "/manage", "/console", "/dashboard")
TAGS = (
    "server", "network", "dc", "m365", "backup", "firewall", "vpn", "printer", "storage",
    "database", "web", "cloud", "shared", "personal", "critical", "legacy", "onboarding",
    "service", "monitoring", "security", "finance", "hr", "voip", "wifi", "remote-access",
)  # fmt: skip
AREAS = ("Servers", "Network", "Cloud", "Users", "Applications", "Infrastructure")
_PW_ALPHABET = string.ascii_letters + string.digits + "!#$%&()*+,-./:;<=>?@[]^_{|}~"


@dataclass(frozen=True)
class FakeCredential:
    title: str
    username: str
    url: str
    password: str
    notes: str
    tags: tuple[str, ...]
    folder: str


class Faker:
    """Deterministic fake credentials for one client (same seed, same data, on any backend)."""

    def __init__(self, seed: int, domain: str, netbios: str) -> None:
        self.rng = random.Random(seed)
        self.domain = domain
        self.netbios = netbios

    def person(self) -> tuple[str, str]:
        return self.rng.choice(FIRST), self.rng.choice(LAST)

    def username(self, system: str) -> str:
        rng = self.rng
        kind = rng.random()
        first, last = self.person()
        if kind < 0.35:
            return f"{self.netbios}\\{first[0]}{last}"
        if kind < 0.65:
            return f"{first}.{last}@{self.domain}"
        if kind < 0.8:
            return f"svc_{system.split()[0].lower().replace('-', '')}{rng.randint(1, 99):02d}"
        return rng.choice(("administrator", "admin", "root", "sa", "backup", "scanner"))

    def url(self, system: str) -> str:
        rng = self.rng
        kind = rng.random()
        if kind < 0.15:
            return ""
        if kind < 0.3:
            return rng.choice(SAAS_URLS)
        if kind < 0.4:
            return f"https://10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        return f"https://{rng.choice(SUBDOMAINS)}.{self.domain}{rng.choice(PATHS)}"

    def password(self) -> str:
        return "".join(self.rng.choices(_PW_ALPHABET, k=self.rng.randint(16, 28)))

    def credential(self) -> FakeCredential:
        rng = self.rng
        system = rng.choice(SYSTEMS)
        title = f"{system} {rng.choice(ROLES)}"
        if rng.random() < 0.7:
            title += f" {rng.choice(SITES)}"
        if rng.random() < 0.5:
            title += f" SRV{rng.randint(1, 999):03d}"
        tags = tuple(dict.fromkeys(rng.sample(TAGS, rng.randint(0, 3))))
        notes = ""
        if rng.random() < 0.2:
            first, last = self.person()
            notes = f"Owner: {first.title()} {last.title()}. Rotate quarterly."
        return FakeCredential(
            title=title,
            username=self.username(system),
            url=self.url(system),
            password=self.password(),
            notes=notes,
            tags=tags,
            folder=f"{rng.choice(AREAS)}/{rng.choice(SITES)}",
        )


def query_pool(rng: random.Random, *, words: int, n: int, domain: str | None = None) -> list[str]:
    """Search queries drawn from the vocabulary: whole words and 3-5 letter prefixes, common
    (systems, roles, tags) and rare (people, hosts, sites), one or two words each."""

    def pick() -> str:
        kind = rng.random()
        if kind < 0.25:
            word = rng.choice(SYSTEMS).split()[0]
        elif kind < 0.4:
            word = rng.choice(ROLES).split()[0]
        elif kind < 0.55:
            word = rng.choice(SITES).split()[0]
        elif kind < 0.7:
            word = rng.choice(LAST)
        elif kind < 0.8:
            word = rng.choice(TAGS)
        elif kind < 0.9:
            word = f"srv{rng.randint(1, 999):03d}"
        else:
            word = (domain or rng.choice(CLIENTS)[1]).split(".")[0]
        word = word.lower()
        if rng.random() < 0.3 and len(word) > 4:
            word = word[: rng.randint(3, 5)]  # a prefix, as people type
        return word

    out = []
    for _ in range(n):
        picked: list[str] = []
        while len(picked) < words:
            word = pick()
            if word not in picked:
                picked.append(word)
        out.append(" ".join(picked))
    return out


# ---------------------------------------------------------------------------------------------
# Vaults
# ---------------------------------------------------------------------------------------------
def cheap_kdf() -> Any:
    from credsync.crypto import KdfParams

    return KdfParams.new(time_cost=1, memory_kib=8192, parallelism=1)


def make_vault(url: str) -> tuple[Any, Any, Any]:
    """A new vault at ``url`` with a cheap KDF; returns (vault, admin actor, keyring)."""
    from credsync.storage import Database
    from credsync.types import Secret
    from credsync.vault import KeyRing, Vault

    db = Database(url)
    vault, _admin, kek = Vault.initialise(
        db,
        passphrase=Secret(PASSPHRASE),
        admin_name=ADMIN,
        admin_password=Secret(ADMIN_PASSWORD),
        kdf=cheap_kdf(),
    )
    actor = vault.access.login_password(ADMIN, Secret(ADMIN_PASSWORD))
    return vault, actor, KeyRing.of(kek)


def open_vault(url: str) -> tuple[Any, Any, Any]:
    """An existing bench vault at ``url``: (vault, admin actor, unlocked keyring)."""
    from credsync.storage import Database
    from credsync.types import Secret
    from credsync.vault import KeyRing, Vault

    vault = Vault.open(Database(url))
    actor = vault.access.login_password(ADMIN, Secret(ADMIN_PASSWORD))
    return vault, actor, KeyRing.of(vault.unlock(Secret(PASSPHRASE)))


def add_ad_directory(
    vault: Any,
    admin: Any,
    keys: Any,
    client: str,
    facts: Any,
    base_dn: str,
    *,
    name: str = "bench-ad",
    options: dict[str, Any] | None = None,
) -> Any:
    """An Active Directory directory ``name`` of ``client`` on the Samba DC of ``facts``
    (its LDAPS URL, CA and TLS name), under ``base_dn``, bound as the domain admin (a
    credential of the client's, sync off); returns the directory."""
    from credsync.types import CredentialType, Secret, SyncMode
    from credsync.vault.directories import DirectoryInput
    from credsync.vault.drafts import make_draft

    bind = vault.credentials.add(
        admin, keys, client,
        make_draft(
            title="Domain admin", username=facts.admin_upn, password=Secret(facts.admin_password),
            type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF,
        ),
    )  # fmt: skip
    settings: dict[str, Any] = {
        "url": facts.ldaps_url,
        "base_dn": base_dn,
        "bind_credential": bind.id,
        "ca_pem": facts.ca_file.read_text(),
        "tls_server_name": facts.tls_server_name,
    }
    if options is not None:
        settings["options"] = options
    return vault.directories.add(
        admin, client, name, "active-directory", DirectoryInput.of(settings)
    )


def add_entra_directory(
    vault: Any,
    admin: Any,
    keys: Any,
    client: str,
    info: Any,
    *,
    tenant_id: str,
    authority: str,
    ca_pem: str,
    name: str = "bench-entra",
    options: dict[str, Any] | None = None,
) -> Any:
    """An Entra ID directory ``name`` of ``client`` on a tenant of the Graph simulator
    (``info``: the tenant's ``graph_url``, ``client_id`` and ``client_secret``), its app's
    secret a credential of the client's (sync off); returns the directory."""
    from credsync.types import CredentialType, Secret, SyncMode
    from credsync.vault.directories import DirectoryInput
    from credsync.vault.drafts import make_draft

    app = vault.credentials.add(
        admin, keys, client,
        make_draft(
            title="Graph app", username="credsync-app", password=Secret(str(info["client_secret"])),
            type_=CredentialType.DIRECTORY_ADMIN, sync_mode=SyncMode.OFF,
        ),
    )  # fmt: skip
    settings: dict[str, Any] = {
        "url": str(info["graph_url"]),
        "secret_credential": app.id,
        "tenant_id": tenant_id,
        "app_id": str(info["client_id"]),
        "authority": authority,
        "ca_pem": ca_pem,
    }
    if options is not None:
        settings["options"] = options
    return vault.directories.add(admin, client, name, "entra", DirectoryInput.of(settings))


def cli_env(home: Path, **extra: str) -> dict[str, str]:
    """Environment for a ``credsync`` subprocess on the vault in ``home`` (no inherited
    CREDSYNC_* variables, so the caller's own vault is never touched)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CREDSYNC_")}
    env["CREDSYNC_HOME"] = str(home)
    env.update(extra)
    return env


def credsync_exe() -> str:
    exe = Path(sys.executable).parent / "credsync"
    if not exe.exists():
        raise SystemExit(f"{exe} not found: run the benchmarks with the project's virtualenv")
    return str(exe)


# ---------------------------------------------------------------------------------------------
# Measuring and reporting
# ---------------------------------------------------------------------------------------------
def percentile(samples: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile (no interpolation: a p95 is a sample that was really seen)."""
    ordered = sorted(samples)
    rank = max(1, min(len(ordered), round(pct / 100 * len(ordered) + 0.4999)))
    return ordered[rank - 1]


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f}"


def table(headers: Sequence[str], rows: Sequence[Sequence[object]], *, title: str = "") -> str:
    cells = [[str(h) for h in headers], *[[str(c) for c in row] for row in rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: Sequence[str]) -> str:
        out = []
        for i, cell in enumerate(row):
            out.append(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]))
        return "  ".join(out).rstrip()

    parts = [title] if title else []
    parts.append(line(cells[0]))
    parts.append("  ".join("-" * w for w in widths))
    parts.extend(line(row) for row in cells[1:])
    return "\n".join(parts)


@dataclass
class Verdicts:
    """PASS/MISS lines, printed last; the exit status is 1 when any target is missed."""

    name: str
    lines: list[tuple[bool, str]] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def check(self, ok: bool, text: str) -> bool:
        self.lines.append((ok, text))
        return ok

    def report(self) -> int:
        print()
        print(f"== {self.name}: targets ==")
        for ok, text in self.lines:
            print(f"{'PASS' if ok else 'MISS'}  {text}")
        self.save()
        return 0 if all(ok for ok, _ in self.lines) else 1

    def save(self) -> None:
        try:
            RESULTS_DIR.mkdir(exist_ok=True)
            out = RESULTS_DIR / f"{self.name}.json"
            data = {
                "benchmark": self.name,
                "at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "python": platform.python_version(),
                "machine": f"{platform.machine()}, {os.cpu_count()} cpu",
                "figures": self.figures,
                "targets": [{"pass": ok, "target": text} for ok, text in self.lines],
            }
            out.write_text(json.dumps(data, indent=2, default=str) + "\n")
            print(f"(figures saved to {out.relative_to(REPO)})")
        except OSError as err:
            print(f"(could not save figures: {err})")


def latency_table(
    verdicts: Verdicts,
    baseline: tuple[str, Sequence[float]],
    cases: Sequence[tuple[str, Sequence[float]]],
) -> str:
    """p50, p95 and max of each case, and its p95 against the baseline's (the request every
    request pays, timed in the same process), as a table; each p95 goes in the figures."""
    base_label, base = baseline
    base_p95 = percentile(base, 95)
    rows: list[list[object]] = [[base_label, ms(median(base)), ms(base_p95), "", "1.00"]]
    for label, samples in cases:
        p95 = percentile(samples, 95)
        ratio = f"{p95 / base_p95:.2f}"
        rows.append([label, ms(median(samples)), ms(p95), ms(max(samples)), ratio])
        verdicts.figures[f"{label} p95 ms"] = round(p95 * 1000, 1)
    verdicts.figures["baseline p95 ms"] = round(base_p95 * 1000, 1)
    return table(["case", "p50", "p95", "max", "p95 / baseline"], rows)


def header(title: str, quick: bool) -> None:
    print(
        f"# {title}{' (--quick: small sizes, figures not comparable to targets)' if quick else ''}"
    )
    print(
        f"# python {platform.python_version()} on {platform.machine()}, "
        f"{os.cpu_count()} cpu; {time.strftime('%Y-%m-%d %H:%M:%S')}"
    )


class Deadline(Exception):
    """The benchmark ran past its time limit."""


def time_limit(seconds: int) -> None:
    """Abort the whole benchmark (cleanly, through ``finally`` blocks) after ``seconds``."""

    def expired(_signum: int, _frame: FrameType | None) -> None:
        raise Deadline(f"time limit of {seconds} s reached: stopping")

    signal.signal(signal.SIGALRM, expired)
    signal.alarm(seconds)


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
