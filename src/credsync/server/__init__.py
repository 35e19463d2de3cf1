"""The server: the REST API, the web dashboard and the agent in one process (``credsync serve``).

It sits above both front ends: the API (:mod:`credsync.api`) and the dashboard
(:mod:`credsync.web`, whose pages use the API's session and error helpers) are put together
here, so that neither imports the other's whole.
"""
