"""The embedded DNS resolver (127.0.0.11 in every sandbox on a user-defined network).

``records`` (pure) computes what each sandbox may resolve; ``wire`` (pure) turns that into
precomputed answers and parses queries; ``upstream`` forwards; ``server`` serves every
sandbox from one asyncio loop; ``resolvconf`` renders the container's resolv.conf.
"""

from __future__ import annotations
