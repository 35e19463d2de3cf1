"""Microsoft's reference files beside the repository (``../shared/reference/msgraph``): Graph's
v1.0 OData schema and the permission map. A test that needs them fails (never skips) without."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest

MSGRAPH = Path(__file__).resolve().parents[2] / ".." / "shared" / "reference" / "msgraph"
EDM = "{http://docs.oasis-open.org/odata/ns/edm}"


def reference_file(name: str) -> Path:
    path = MSGRAPH / name
    if not path.is_file():
        pytest.fail(
            f"{path.resolve()} is missing: the shared reference folder must sit beside "
            "the repository (../shared/reference/msgraph)"
        )
    return path


@dataclass
class Schema:
    """Entity, complex and enum types of the CSDL by full name, aliases resolved."""

    types: dict[str, ET.Element] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)  # EntityType, ComplexType, EnumType
    aliases: dict[str, str] = field(default_factory=dict)
    actions: dict[str, ET.Element] = field(default_factory=dict)

    def name(self, text: str) -> str:
        namespace, _, local = text.rpartition(".")
        return f"{self.aliases.get(namespace, namespace)}.{local}"

    def type_of(self, text: str) -> str:
        """A property's type with its namespace alias resolved (Collection() kept)."""
        found = re.fullmatch(r"Collection\((.+)\)", text)
        if found:
            return f"Collection({self.type_of(found.group(1))})"
        return text if text.startswith("Edm.") else self.name(text)

    @cache  # noqa: B019 - one schema per session
    def properties(self, type_name: str) -> dict[str, str]:
        """Structural properties (and navigation ones, as "nav:<type>"), base types included."""
        found: dict[str, str] = {}
        current: str | None = self.name(type_name)
        while current:
            element = self.types[current]
            for prop in element.findall(f"{EDM}Property"):
                found.setdefault(prop.get("Name", ""), self.type_of(prop.get("Type", "")))
            for nav in element.findall(f"{EDM}NavigationProperty"):
                found.setdefault(nav.get("Name", ""), "nav:" + self.type_of(nav.get("Type", "")))
            base = element.get("BaseType")
            current = self.name(base) if base else None
        return found

    def enum_members(self, type_name: str) -> set[str]:
        element = self.types[self.name(type_name)]
        return {m.get("Name", "") for m in element.findall(f"{EDM}Member")}

    def __hash__(self) -> int:
        return id(self)


@cache
def schema() -> Schema:
    root = ET.parse(reference_file("v1.0-Prod.csdl")).getroot()  # noqa: S314 - our own reference
    built = Schema()
    for element in root.iter(f"{EDM}Schema"):
        namespace = element.get("Namespace", "")
        if element.get("Alias"):
            built.aliases[element.get("Alias", "")] = namespace
        for child in element:
            kind = child.tag.removeprefix(EDM)
            if kind in ("EntityType", "ComplexType", "EnumType"):
                full = f"{namespace}.{child.get('Name')}"
                built.types[full] = child
                built.kinds[full] = kind
            elif kind == "Action":
                built.actions.setdefault(child.get("Name", ""), child)
    return built


@cache
def application_grants() -> dict[tuple[str, str], set[str]]:
    """(METHOD, path) -> the application permissions Microsoft's map says grant it; paths in
    lower case with every ``{placeholder}`` read as ``{id}``."""
    data: dict[str, Any] = json.loads(reference_file("permissions.json").read_text())
    grants: dict[tuple[str, str], set[str]] = {}
    for name, permission in data["permissions"].items():
        for path_set in permission["pathSets"]:
            if "Application" not in path_set["schemeKeys"]:
                continue
            for path in path_set["paths"]:
                for method in path_set["methods"]:
                    grants.setdefault((method, normal_path(path)), set()).add(name)
    return grants


def normal_path(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{id}", path.lower())
