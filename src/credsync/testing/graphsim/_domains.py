"""A tenant's domains as Graph shows them (``/domains``) and the federation settings of a
federated one (``/domains/{id}/federationConfiguration``: an AD FS-like identity provider)."""

from __future__ import annotations

import random
from typing import Any

from ._seed import guid

__all__ = ["FEDERATING_ROLES", "domain_record", "federation_config"]

# The directory roles an app needs for app-only POST/DELETE of a federationConfiguration
# (Domain.ReadWrite.All alone gets 403 there: reference section 6.1; _federation)
FEDERATING_ROLES = ("Global Administrator", "Hybrid Identity Administrator")


def domain_record(
    name: str, *, default: bool = False, initial: bool = False, federated: bool = False
) -> dict[str, Any]:
    return {
        "id": name,
        "authenticationType": "Federated" if federated else "Managed",
        "availabilityStatus": None,
        "isAdminManaged": True,
        "isDefault": default,
        "isInitial": initial,
        "isRoot": True,
        "isVerified": True,
        "manufacturer": None,
        "model": None,
        "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": 2147483647,
        "supportedServices": ["Email", "OfficeCommunicationsOnline"],
        "state": None,
    }


def federation_config(rng: random.Random, domain: str) -> dict[str, Any]:
    return {
        "id": guid(rng),
        "displayName": f"{domain} federation",
        "issuerUri": f"http://{domain}/adfs/services/trust",
        "metadataExchangeUri": f"https://sts.{domain}/adfs/services/trust/mex",
        "signingCertificate": "MIIC3jCCAcagAwIBAgIQ" + "A" * 40,
        "nextSigningCertificate": None,
        "passiveSignInUri": f"https://sts.{domain}/adfs/ls/",
        "activeSignInUri": f"https://sts.{domain}/adfs/services/trust/2005/usernamemixed",
        "signOutUri": f"https://sts.{domain}/adfs/ls/?wa=wsignout1.0",
        "passwordResetUri": None,
        "preferredAuthenticationProtocol": "wsFed",
        "promptLoginBehavior": "nativeSupport",
        "federatedIdpMfaBehavior": "acceptIfMfaDoneByFederatedIdp",
        "isSignedAuthenticationRequestRequired": False,
        "signingCertificateUpdateStatus": None,
    }
