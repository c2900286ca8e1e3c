"""``dockyard daemon``: the long-running process that owns the store and serves the API."""

from __future__ import annotations
