"""Domain objects and services: clients, credentials, secret history, operators, audit, RBAC."""

from credsync.vault.auth import SYSTEM, Actor, Permission
from credsync.vault.keyring import KeyRing
from credsync.vault.service import Vault

__all__ = ["SYSTEM", "Actor", "KeyRing", "Permission", "Vault"]
