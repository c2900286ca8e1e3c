"""A Dockyard daemon per test, inside a throw-away host namespace, with its own root and
socket; clients talk to it from outside through the socket file."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from tests.integration.hosts import Host, make_host

VENV_BIN = os.path.dirname(sys.executable)
DOCKYARD = os.path.join(VENV_BIN, "dockyard")


@dataclass
class Daemon:
    host: Host
    socket: str
    proc: subprocess.Popen[bytes] | None = None
    log_path: str = ""
    logs: list[str] = field(default_factory=list)
    args: tuple[str, ...] = ()  # more daemon flags, from the next start()

    @property
    def url(self) -> str:
        return "unix://" + self.socket

    def start(self) -> None:
        self.log_path = os.path.join(os.path.dirname(self.socket), "daemon.log")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                ["nsenter", f"--net={self.host.netns}", DOCKYARD, "daemon",
                 "--host", self.url, "--root", self.host.root,
                 "--exec-root", self.host.exec_root,
                 "--resolv-conf", os.path.join(self.host.root, "host-resolv.conf"),
                 *self.args],
                stdout=log, stderr=log)
        deadline = time.monotonic() + 20
        while not self.answers():
            if self.proc.poll() is not None:
                raise RuntimeError(f"daemon exited ({self.proc.returncode}): {self.log()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"daemon did not answer: {self.log()}")
            time.sleep(0.02)

    def answers(self) -> bool:
        from dockyard.client.http import Client, ConnectError

        try:
            Client(self.url).request("GET", "/_ping")
        except ConnectError:
            return False
        return True

    def log(self) -> str:
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def stop(self, signum: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signum)
        code = self.proc.wait(timeout=20)
        self.proc = None
        return code

    def cli(self, *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None,
            timeout: float = 30) -> subprocess.CompletedProcess[str]:
        """Our CLI, pointed at this daemon with --host."""
        result = subprocess.run(
            [DOCKYARD, "--host", self.url, *args], input=stdin.decode() if stdin else None,
            capture_output=True, text=True, timeout=timeout, env=env)
        return result

    def docker(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        """The real docker CLI, with a config dir of its own (no user config read)."""
        env = dict(os.environ, DOCKER_CONFIG=os.path.join(os.path.dirname(self.socket),
                                                          "docker-config"))
        env.pop("DOCKER_HOST", None)
        return subprocess.run(["docker", "-H", self.url, *args], input=stdin,
                              capture_output=True, text=True, timeout=30, env=env)

    def api(self, method: str, path: str, body: object = None, raw: bytes | None = None,
            query: dict[str, str] | None = None) -> tuple[int, object]:
        from dockyard.client.http import Client

        client = Client(self.url, version=None)
        headers = {"Content-Type": "application/json"} if raw is not None else None
        response = client.request(method, path, query=query, json_body=body, body=raw,
                                  headers=headers, check=False)
        data = response.body
        return response.status, json.loads(data) if data.strip() else None


@contextlib.contextmanager
def running_daemon() -> Iterator[Daemon]:
    with make_host() as host:
        daemon = Daemon(host, os.path.join(os.path.dirname(host.root), "d.sock"))
        try:
            daemon.start()
            yield daemon
        finally:
            if daemon.proc is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    daemon.stop()


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, f"exit {result.returncode}: {result.stderr}{result.stdout}"
    return result.stdout


def lines(text: str) -> list[str]:
    return [line for line in text.splitlines() if line.strip()]


def argv(*args: str) -> Sequence[str]:
    return args
