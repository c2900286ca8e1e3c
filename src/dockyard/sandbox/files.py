"""Render the files a container sees as /etc/hosts and /etc/hostname.

Pure: the engine passes in the sandbox's addresses, links and extra hosts.
The layout is Docker's, so tools that parse it behave the same.
"""

from __future__ import annotations

from collections.abc import Iterable

_HOSTS_HEADER = (
    "127.0.0.1\tlocalhost\n"
    "::1\tlocalhost ip6-localhost ip6-loopback\n"
    "fe00::\tip6-localnet\n"
    "ff00::\tip6-mcastprefix\n"
    "ff02::1\tip6-allnodes\n"
    "ff02::2\tip6-allrouters\n"
)


def render_hosts(
    hostname: str,
    domainname: str,
    addresses: Iterable[str],
    links: Iterable[tuple[str, str]] = (),
    extra_hosts: Iterable[tuple[str, str]] = (),
) -> str:
    """``links`` and ``extra_hosts`` are ``(names, address)`` pairs; names space-separated."""
    lines = [_HOSTS_HEADER]
    for names, address in extra_hosts:
        lines.append(f"{address}\t{names}\n")
    for names, address in links:
        lines.append(f"{address}\t{names}\n")
    own = f"{hostname}.{domainname} {hostname}" if domainname else hostname
    for address in addresses:
        lines.append(f"{address}\t{own}\n")
    return "".join(lines)


def render_hostname(hostname: str) -> str:
    return hostname + "\n"
