"""A lean client for the daemon's API: a few stdlib modules, so that a CLI command costs
little more than the interpreter's own start (docker-py alone takes ~100 ms to import)."""

from dockyard.client.http import APIError, Client, ConnectError, Response

__all__ = ["APIError", "Client", "ConnectError", "Response"]
