"""The capture forwarder that runs on a domain controller (no vault, no database here).

- :mod:`.ldif`: Samba's per-object LDIF -> one wire event (ciphertext as is).
- :mod:`.spool`: the state directory: the per-object hook, the spool journal, dead letters,
  ``seq``.
- :mod:`.journal`: the journal's record format; reading a sealed journal once it is whole.
- :mod:`.client`: signed HTTPS requests to the capture endpoints (wire format v1);
  :mod:`.reply`: what came back, without the HTTP stack.
- :mod:`.sender`: sealed journals -> batches -> server; acknowledged records removed.
- :mod:`.samba`: drives ``samba-tool user syncpasswords`` and the sender until SIGTERM.
- :mod:`.setup`: ``samba-setup``: the capture public key into Samba's keyring and smb.conf.

It imports nothing of the vault, storage or sync (an import-linter contract keeps it so).
"""
