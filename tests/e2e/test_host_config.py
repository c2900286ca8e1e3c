"""HostConfig beyond networking: ``--read-only``, ``--tmpfs``, ``--cap-add``/``--cap-drop``,
``--group-add`` and ``--sysctl`` do what they do under Docker; what the daemon does not
apply is named in the create reply's warnings, never dropped without a word."""

from __future__ import annotations

import shutil

import pytest

from tests.e2e.daemon import Daemon, ok

pytestmark = pytest.mark.root

CAP_NET_ADMIN = 1 << 12


def run(d: Daemon, *args: str) -> str:
    return ok(d.cli("run", "--rm", *args))


def effective_caps(d: Daemon, *flags: str) -> int:
    line = run(d, *flags, "busybox", "grep", "CapEff", "/proc/self/status")
    return int(line.split()[1], 16)


def test_read_only_root_with_a_writable_tmpfs(busybox: Daemon) -> None:
    d = busybox
    refused = d.cli("run", "--rm", "--read-only", "busybox", "touch", "/x")
    assert refused.returncode == 1
    assert "Read-only file system" in refused.stderr
    assert run(d, "busybox", "sh", "-c", "touch /x && echo writable") == "writable\n"
    mounted = run(d, "--read-only", "--tmpfs", "/run:size=1m,exec", "busybox", "sh", "-c",
                  "touch /run/ok && grep ' /run ' /proc/mounts")
    options = mounted.split()[3].split(",")
    assert mounted.split()[:3] == ["tmpfs", "/run", "tmpfs"]
    assert {"rw", "nosuid", "nodev", "size=1024k"} <= set(options)
    assert "noexec" not in options  # "exec" asked for
    bad = d.cli("run", "--rm", "--tmpfs", "/run:bogus", "busybox", "true")
    assert bad.returncode == 125
    assert 'invalid tmpfs "/run:bogus": unknown option "bogus"' in bad.stderr


def test_capabilities_are_added_and_dropped(busybox: Daemon) -> None:
    d = busybox
    default = effective_caps(d)
    assert not default & CAP_NET_ADMIN
    assert effective_caps(d, "--cap-drop", "ALL") == 0
    assert effective_caps(d, "--cap-add", "net_admin") == default | CAP_NET_ADMIN
    assert effective_caps(d, "--cap-drop", "ALL", "--cap-add", "CAP_NET_ADMIN") == \
        CAP_NET_ADMIN
    # and they are what the process may do: change its own interfaces with NET_ADMIN
    set_mtu = ("busybox", "ip", "link", "set", "lo", "mtu", "1400")
    assert d.cli("run", "--rm", *set_mtu).returncode != 0
    assert d.cli("run", "--rm", "--cap-add", "NET_ADMIN", *set_mtu).returncode == 0
    # an exec gets its container's capabilities, as in Docker
    ok(d.cli("run", "-d", "--name", "admin", "--cap-add", "NET_ADMIN", "busybox", "sleep",
             "60"))
    ok(d.cli("exec", "admin", *set_mtu[1:]))
    ok(d.cli("rm", "-f", "admin"))
    unknown = d.cli("run", "--rm", "--cap-add", "FLY", "busybox", "true")
    assert unknown.returncode == 125
    assert 'unknown capability: "CAP_FLY"' in unknown.stderr
    assert ok(d.cli("ps", "-aq")) == ""


def test_group_add_gives_supplementary_groups(busybox: Daemon) -> None:
    out = run(busybox, "--user", "1000", "--group-add", "10", "--group-add", "root",
              "busybox", "id", "-G")
    assert set(out.split()) == {"0", "10"}  # its gid (root, as uid 1000 has no entry), 10


def test_network_sysctls_are_set_in_the_containers_namespace(busybox: Daemon) -> None:
    d = busybox
    ok(d.cli("network", "create", "tuned"))
    ok(d.cli("run", "-d", "--name", "tu", "--network", "tuned", "--sysctl",
             "net.ipv4.ip_unprivileged_port_start=80", "--sysctl",
             "net.ipv4.conf.all.accept_local=1", "busybox", "sleep", "300"))
    assert ok(d.cli("exec", "tu", "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")
              ) == "80\n"
    assert ok(d.cli("exec", "tu", "cat", "/proc/sys/net/ipv4/conf/all/accept_local")) == "1\n"
    assert ok(d.cli("inspect", "-f", "{{json .HostConfig.Sysctls}}", "tu")) == (
        '{"net.ipv4.conf.all.accept_local":"1","net.ipv4.ip_unprivileged_port_start":"80"}\n')
    # Given again after a restart (a new namespace)
    ok(d.cli("restart", "-t", "0", "tu"))
    assert ok(d.cli("exec", "tu", "cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start")
              ) == "80\n"
    # The host's own value is untouched.
    host = d.host.run(["cat", "/proc/sys/net/ipv4/ip_unprivileged_port_start"]).stdout
    assert host == "1024\n"


@pytest.mark.parametrize(("flags", "message"), [
    (("--sysctl", "kernel.panic=1"), 'sysctl "kernel.panic" is not allowed: only those of '
     "the container's own network and IPC namespaces (net.*, fs.mqueue.*, kernel.msgmax, "),
    (("--network", "host", "--sysctl", "net.ipv4.ip_forward=1"),
     'sysctl "net.ipv4.ip_forward" is not allowed in the network namespace of network mode '
     "host: it is not the container's own"),
])
def test_sysctls_of_no_namespace_of_the_containers_are_refused(
        busybox: Daemon, flags: tuple[str, ...], message: str) -> None:
    refused = busybox.cli("run", "-d", *flags, "busybox", "sleep", "300")
    assert refused.returncode == 125
    assert refused.stderr.splitlines()[0].startswith(
        f"dockyard: Error response from daemon: {message}")
    assert ok(busybox.cli("ps", "-aq")) == ""


def test_what_is_not_applied_is_named_in_warnings(busybox: Daemon) -> None:
    status, body = busybox.api("POST", "/containers/create", {
        "Image": "busybox", "Cmd": ["true"],
        # as the docker CLI sends a create with no such flag...
        "HostConfig": {"PidsLimit": 0, "MemorySwappiness": -1, "Ulimits": [],
                       "LogConfig": {"Type": "", "Config": {}}, "ShmSize": 0,
                       "ReadonlyRootfs": True},
    })
    assert status == 201 and body["Warnings"] == []  # type: ignore[index]
    status, body = busybox.api("POST", "/containers/create", {
        "Image": "busybox", "Cmd": ["true"],
        "HostConfig": {"PidsLimit": 10, "Privileged": True, "LogConfig": {"Type": "syslog"}},
    })
    assert status == 201
    assert body["Warnings"] == [  # type: ignore[index]
        f"HostConfig.{key} is not applied by this daemon (Dockyard): the container runs "
        "without it" for key in ("LogConfig", "PidsLimit", "Privileged")]


@pytest.mark.skipif(shutil.which("docker") is None,
                    reason="the docker CLI is not installed on this machine")
def test_docker_cli_prints_the_warnings_and_applies_the_rest(busybox: Daemon) -> None:
    d = busybox
    result = d.docker("run", "--rm", "--pids-limit", "10", "--read-only", "--cap-drop", "ALL",
                      "busybox", "grep", "CapEff", "/proc/self/status")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ("WARNING: HostConfig.PidsLimit is not applied by this daemon "
                             "(Dockyard): the container runs without it\n")
    assert int(result.stdout.split()[1], 16) == 0
    assert d.docker("run", "--rm", "--read-only", "busybox", "touch", "/x").returncode == 1
