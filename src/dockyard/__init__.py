"""Dockyard: Docker's networking system, built for real on Linux kernel parts."""

from __future__ import annotations

__version__ = "0.1.0"
