"""Real busybox containers with the daemon's embedded resolver, in a throw-away host.

The resolver runs as the daemon runs it (:func:`start_embedded_dns`) on an event loop
whose thread lives in the host's namespace, so the host's resolv.conf line
``nameserver 127.0.0.1`` means the stub upstream that the test runs on 127.0.0.1:53 of
that same namespace: nothing is ever sent anywhere else.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from dockyard.daemon.dns import EmbeddedDns, start_embedded_dns
from dockyard.engine import Engine
from dockyard.runtime import ContainerManager
from tests.integration.dns.netns_loop import NetnsLoop, loop_in
from tests.integration.dns.stub_upstream import StubUpstream
from tests.integration.hosts import TEST_RUN_ROOT, Host
from tests.integration.runtime.conftest import make_manager, remove_all


@dataclass
class Resolver:
    dns: EmbeddedDns
    stub: StubUpstream


@pytest.fixture(scope="session")
def init_binary() -> str:
    from dockyard.kernel.initbin import ensure_init_binary

    return ensure_init_binary(os.path.join(TEST_RUN_ROOT, "bin"))


@pytest.fixture
def host_loop(host: Host) -> Iterator[NetnsLoop]:
    with loop_in(host.netns) as hl:
        yield hl


@pytest.fixture
def resolver(engine: Engine, host: Host, host_loop: NetnsLoop) -> Iterator[Resolver]:
    stub = StubUpstream("127.0.0.1", 53)
    host_loop.run(stub.start())
    try:
        dns = host_loop.run(start_embedded_dns(engine, (), engine.config.host_resolv_conf,
                                               timeout=1.0))
        try:
            yield Resolver(dns, stub)
        finally:
            host_loop.run(dns.close())
    finally:
        host_loop.run(stub.stop())


@pytest.fixture
def manager(engine: Engine, host: Host, init_binary: str,
            resolver: Resolver) -> Iterator[ContainerManager]:
    mgr = make_manager(engine, host, init_binary)
    try:
        yield mgr
    finally:
        remove_all(mgr)
        mgr.close()
