"""Our nftables table (``inet dockyard``) as data, rendered into one atomic script (pure)."""

from __future__ import annotations

from dockyard.nft.model import FirewallNetwork, FirewallState, PortForward
from dockyard.nft.render import TABLE, render_delete, render_ruleset, render_update

__all__ = [
    "TABLE",
    "FirewallNetwork",
    "FirewallState",
    "PortForward",
    "render_delete",
    "render_ruleset",
    "render_update",
]
