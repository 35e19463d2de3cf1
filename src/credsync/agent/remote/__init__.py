"""The remote agent: runs on a host near its directories, without a vault or a database, and
talks to the server over HTTPS only, outbound (docs/remote-agent.md).

- :mod:`.wire`: the calls and answers as JSON (shared with the server's relay).
- :mod:`.credential`: the agent's credential file (its id, server, and private keys; 0600).
- :mod:`.client`: signed HTTPS requests (register, poll, results).
- :mod:`.runner`: polls for calls, makes them with the normal connectors, posts the answers.

It imports nothing of the vault, storage or sync (an import-linter contract keeps it so).
"""
