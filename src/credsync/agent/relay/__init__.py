"""The server's side of remote agents (docs/remote-agent.md): the runs of a remote agent's
directories are made here, by the same engine and agent loop as a local agent's, with a
connector whose calls the remote agent makes near the directory.

- :mod:`.hub`: per agent, the calls waiting for it and the answers it sent back
  (:class:`~credsync.agent.relay.hub.Broker`), and :class:`RelayedConnector`.
- :mod:`.worker`: :class:`RelayWorker`, the agent loop for one remote agent's directories,
  running while the agent polls.
"""
