"""Start a daemon in the background when none answers on the default socket.

Only for the default address: an explicit ``--host``/``DOCKER_HOST`` names a daemon
someone else runs, and starting one there would hide a mistake."""

import os
import subprocess
import sys
import time

from dockyard.client.http import Client, ConnectError


def start_daemon(client: Client, exec_root: str, timeout: float = 15.0) -> int:
    """Spawn ``dockyard daemon`` detached, wait for ``/_ping``, return its pid."""
    os.makedirs(exec_root, mode=0o700, exist_ok=True)
    log_path = os.path.join(exec_root, "daemon.log")
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "dockyard.cli.main", "daemon", "--host", client.host],
            stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True,
            close_fds=True)
    print(f"dockyard: no daemon answered on {client.host}; started one in the background "
          f"(pid {proc.pid}, log {log_path})", file=sys.stderr)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            client.request("GET", "/_ping")
            return proc.pid
        except ConnectError:
            if proc.poll() is not None:
                raise ConnectError(
                    f"the background daemon exited with status {proc.returncode}: see "
                    f"{log_path}") from None
            time.sleep(0.02)
    raise ConnectError(f"the background daemon did not answer within {timeout:.0f} s: see "
                       f"{log_path}")
