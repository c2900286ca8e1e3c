"""The engine: the one façade every front end (CLI, daemon, compose) calls."""

from __future__ import annotations

from dockyard.engine.engine import Engine, EngineConfig

__all__ = ["Engine", "EngineConfig"]
