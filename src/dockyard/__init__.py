"""Dockyard: Docker's networking system, built for real on Linux kernel parts."""

__version__ = "0.1.0"
