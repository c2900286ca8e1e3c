"""The `dockyard` command line.

The modules a CLI command imports do without ``from __future__ import annotations``
(importing ``__future__`` costs ~0.5 ms of every command), so annotations naming types
imported only for type checkers are quoted.
"""
