"""The container manager: one object, owned by the long-running daemon, for every container.

Threading: every public method is a plain synchronous call, safe from worker threads.
Per-container locks serialise operations on one container; different containers start,
stop and exit in parallel (the engine serialises its own network changes). Waiting
(``stop``, ``wait``) happens on a condition variable signalled whenever a container's
state is saved, never while holding a container's lock.

Runtimes: a container is started by ``dyrun`` (the lean runtime, ``kernel/lean.py`` and
``kernel/dyrun.c``) or by runc (``kernel/oci.py``), both from the same OCI document; the
one that started it is recorded (``State.runtime``) and used for its exec and cleanup, so
a manager switched to the other runtime still handles containers started before.

Supervision: :meth:`open` makes this process a child subreaper, adopts running containers
and starts the :class:`Supervisor` thread; :meth:`close` stops the thread and leaves the
containers running. A container's output is logged and its exit status written to
``<container dir>/exit-status`` by a process that outlives this one, so an exit that
happens while no manager runs is recorded by the next one (:meth:`reconcile`), which then
applies the restart policy. Which process:

- by default, as in Docker, the command is the container's PID 1, and ``dymon``
  (``kernel/dymon.c``), one process for all of them, started by dyrun's first such start,
  logs, reaps and records each (a process per container would cost ~70 KiB each);
- with ``--init`` (HostConfig.Init, or the daemon's ``--init``), or under runc,
  ``dyinit`` (``kernel/dyinit.c``) is PID 1 and does it from inside the container.

A failed start (port taken, command not found, …) undoes everything it did (sandbox,
veths, addresses, mounts, runtime state) and leaves the container as Docker does: still
``created`` (or ``exited`` if it ran before), with ``State.Error`` and the exit code
(127 not found, 126 not executable). :meth:`run` instead removes a container whose first
start failed, so a refused ``docker run`` leaves nothing at all.
"""

from __future__ import annotations

import builtins
import contextlib
import functools
import os
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from ipaddress import ip_address
from typing import Any

from dockyard import plan
from dockyard.engine import Engine
from dockyard.engine.engine import SANDBOX_FILES
from dockyard.engine.state import State
from dockyard.errors import (
    Conflict,
    DockyardError,
    Forbidden,
    InvalidParameter,
    KernelError,
    NotFound,
)
from dockyard.images.store import ImageStore
from dockyard.kernel import cgroups, process
from dockyard.kernel.console import ExecProcess
from dockyard.kernel.initbin import (
    ensure_dymon_binary,
    ensure_dyrun_binary,
    ensure_init_binary,
)
from dockyard.kernel.lean import ContainerRuntime, Dyrun
from dockyard.kernel.monitor import Monitor
from dockyard.kernel.mounts import mount_overlay, unmount
from dockyard.kernel.oci import RUNC, ExecResult, Runc
from dockyard.model.ids import new_id, parse_mac
from dockyard.model.sandbox import MODE_CONTAINER, MODE_HOST, MODE_PRIVATE, Sandbox
from dockyard.portmap import PortSpec, parse_expose, parse_publish
from dockyard.runtime import logs as logfile
from dockyard.runtime import mountpoints
from dockyard.runtime.container import (
    CONTAINER_KIND,
    CREATED,
    EXITED,
    RESTARTING,
    RUNNING,
    STARTING,
    ZERO_TIME,
    Attachment,
    Container,
    ContainerSpec,
    MountPoint,
)
from dockyard.runtime.disk import tree_size
from dockyard.runtime.health import HealthConfig, merge_healthcheck
from dockyard.runtime.healthmon import HealthMonitor
from dockyard.runtime.inspect import Attached, Paths, inspect_doc, list_item
from dockyard.runtime.names import random_name
from dockyard.runtime.options import (
    MountRequest,
    check_memory,
    check_sysctls,
    effective_capabilities,
    parse_bind_spec,
    parse_mount_spec,
    parse_network_mode,
    parse_restart_policy,
    parse_signal,
    tmpfs_mount,
    updated_memory,
    validate_container_name,
)
from dockyard.runtime.restart import decide, starts_with_daemon
from dockyard.runtime.spec import DEFAULT_CAPS, INIT_PATH, BindMount, ProcessSpec, build_spec
from dockyard.runtime.stdio import Console
from dockyard.runtime.supervisor import Supervisor
from dockyard.runtime.users import ResolvedUser, resolve_user
from dockyard.runtime.volumes import VolumeStore
from dockyard.spares import DIR, FILE, SpareDirs, pool_dir

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_STOP_TIMEOUT = 10
RUNTIMES = ("dyrun", "runc")
# dyrun, the lean runtime (kernel/dyrun.c): bench/container_bench.py measured create+start
# 26 ms (runc 59 ms), its own part ~1.5 ms (runc 25-50 ms), with every behaviour test in
# tests/integration/runtime passing under both. DOCKYARD_RUNTIME=runc or runtime="runc"
# goes back.
DEFAULT_RUNTIME = "dyrun"
START_REPORT_TIMEOUT = 10.0
NAME_KIND = "container-name"  # name -> container id, kept with every create/rename/remove


class StartError(InvalidParameter):
    """The command could not be executed; ``exit_code`` is Docker's (127 or 126)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class ContainerManager:
    def __init__(
        self,
        engine: Engine,
        images: ImageStore,
        *,
        root: str | None = None,
        exec_root: str | None = None,
        runc_binary: str = RUNC,
        init_binary: str | None = None,
        host_netns: str | None = None,
        runtime: str | None = None,
        dyrun_binary: str | None = None,
        dyrun_devices: str = "nodev",
        default_init: bool = False,
    ) -> None:
        """``host_netns``: the namespace ``--network host`` means (default: this
        process's own; tests pass their throw-away host's). ``runtime``: what starts new
        containers, "dyrun" (the lean one) or "runc" (default: ``$DOCKYARD_RUNTIME``, else
        :data:`DEFAULT_RUNTIME`); running containers keep the one that started them.
        ``dyrun_devices``: how dyrun keeps containers off the host's devices, "nodev" or
        "cgroup" (see ``kernel/lean.py``). ``default_init``: whether a container that
        leaves ``init`` unset runs with one (dockerd's ``--init``)."""
        self.default_init = default_init
        self._shutting_down = False  # stop_all(): exits are final, no restarts
        self.host_netns = host_netns
        self.engine = engine
        self.images = images
        self.store = engine.store
        root = root or engine.config.root
        exec_root = exec_root or engine.config.exec_root
        self.volumes = VolumeStore(root, self.store)
        self._dir = os.path.join(root, "containers")
        self._run_dir = os.path.join(exec_root, "containers")
        # Trees of removed containers, emptied, for the next ones (see dockyard/spares.py).
        # Not json.log: a follower of the logs (an attached `run --rm`) may still be reading
        # it, which an unlinked file allows and a truncated one does not.
        self._spares = SpareDirs(pool_dir(root, "containers"), {
            "upper": DIR, "work": DIR, "rootfs": DIR, "exit-status": FILE})
        os.makedirs(self._dir, mode=0o700, exist_ok=True)
        os.makedirs(self._run_dir, mode=0o700, exist_ok=True)
        self.runc = Runc(os.path.join(exec_root, "runc"), runc_binary)
        self.init_binary = init_binary or ensure_init_binary(os.path.join(root, "bin"))
        self.monitor = Monitor(ensure_dymon_binary(os.path.join(root, "bin")), exec_root)
        self.dyrun = Dyrun(dyrun_binary or ensure_dyrun_binary(os.path.join(root, "bin")),
                           os.path.join(exec_root, "dyrun"), devices=dyrun_devices,
                           monitor=self.monitor)
        self._runtimes: dict[str, ContainerRuntime] = {"runc": self.runc, "dyrun": self.dyrun}
        name = runtime or os.environ.get("DOCKYARD_RUNTIME") or DEFAULT_RUNTIME
        if name not in self._runtimes:
            raise InvalidParameter(f'invalid runtime "{name}": expected one of '
                                   f"{', '.join(RUNTIMES)}")
        self.runtime: ContainerRuntime = self._runtimes[name]
        self._rows = threading.RLock()  # names and rows: short critical sections only
        self._locks: dict[str, threading.RLock] = {}
        self._changed = threading.Condition()
        self.supervisor = Supervisor(self._on_exit)
        # Told (container id, new status) when a healthcheck changes a container's health:
        # the daemon turns it into ``health_status`` events.
        self.on_health_status: Callable[[str, str], None] | None = None
        self.health = HealthMonitor(self._probe, self.container_dir,
                                    on_status=self._health_changed)
        self._consoles: dict[str, Console] = {}  # containers with stdin or a terminal
        self._index_names()

    # ------------------------------------------------------------------ lifecycle

    def open(self) -> ContainerManager:
        """Become the subreaper, adopt or settle every container, start supervising."""
        process.become_subreaper()
        self.supervisor.start()
        self.reconcile()
        return self

    @property
    def closed(self) -> bool:
        """Closed: it supervises nothing, so it can no longer stop or remove what runs."""
        return self.supervisor.stopped

    def close(self) -> None:
        """Stop supervising; running containers keep running for the next manager (and
        dymon with them: it stops if none is left)."""
        self.supervisor.stop()
        self.health.close()
        with contextlib.suppress(OSError, DockyardError):
            self.monitor.quit()
        self.monitor.close()
        self.dyrun.close()
        with self._rows:
            consoles = list(self._consoles.values())
        for console in consoles:
            console.release()

    # -------------------------------------------------------------------- lookup

    def _name_owner(self, name: str) -> str | None:
        """The id of the container named ``name``, from the name index (one row read, not
        a parse of every container: creates and lookups stay flat as containers pile up).
        An index row is trusted only if the container it names still carries the name."""
        row = self.store.get(NAME_KIND, name)
        if row is None:
            return None
        doc = self.store.get(CONTAINER_KIND, row["id"])
        return row["id"] if doc is not None and doc["name"] == name else None

    def _index_names(self) -> None:
        """Rebuild the name index from the containers (stores written before it existed)."""
        names = {c.name: c.id for c in self.containers()}
        rows = {str(doc["name"]): str(doc["id"]) for doc in self.store.list(NAME_KIND)}
        if rows == names:
            return
        with self.store.transaction() as txn:
            for name in rows.keys() - names.keys():
                txn.delete(NAME_KIND, name)
            for name, container_id in names.items():
                if rows.get(name) != container_id:
                    txn.put(NAME_KIND, name, {"name": name, "id": container_id})

    def containers(self) -> list[Container]:
        docs = self.store.list(CONTAINER_KIND)
        return sorted((Container.from_doc(d) for d in docs), key=lambda c: c.created)

    def get(self, ref: str) -> Container:
        """By full id, name (with or without "/"), or a unique id prefix."""
        doc = self.store.get(CONTAINER_KIND, ref)
        if doc is not None:
            return Container.from_doc(doc)
        owner = self._name_owner(ref.removeprefix("/"))
        if owner is not None and (doc := self.store.get(CONTAINER_KIND, owner)) is not None:
            return Container.from_doc(doc)
        # A short id (`docker ps -q` prints 12 characters): two keys at most, no document
        # read but the one found. Scanning every container made each lookup O(n).
        matches = self.store.keys(CONTAINER_KIND, ref, limit=2) if ref else ()
        if len(matches) > 1:
            raise InvalidParameter(f"multiple IDs found with provided prefix: {ref}")
        if matches and (doc := self.store.get(CONTAINER_KIND, matches[0])) is not None:
            return Container.from_doc(doc)
        raise NotFound(f"No such container: {ref}")

    def _lock(self, container_id: str) -> threading.RLock:
        with self._rows:
            return self._locks.setdefault(container_id, threading.RLock())

    def lock(self, container_id: str) -> threading.RLock:
        """The lock a container's start, stop and removal take: held by work on its
        files that must not race them (a copy into a stopped container's layer)."""
        return self._lock(container_id)

    def _save(self, c: Container, *, with_name: bool = False) -> Container:
        """Write the container's row; ``with_name`` also claims its name in the name index,
        in the same transaction (a create: one write, and never a name without its row)."""
        with self.store.transaction() as txn:
            if with_name:
                txn.put(NAME_KIND, c.name, {"name": c.name, "id": c.id})
            txn.put(CONTAINER_KIND, c.id, c.to_doc())
        with self._changed:
            self._changed.notify_all()
        return c

    def _reload(self, container_id: str) -> Container | None:
        doc = self.store.get(CONTAINER_KIND, container_id)
        return Container.from_doc(doc) if doc is not None else None

    def _wait_until(self, condition: Callable[[], bool], timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._changed:
            while not condition():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                # Bounded waits: a state change made by another process (a second manager
                # on the same root) signals no condition here.
                self._changed.wait(0.5 if remaining is None else min(remaining, 0.5))
        return True

    def container_dir(self, container_id: str) -> str:
        return os.path.join(self._dir, container_id)

    def _bundle(self, container_id: str) -> str:
        return os.path.join(self._run_dir, container_id)

    def _runtime_of(self, c: Container) -> ContainerRuntime:
        """The runtime that started ``c`` (older documents name none: runc)."""
        return self._runtimes.get(c.state.runtime or "runc", self.runc)

    # -------------------------------------------------------------------- create

    def create(self, spec: ContainerSpec) -> Container:
        """Validate everything and record the container; no kernel change happens here."""
        name = validate_container_name(spec.name) if spec.name else ""
        image = self.images.get(spec.image)
        image_config: dict[str, Any] = image.config.get("config") or {}
        entrypoint = spec.entrypoint if spec.entrypoint is not None else _tup(
            image_config.get("Entrypoint"))
        if spec.cmd is not None:
            cmd: tuple[str, ...] | None = spec.cmd
        elif spec.entrypoint is not None:
            cmd = None  # Docker: a new entrypoint drops the image's CMD
        else:
            cmd = _tup(image_config.get("Cmd"))
        argv = [*(entrypoint or ()), *(cmd or ())]
        if not argv:
            raise InvalidParameter("no command specified")
        workdir = spec.workdir or image_config.get("WorkingDir") or ""
        if workdir and not workdir.startswith("/"):
            raise InvalidParameter(f'invalid working directory "{workdir}": must be absolute')
        env = _merge_env(image_config.get("Env") or [], spec.env)
        if spec.healthcheck is not None:
            spec.healthcheck.validate()
        image_check = image_config.get("Healthcheck")
        healthcheck = merge_healthcheck(
            spec.healthcheck,
            HealthConfig.from_docker(image_check, "image Healthcheck")
            if isinstance(image_check, dict) else None)
        policy = parse_restart_policy(spec.restart)
        if spec.auto_remove and policy.name != "no":
            raise InvalidParameter("conflicting options: cannot specify both --restart and --rm")
        if spec.stop_signal:
            parse_signal(spec.stop_signal)
        spec = replace(spec, memory_swap=check_memory(spec.memory, spec.memory_swap))
        if spec.stop_timeout is not None and spec.stop_timeout < -1:
            raise InvalidParameter(f'invalid stop timeout "{spec.stop_timeout}"')
        for server in spec.dns:
            _check_ip("dns", server)
        check_sysctls(spec.sysctls, spec.network_mode)
        for item in spec.tmpfs:
            tmpfs_mount(item)
        effective_capabilities(spec.cap_add, spec.cap_drop, DEFAULT_CAPS)
        for entry in spec.extra_hosts:
            host, sep, address = entry.partition(":")
            if not host or not sep or (address != "host-gateway"
                                       and not _is_ip(address.strip("[]"))):
                raise InvalidParameter(f'invalid extra host "{entry}": expected name:ip')
        exposed = list(image_config.get("ExposedPorts") or {})
        for item in spec.expose:
            exposed += [e.key for e in parse_expose(item)]
        publish = [p for item in spec.publish for p in parse_publish(item)]
        exposed += [p.key for p in publish]
        exposed = sorted(dict.fromkeys(exposed))
        attachments = self._check_network(spec, publish)
        for link in spec.links:
            target = link.partition(":")[0]
            try:
                self.get(target)
            except NotFound:
                raise InvalidParameter(
                    f'invalid link "{link}": could not get container for {target}') from None
        requests = [parse_bind_spec(b) for b in spec.binds]
        requests += [parse_mount_spec(m) for m in spec.mounts]
        anonymous = [parse_bind_spec(path) for path in spec.volumes]  # checks each path
        targets = [r.target for r in requests]
        for target in {t for t in targets if targets.count(t) > 1}:
            raise InvalidParameter(f"Duplicate mount point: {target}")
        for request in requests:
            if (request.type == "bind" and not request.create_host_path
                    and not os.path.exists(request.source)):
                raise InvalidParameter(
                    f'invalid mount config for type "bind": bind source path does not exist: '
                    f"{request.source}")
        # Config.Volumes, the create request's then the image's, where nothing else mounts.
        covered = set(targets)
        for path in [*(r.target for r in anonymous), *(image_config.get("Volumes") or {})]:
            if path not in covered:
                covered.add(path)
                requests.append(MountRequest("volume", path))

        container_id = new_id()
        made_volumes: list[str] = []
        made_dirs: list[str] = []
        try:
            mounts = self._make_mounts(requests, made_volumes, made_dirs)
            # The id is new, so its directories need no lock: new inodes are slow enough
            # here (~0.3-1 ms each) that making them under it held up every other create.
            directory = self.container_dir(container_id)
            if not self._spares.take(directory):
                os.makedirs(directory)
            for sub in ("upper", "work", "rootfs"):
                os.makedirs(os.path.join(directory, sub), mode=0o755, exist_ok=True)
            with self._rows:
                if not name:
                    name = random_name(lambda n: self._name_owner(n) is not None)
                other_id = self._name_owner(name)
                if other_id is not None:
                    raise Conflict(
                        f'Conflict. The container name "/{name}" is already in use by '
                        f'container "{other_id}". You have to remove (or rename) that '
                        "container to be able to reuse that name.")
                c = Container(
                    id=container_id, name=name, created=_now(), image_id=image.id,
                    image_ref=spec.image, path=argv[0], args=tuple(argv[1:]), env=env,
                    workdir=workdir, user=spec.user or image_config.get("User") or "",
                    hostname=self._default_hostname(spec, container_id),
                    domainname=spec.domainname,
                    labels={**(image_config.get("Labels") or {}), **spec.labels},
                    stop_signal=spec.stop_signal or image_config.get("StopSignal") or "",
                    stop_timeout=spec.stop_timeout, exposed=tuple(exposed), cmd=cmd,
                    entrypoint=entrypoint, spec=spec, mounts=tuple(mounts),
                    networks=tuple(attachments), healthcheck=healthcheck,
                )
                self._save(c, with_name=True)
        except BaseException:
            shutil.rmtree(self.container_dir(container_id), ignore_errors=True)
            for volume in made_volumes:
                with contextlib.suppress(DockyardError):
                    self.volumes.remove(volume)
            for directory in made_dirs:
                with contextlib.suppress(OSError):
                    os.rmdir(directory)
            raise
        return c

    def _default_hostname(self, spec: ContainerSpec, container_id: str) -> str:
        mode = parse_network_mode(spec.network_mode)
        if mode.kind == "container":
            return self.get(mode.target).hostname  # Docker: the shared sandbox's name
        if mode.kind == "host":
            return spec.hostname or os.uname().nodename
        return spec.hostname or container_id[:12]

    def _check_network(self, spec: ContainerSpec, publish: Sequence[PortSpec]
                       ) -> list[Attachment]:
        mode = parse_network_mode(spec.network_mode)
        if mode.kind == "container":
            self.get(mode.target)
            if publish or spec.publish_all:
                raise InvalidParameter(
                    "conflicting options: port publishing and the container type network mode")
            if spec.hostname:
                raise InvalidParameter(
                    "conflicting options: hostname and the network mode container:"
                    f"{mode.target}")
        if spec.mac is not None and (mode.kind == "container" or mode.target in ("host",
                                                                                 "none")):
            raise InvalidParameter("conflicting options: mac-address and the network mode "
                                   f"{spec.network_mode}")
        if mode.kind == "container":
            return []
        if (spec.aliases or spec.ipv4 or spec.ipv6) and mode.target in ("bridge", "host",
                                                                        "none"):
            raise InvalidParameter(
                "network-scoped aliases and user specified IP addresses are only supported "
                "for user-defined networks")
        for field_name, value in (("ip", spec.ipv4), ("ip6", spec.ipv6)):
            if value is not None:
                _check_ip(field_name, value)
        try:
            name = self.engine.network(mode.target).name
        except NotFound:
            # As dockerd: the network may be made before the start, which is where a
            # missing one is refused. (A 404 here would also make the docker CLI think the
            # image is missing, and pull it.)
            name = mode.target
        mac = parse_mac(spec.mac) if spec.mac is not None else None
        return [Attachment(name, tuple(spec.aliases), spec.ipv4, spec.ipv6, mac,
                           spec.gw_priority)]

    def _make_mounts(self, requests: Sequence[MountRequest], made_volumes: list[str],
                     made_dirs: list[str]) -> list[MountPoint]:
        mounts = []
        for request in requests:
            if request.type == "bind":
                if request.create_host_path and not os.path.exists(request.source):
                    os.makedirs(request.source)
                    made_dirs.append(request.source)
                mounts.append(MountPoint("bind", request.source, request.target,
                                         request.read_only))
            elif request.type == "volume":
                volume, made = self.volumes.ensure(request.source or None)
                if made:
                    made_volumes.append(volume.name)
                mounts.append(MountPoint("volume", self.volumes.data_dir(volume.name),
                                         request.target, request.read_only, volume.name,
                                         volume.anonymous))
            else:
                mounts.append(MountPoint("tmpfs", "", request.target, request.read_only))
        return mounts

    # --------------------------------------------------------------------- start

    def run(self, spec: ContainerSpec) -> Container:
        """create + start; a container whose start is refused is removed again."""
        c = self.create(spec)
        try:
            return self.start(c.id)
        except BaseException:
            with contextlib.suppress(DockyardError):
                self.remove(c.id, force=True, volumes=True)
            raise

    def start(self, ref: str) -> Container:
        c = self.get(ref)
        with self._lock(c.id):
            c = self._reload(c.id) or c
            if c.state.paused:
                raise Conflict("cannot start a paused container, try unpause instead")
            if c.state.status == RUNNING:
                return c
            try:
                # Written by _start's first save, with STARTING: one row write fewer a start.
                return self._start(c.with_state(manually_stopped=False))
            except DockyardError as exc:
                if not c.spec.auto_remove:
                    raise
                failure = exc
        # As dockerd: a --rm container that fails to start is removed, else whoever waits
        # for its removal (``docker run --rm`` does) waits forever.
        with contextlib.suppress(DockyardError):
            self.remove(c.id, force=True, volumes=True)
        raise failure

    def _start(self, c: Container) -> Container:
        previous = c.state.status
        c = self._save(c.with_state(status=STARTING, runtime=self.runtime.name, paused=False,
                                    oom_killed=False))
        undo: list[Callable[[], object]] = []
        try:
            sandbox, attachments = self._setup_network(c, undo)
            # The endpoints' addresses are kept by the RUNNING save below (or, should the
            # start fail, recomputed by the teardown): one row write fewer per start.
            c = replace(self._reload(c.id) or c, networks=attachments)
            directory = self.container_dir(c.id)
            rootfs = os.path.join(directory, "rootfs")
            direct = self._without_init(c)
            mount_overlay(self._lower_dirs(c, not direct), os.path.join(directory, "upper"),
                          os.path.join(directory, "work"), rootfs)
            undo.append(lambda: unmount(rootfs))
            user = self._resolve_user(c, rootfs)
            for mount in c.mounts:
                if mount.type == "volume":
                    self.volumes.seed(mount.name, _inside(rootfs, mount.target))
            bundle = self._bundle(c.id)  # made by the runtime that needs one (runc)
            undo.append(lambda: shutil.rmtree(bundle, ignore_errors=True))
            files = self.engine.sandbox_dir(sandbox.id)
            binds = [BindMount(os.path.join(files, n), f"/etc/{n}")
                     for n in SANDBOX_FILES]
            binds += [BindMount(m.source, m.target, m.read_only) for m in c.mounts
                      if m.type != "tmpfs"]
            oci = build_spec(
                rootfs=rootfs,
                process=ProcessSpec(
                    args=c.argv if direct else (INIT_PATH, *c.argv),
                    env=self._process_env(c, sandbox, user),
                    cwd=c.workdir or "/", uid=user.uid, gid=user.gid,
                    additional_gids=user.additional_gids),
                hostname=_hostname(sandbox), netns=sandbox.netns or self.host_netns,
                init_binary=None if direct else self.init_binary, mounts=binds,
                cgroups_path=f"/dockyard-{c.id}",
                memory=c.spec.memory, memory_swap=c.spec.memory_swap,
            )
            oci["mounts"] += [{"destination": m.target, "type": "tmpfs", "source": "tmpfs",
                               "options": ["nosuid", "nodev", "mode=1777",
                                           *(["ro"] if m.read_only else [])]}
                              for m in c.mounts if m.type == "tmpfs"]
            oci["mounts"] += [tmpfs_mount(item) for item in c.spec.tmpfs]
            oci["root"]["readonly"] = c.spec.read_only
            capabilities = _capabilities(c)
            if capabilities is not None:
                oci["process"]["capabilities"] = capabilities
            sysctls = check_sysctls(c.spec.sysctls, c.spec.network_mode)
            net = {k: v for k, v in sysctls.items() if k.startswith("net.")}
            if net and sandbox.netns:
                # Into the sandbox's namespace before the process starts, as runc writes
                # them; a key that does not exist fails the start.
                self.engine.kernel.apply([plan.Sysctl(key.replace(".", "/"), value,
                                                      sandbox.netns)
                                          for key, value in net.items()])
            ipc = {k: v for k, v in sysctls.items() if k not in net}
            if ipc:  # written by the runtime, inside the container's IPC namespace
                oci["linux"].setdefault("sysctl", {}).update(ipc)
            if c.domainname:
                oci["linux"].setdefault("sysctl", {})["kernel.domainname"] = c.domainname
            # None: no stdin, no terminal
            console = self._prepare_console(c, oci, undo, for_init=not direct)
            held: list[int] = []
            if direct:
                pid = self._launch_direct(c, oci, undo, held, console)
            else:
                pid = self._launch(c, bundle, oci, undo, held, console)
            started = process.start_time(pid)
            c = self._save(c.with_state(
                status=RUNNING, pid=pid, pid_start=started, error="", exit_code=0,
                started_at=_now(), finished_at=ZERO_TIME, started_mono=_boottime()))
            pidfd = held.pop()
        except BaseException as exc:
            for step in reversed(undo):
                with contextlib.suppress(Exception):
                    step()
            code = exc.exit_code if isinstance(exc, StartError) else 128
            latest = self._reload(c.id) or c
            self._save(latest.with_state(
                status=CREATED if previous in (CREATED, STARTING) else EXITED, pid=0,
                exit_code=code, error=str(exc)))
            raise
        # An init that already exited is a zombie until collected: the pidfd is readable
        # and the supervisor settles it at once.
        self.supervisor.watch(c.id, pid, pidfd)
        if c.healthcheck is not None:
            self.health.start(c.id, c.healthcheck, time.time())
        return c

    def _launch(self, c: Container, bundle: str, oci: dict[str, Any],
                undo: list[Callable[[], object]], held: list[int],
                console: Console | None = None) -> int:
        """Start the init; its pid, with a pidfd for it put in ``held``. ``console``'s
        descriptor becomes the init's fd 6."""
        log_fd, status_fd = self._open_log_and_status(c)
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        try:
            try:
                fds = [log_fd, status_fd, report_w]
                pid = self.runtime.start(c.id, bundle, oci,
                                         fds if console is None else [*fds, console.child_fd])
            finally:
                for fd in (log_fd, status_fd, report_w):
                    os.close(fd)
                if console is not None:
                    console.spawned()
            runtime = self.runtime
            undo.append(lambda: runtime.delete(c.id, force=True))
            # Our unreaped child, so the pid cannot be reused: this pidfd is the init for
            # sure. The supervisor takes it over (``held``) once the start has succeeded.
            held.append(os.pidfd_open(pid))

            def kill_init() -> None:
                if held:
                    fd = held.pop()
                    _kill_and_reap(pid, fd)
                    process.close_quietly(fd)
            undo.append(kill_init)
            report = _read_report(report_r, START_REPORT_TIMEOUT)
        finally:
            os.close(report_r)
        if report.startswith("ok"):
            if console is not None:
                console.begin()
                undo.append(console.exited)
            return pid
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)  # the init exits right after reporting a failure
        raise _start_failure(c, report)

    def _open_log_and_status(self, c: Container) -> tuple[int, int]:
        """What the process that outlives us writes for a run: the json-file log (appended
        to) and the exit-status file (emptied)."""
        directory = self.container_dir(c.id)
        return (os.open(os.path.join(directory, "json.log"),
                        os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o640),
                os.open(os.path.join(directory, "exit-status"),
                        os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600))

    def _exit_record(self, c: Container) -> list[str] | None:
        """The words of the exit-status file (["exit", CODE] once written; [] before);
        None if there is no file."""
        try:
            with open(os.path.join(self.container_dir(c.id), "exit-status")) as f:
                return f.read().split()
        except FileNotFoundError:
            return None

    def _without_init(self, c: Container) -> bool:
        """Whether ``c`` runs as Docker runs a container by default: its command is its
        PID 1, and dymon (``kernel/dymon.c``) logs its output (a terminal's is logged here),
        records its exit and keeps its terminal across a restart of the manager. With
        ``--init``, dyinit is PID 1 and does that from inside; under runc, always."""
        init = self.default_init if c.spec.init is None else c.spec.init
        return self.runtime is self.dyrun and not init

    def _launch_direct(self, c: Container, oci: dict[str, Any],
                       undo: list[Callable[[], object]], held: list[int],
                       console: Console | None) -> int:
        """Start ``c`` without an init, through dymon; its pid, with the connection on
        which dymon tells of its end put in ``held`` (watched as an init's pidfd is).
        ``console``: stdin's pipe (``-i``) or the terminal (``-t``: dyrun makes it, dymon
        hands its master over); without one, stdin is /dev/null."""
        fds = list(self._open_log_and_status(c))
        pipe = console is not None and not c.spec.tty
        if not pipe:
            fds.append(os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC))
        try:
            started = self.dyrun.start_direct(
                c.id, oci, [*fds, console.child_fd] if pipe and console else fds,
                tty_size=console.size if console is not None and c.spec.tty else None)
        finally:
            for fd in fds:
                os.close(fd)
            if console is not None:
                console.spawned()
        if started.conn is None:
            raise _start_failure(c, started.report)
        pid = int(started.report.split()[1])
        runtime = self.dyrun
        undo.append(lambda: runtime.delete(c.id, force=True))
        held.append(started.conn.detach())

        def kill_command() -> None:  # dymon collects it
            if held:
                process.close_quietly(held.pop())
                process.kill_pid_namespace(pid, None)
        undo.append(kill_command)
        if console is not None:
            if c.spec.tty and started.master is None:
                raise KernelError(f"container {c.id[:12]}: dymon passed on no terminal")
            console.begin(started.master)
            undo.append(console.exited)
        return pid

    def _lower_dirs(self, c: Container, init: bool) -> list[str]:
        """The image's layers, under the shared layer of mount points when it fits
        (``runtime/mountpoints.py``: it spares each start four new inodes, five with an
        init)."""
        layers = self.images.layer_dirs(c.image_id)
        if mountpoints.fits(layers):
            return [mountpoints.mount_point_layer(self.images.root, init), *layers]
        return layers

    def _setup_network(self, c: Container, undo: list[Callable[[], object]]
                       ) -> tuple[Sandbox, tuple[Attachment, ...]]:
        """The container's sandbox, made and connected, with its network attachments
        as they now are (the addresses each endpoint got)."""
        mode = parse_network_mode(c.spec.network_mode)
        existing = self.engine.state().sandbox_by_id(c.id)
        if existing is not None:  # kept at stop because another container shares it
            return existing, c.networks
        kwargs: dict[str, Any] = {
            "hostname": c.hostname, "domainname": c.domainname, "dns": c.spec.dns,
            "dns_search": c.spec.dns_search, "dns_options": c.spec.dns_options,
            "extra_hosts": c.spec.extra_hosts, "sandbox_id": c.id,
        }
        if mode.kind == "container":
            target = self.get(mode.target)
            if target.state.status != RUNNING:
                raise Conflict(f"cannot join network namespace of a non running container: "
                               f"container {target.id[:12]} is {target.state.status}")
            kwargs["hostname"] = target.hostname
            sandbox = self.engine.create_sandbox(c.name, mode=MODE_CONTAINER, shares=target.id,
                                                 **kwargs)
            undo.append(lambda: self.engine.remove_sandbox(c.id))
            return sandbox, c.networks
        for a in c.networks:  # (a create takes a network that does not exist yet)
            try:
                self.engine.network(a.network)
            except NotFound:
                raise NotFound(f"failed to set up container networking: network {a.network} "
                               "not found") from None
        ports = [p for item in c.spec.publish for p in parse_publish(item)]
        if c.spec.publish_all:
            published = {p.key for p in ports}
            for key in c.exposed:
                for e in parse_expose(key):
                    if e.key not in published:
                        ports.append(PortSpec(e.proto, e.port, None))
        sandbox = self.engine.create_sandbox(
            c.name, mode=MODE_HOST if mode.kind == "host" else MODE_PRIVATE,
            ports=ports, exposed=list(c.exposed), write_files=not c.networks, **kwargs)
        undo.append(lambda: self.engine.remove_sandbox(c.id))
        attachments = []
        for a in c.networks:
            endpoint = None
            wanted = a.ipv4 or a.last_ipv4
            if wanted and not a.ipv4:
                with contextlib.suppress(DockyardError):
                    endpoint = self.engine.connect(a.network, c.id, aliases=a.aliases,
                                                   ipv4=wanted, ipv6=a.ipv6,
                                                   links=c.spec.links, mac=a.mac,
                                                   gw_priority=a.gw_priority)
            if endpoint is None:
                endpoint = self.engine.connect(a.network, c.id, aliases=a.aliases,
                                               ipv4=a.ipv4, ipv6=a.ipv6, links=c.spec.links,
                                               mac=a.mac, gw_priority=a.gw_priority)
            attachments.append(replace(
                a, last_ipv4=endpoint.ipv4_address, last_ipv6=endpoint.ipv6_address))
        return self.engine.sandbox(c.id), tuple(attachments)

    def _resolve_user(self, c: Container, rootfs: str) -> ResolvedUser:
        def read(name: str) -> str:
            try:
                with open(_inside(rootfs, f"/etc/{name}")) as f:
                    return f.read()
            except OSError:
                return ""

        return resolve_user(c.user, read("passwd"), read("group"), c.spec.group_add)

    def _process_env(self, c: Container, sandbox: Sandbox, user: ResolvedUser
                     ) -> tuple[str, ...]:
        env = list(c.env)
        keys = {e.partition("=")[0] for e in env}
        if "PATH" not in keys:
            env.insert(0, f"PATH={DEFAULT_PATH}")
        env.insert(1, f"HOSTNAME={_hostname(sandbox)}")
        if "HOME" not in keys:
            env.append(f"HOME={user.home}")
        return tuple(env)

    # ------------------------------------------------------------- exit & restart

    def _on_exit(self, container_id: str, pid: int) -> None:
        restart_delay: float | None = None
        self.health.stop(container_id)
        with self._lock(container_id):
            c = self._reload(container_id)
            if c is None or c.state.status != RUNNING or c.state.pid != pid:
                process.reap(pid)
                return
            record = self._exit_record(c)
            if record == [] and self._monitor_lost(c):
                return
            console = self._consoles.get(container_id)
            if console is not None:
                console.exited()
            code = self._collect_exit(c, record)
            c = c.with_state(paused=False, oom_killed=self._oom_killed(c))
            c = self._teardown(c)
            ran_for = _boottime() - c.state.started_mono
            decision = decide(
                parse_restart_policy(c.spec.restart), exit_code=code,
                manually_stopped=c.state.manually_stopped,
                restart_count=c.state.restart_count, ran_for=ran_for,
                previous_backoff=c.state.backoff)
            if decision.restart and not self._shutting_down:
                c = self._save(c.with_state(status=RESTARTING, pid=0, exit_code=code,
                                            finished_at=_now(), backoff=decision.backoff))
                restart_delay = decision.delay
            else:
                c = self._save(c.with_state(status=EXITED, pid=0, exit_code=code,
                                            finished_at=_now(),
                                            backoff=0.0 if ran_for >= 10 else c.state.backoff))
        if restart_delay is not None:
            self.supervisor.call_later(restart_delay, lambda: self._restart_due(container_id))
        elif c.spec.auto_remove:
            with contextlib.suppress(DockyardError):
                self.remove(container_id, force=True, volumes=True)

    def _monitor_lost(self, c: Container) -> bool:
        """Whether what told of ``c``'s end, with no exit recorded, was dymon going away,
        not ``c``: its command still runs. It is then watched through a pidfd; it is our
        child now (we are a subreaper above dymon), so its exit status comes from waitpid."""
        fd = process.open_pidfd(c.state.pid, c.state.pid_start)
        if fd is None:
            return False
        if process.has_exited(fd):
            process.close_quietly(fd)
            return False
        self.supervisor.watch(c.id, c.state.pid, fd)
        return True

    def _restart_due(self, container_id: str) -> None:
        with self._lock(container_id):
            c = self._reload(container_id)
            if c is None or c.state.status != RESTARTING:
                return
            if c.state.manually_stopped:
                self._save(c.with_state(status=EXITED))
                return
            c = self._save(c.with_state(restart_count=c.state.restart_count + 1))
            try:
                self._start(c)
            except DockyardError:
                latest = self._reload(container_id)
                if latest is not None:
                    self._save(latest.with_state(status=EXITED))

    def _collect_exit(self, c: Container, recorded: list[str] | None) -> int:
        """The exit code: as recorded (``recorded``: :meth:`_exit_record`), else from
        waitpid when the process was our child."""
        status = process.reap(c.state.pid)
        recorded = recorded or []
        if len(recorded) == 2 and recorded[0] == "exit" and recorded[1].isdigit():
            return int(recorded[1])
        if status is not None:
            return process.exit_code_of(status)
        return 128 + signal.SIGKILL  # gone without a word: its init was killed

    def _teardown(self, c: Container) -> Container:
        """Undo a start: runc state, root mount, bundle, sandbox (addresses remembered)."""
        with contextlib.suppress(DockyardError):
            self._runtime_of(c).delete(c.id, force=True)
        with contextlib.suppress(DockyardError):
            unmount(os.path.join(self.container_dir(c.id), "rootfs"))
        shutil.rmtree(self._bundle(c.id), ignore_errors=True)
        state = self.engine.state()
        if state.sandbox_by_id(c.id) is not None:
            remembered = []
            for a in c.networks:
                network = next((n for n in state.networks if n.name == a.network), None)
                endpoint = state.endpoint(network.id, c.id) if network else None
                if endpoint is not None:
                    a = replace(a, last_ipv4=endpoint.ipv4_address,
                                last_ipv6=endpoint.ipv6_address)
                remembered.append(a)
            c = replace(c, networks=tuple(remembered))
            if not any(s.shares == c.id for s in state.sandboxes):
                with contextlib.suppress(NotFound):
                    self.engine.remove_sandbox(c.id)
        return c

    # ----------------------------------------------------------- stop, kill, wait

    def _signal(self, c: Container, sig: int) -> bool:
        if c.state.paused and _signal_unpauses(c, sig):
            c = self._thaw(c)  # frozen processes would not even die of SIGKILL
        if sig == signal.SIGKILL and c.state.pid:
            # Probes and execs in its namespace would keep the init from finishing its exit.
            return process.kill_pid_namespace(c.state.pid, c.state.pid_start) > 0
        fd = process.open_pidfd(c.state.pid, c.state.pid_start) if c.state.pid else None
        if fd is None:
            return False
        try:
            return process.send_signal(fd, sig)
        finally:
            process.close_quietly(fd)

    def _not_running(self, container_id: str) -> Callable[[], bool]:
        def check() -> bool:
            latest = self._reload(container_id)
            return latest is None or latest.state.status not in (RUNNING, STARTING)
        return check

    def stop(self, ref: str, timeout: int | None = None, signal_name: str | None = None
             ) -> Container:
        """The stop signal, then SIGKILL after ``timeout`` seconds (-1: wait forever)."""
        c = self.get(ref)
        with self._lock(c.id):
            c = self._reload(c.id) or c
            c = self._save(c.with_state(manually_stopped=True))
            if c.state.status == RESTARTING:
                return self._save(c.with_state(status=EXITED))
            if c.state.status != RUNNING:
                return c
            sig = parse_signal(signal_name or c.stop_signal or "SIGTERM")
            wait = timeout if timeout is not None else (
                c.stop_timeout if c.stop_timeout is not None else DEFAULT_STOP_TIMEOUT)
            self._signal(c, sig)
        self._kill_after(c.id, wait)
        return self._reload(c.id) or c

    def _kill_after(self, container_id: str, wait: int) -> None:
        """SIGKILL unless the container stops within ``wait`` seconds (-1: forever)."""
        if not self._wait_until(self._not_running(container_id), None if wait < 0 else wait):
            latest = self._reload(container_id)
            if latest is not None:
                self._signal(latest, signal.SIGKILL)
            self._wait_until(self._not_running(container_id), 30)

    def stop_all(self) -> builtins.list[str]:
        """A daemon's shutdown without live restore: every running container gets its stop
        signal and, after its own stop timeout, SIGKILL, all at once. The stops are not the
        user's: the next daemon start brings back ``always`` and ``unless-stopped``
        containers, as Docker's does. No restart policy applies meanwhile. The names
        stopped."""
        self._shutting_down = True
        running = [c for c in self.containers() if c.state.status in (RUNNING, RESTARTING)]

        def end(c: Container) -> None:
            with self._lock(c.id):
                latest = self._reload(c.id)
                if latest is None or latest.state.status != RUNNING:
                    if latest is not None and latest.state.status == RESTARTING:
                        self._save(latest.with_state(status=EXITED))
                    return
                self._signal(latest, parse_signal(latest.stop_signal or "SIGTERM"))
            self._kill_after(c.id, c.stop_timeout if c.stop_timeout is not None
                             else DEFAULT_STOP_TIMEOUT)

        threads = [threading.Thread(target=end, args=(c,), daemon=True) for c in running]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [c.name for c in running]

    def kill(self, ref: str, signal_name: str = "SIGKILL") -> None:
        """Any signal; the kill signal or the stop signal counts as a manual stop (the
        restart policy leaves the container alone), as ``docker kill`` does."""
        c = self.get(ref)
        sig = parse_signal(signal_name)
        with self._lock(c.id):
            c = self._reload(c.id) or c
            if c.state.status != RUNNING:
                raise Conflict(f"Container {c.id} is not running")
            if sig in (signal.SIGKILL, parse_signal(c.stop_signal or "SIGTERM")):
                c = self._save(c.with_state(manually_stopped=True))
            self._signal(c, sig)

    def restart(self, ref: str, timeout: int | None = None) -> Container:
        c = self.stop(ref, timeout)
        return self.start(c.id)

    def wait(self, ref: str, condition: str = "not-running", timeout: float | None = None
             ) -> int:
        """Block until the container is not running (``next-exit``: until it next exits;
        ``removed``: until it is gone) and return its exit code."""
        c = self.get(ref)
        finished = c.state.finished_at
        if condition == "next-exit":
            def check() -> bool:
                latest = self._reload(c.id)
                return latest is None or (latest.state.finished_at != finished
                                          and latest.state.status != RUNNING)
        elif condition == "removed":
            def check() -> bool:
                return self._reload(c.id) is None
        elif condition == "not-running":
            def check() -> bool:
                latest = self._reload(c.id)
                return latest is None or latest.state.status in (CREATED, EXITED)
        else:
            raise InvalidParameter(f'invalid condition "{condition}"')
        if not self._wait_until(check, timeout):
            raise TimeoutError(f"container {c.name} still running after {timeout} s")
        latest = self._reload(c.id)
        return latest.state.exit_code if latest is not None else c.state.exit_code

    # ------------------------------------------------------------ pause, unpause

    def update(self, ref: str, *, restart: str | None = None, memory: int = 0,
               memory_swap: int = 0) -> Container:
        """``docker update``: a new restart policy, and new memory limits (0: unchanged),
        applied at once to a running container and kept for its next starts. A refused
        update changes nothing."""
        c = self.get(ref)
        with self._lock(c.id):
            c = self._reload(c.id) or c
            spec = c.spec
            if restart is not None:
                policy = parse_restart_policy(restart)  # refuses an unknown policy
                if c.spec.auto_remove and policy.name != "no":
                    raise InvalidParameter("Restart policy cannot be updated because "
                                           "AutoRemove is enabled for the container")
                spec = replace(spec, restart=restart)
            if memory or memory_swap:
                limit, swap = updated_memory(spec.memory, spec.memory_swap, memory,
                                             memory_swap)
                if c.state.status == RUNNING and c.state.pid:
                    cgroups.limit_memory(c.id, c.state.pid, limit, swap)
                spec = replace(spec, memory=limit, memory_swap=swap)
            return self._save(replace(c, spec=spec))

    def pause(self, ref: str) -> Container:
        """Freeze every process of the running container (``kernel/cgroups.py``); it stays
        running (``State.Running``) and is shown paused. No healthcheck runs meanwhile."""
        c = self.get(ref)
        with self._lock(c.id):
            c = self._reload(c.id) or c
            if c.state.status == RESTARTING:
                raise Conflict(f"Container {c.id} is restarting, wait until the container is "
                               "running")
            if c.state.status != RUNNING:
                raise Conflict(f"Container {c.id} is not running")
            if c.state.paused:
                raise Conflict(f"Container {c.id} is already paused")
            cgroups.freeze(c.id, c.state.pid, c.state.pid_start)
            self.health.stop(c.id)
            return self._save(c.with_state(paused=True))

    def unpause(self, ref: str) -> Container:
        c = self.get(ref)
        with self._lock(c.id):
            c = self._reload(c.id) or c
            if c.state.status != RUNNING or not c.state.paused:
                raise Conflict(f"Container {c.id} is not paused")
            return self._thaw(c)

    def _thaw(self, c: Container) -> Container:
        cgroups.thaw(c.id)
        c = self._save(c.with_state(paused=False))
        if c.healthcheck is not None:
            self.health.start(c.id, c.healthcheck, _epoch(c.state.started_at), adopted=True)
        return c

    def _settle_pause(self, c: Container) -> Container:
        """At adoption the kernel's freezer is the truth: a manager that died between
        freezing and recording (or the reverse) left the record wrong."""
        frozen = cgroups.frozen(c.id)
        return c if frozen == c.state.paused else self._save(c.with_state(paused=frozen))

    def _oom_killed(self, c: Container) -> bool:
        """Whether the kernel's OOM killer took one of its processes this run (only a
        container with a memory limit has a memory group to ask)."""
        return c.spec.memory > 0 and cgroups.oom_kills(c.id) > 0

    # ------------------------------------------------------------ remove, rename

    def remove(self, ref: str, *, force: bool = False, volumes: bool = False) -> None:
        c = self.get(ref)
        if c.state.paused and not force:
            raise Conflict(f'cannot remove container "/{c.name}": container is paused and must '
                           "be unpaused first")
        if c.state.status in (RUNNING, RESTARTING, STARTING):
            if not force:
                raise Conflict(
                    f"cannot remove container \"/{c.name}\": container is running: stop the "
                    "container before removing or force remove")
            with self._lock(c.id):
                latest = self._reload(c.id) or c
                self._save(latest.with_state(manually_stopped=True))
                if latest.state.status == RUNNING:
                    self._signal(latest, signal.SIGKILL)
            self._wait_until(self._not_running(c.id), 30)
        with self._lock(c.id):
            current = self._reload(c.id)
            if current is None:  # gone meanwhile: its AutoRemove (--rm) removed it on exit
                return
            c = current
            if c.state.status in (RUNNING, STARTING):
                raise Conflict(f"container {c.name} did not stop")
            # Running containers in its namespace (``container:`` mode) have sandboxes that
            # share its own: asked of the engine, not by reading every container.
            sharers = [s.name for s in self.engine.state().sandboxes
                       if s.shares == c.id and s.id != c.id]
            if sharers:
                raise Conflict(f"container {c.name} is used by {', '.join(sharers)} "
                               "(network mode container:): remove those first")
            self._teardown(c)
            owns_name = self._name_owner(c.name) == c.id
            with self.store.transaction() as txn:
                txn.delete(CONTAINER_KIND, c.id)
                if owns_name:
                    txn.delete(NAME_KIND, c.name)
            self.health.forget(c.id)
            with self._rows:
                console = self._consoles.pop(c.id, None)
            if console is not None:
                console.discard()
            self._spares.give(self.container_dir(c.id))
            if volumes:
                for m in c.mounts:
                    if m.type == "volume" and m.anonymous:
                        with contextlib.suppress(DockyardError):
                            self.volumes.remove(m.name, in_use=self.volume_user)
        with self._rows:
            self._locks.pop(c.id, None)
        with self._changed:
            self._changed.notify_all()
        self._removed(c)

    def _removed(self, c: Container) -> None:
        """Called once ``c`` is gone (a removal asked for, or AutoRemove's): a hook for
        observers, as ``_save`` is for states."""

    def rename(self, ref: str, new_name: str) -> Container:
        """Docker's rename: the name index, the record and, while the container has a
        sandbox, the sandbox and its endpoints (so the embedded DNS answers the new name
        at once, not after a restart). A refused rename changes nothing."""
        c = self.get(ref)
        if new_name.removeprefix("/") == c.name:
            raise InvalidParameter("Renaming a container with the same name as its current name")
        try:
            name = validate_container_name(new_name)
        except InvalidParameter as exc:
            raise InvalidParameter(f"Error when allocating new name: {exc}") from None
        with self._rows:
            other_id = self._name_owner(name)
            if other_id is not None and other_id != c.id:
                raise Conflict(f'Error when allocating new name: Conflict. The container name '
                               f'"/{name}" is already in use by container "{other_id}". You '
                               "have to remove (or rename) that container to be able to reuse "
                               "that name.")
            with self._lock(c.id):
                latest = self._reload(c.id) or c
                has_sandbox = self.engine.state().sandbox_by_id(c.id) is not None
                if has_sandbox:
                    self.engine.rename_sandbox(c.id, name)
                try:
                    owns_old = self._name_owner(latest.name) == c.id
                    with self.store.transaction() as txn:
                        if owns_old:
                            txn.delete(NAME_KIND, latest.name)
                        txn.put(NAME_KIND, name, {"name": name, "id": c.id})
                    return self._save(replace(latest, name=name))
                except BaseException:
                    if has_sandbox:
                        with contextlib.suppress(DockyardError):
                            self.engine.rename_sandbox(c.id, latest.name)
                    raise

    def volume_user(self, volume: str) -> str | None:
        """The id of a container using ``volume``, for ``VolumeStore.remove``."""
        for c in self.containers():
            if any(m.name == volume for m in c.mounts):
                return c.id
        return None

    def image_user(self, image_id: str) -> str | None:
        """The id of a container using the image, for ``ImageStore.remove(in_use=)``."""
        return next((c.id for c in self.containers() if c.image_id == image_id), None)

    # ---------------------------------------------------------- networks at runtime

    def connect(self, ref: str, network: str, *, aliases: Sequence[str] = (),
                ipv4: str | None = None, ipv6: str | None = None,
                mac: str | None = None, gw_priority: int = 0) -> None:
        if mac is not None:
            mac = parse_mac(mac)
        c = self.get(ref)
        with self._lock(c.id):
            c = self._reload(c.id) or c
            net = self.engine.network(network)
            if any(a.network == net.name for a in c.networks):
                raise Forbidden(f"endpoint with name {c.name} already exists in network "
                                 f"{net.name}")
            attachment = Attachment(net.name, tuple(aliases), ipv4, ipv6, mac, gw_priority)
            if c.state.status == RUNNING:
                endpoint = self.engine.connect(net.name, c.id, aliases=aliases, ipv4=ipv4,
                                               ipv6=ipv6, mac=mac, gw_priority=gw_priority)
                attachment = replace(attachment, last_ipv4=endpoint.ipv4_address,
                                     last_ipv6=endpoint.ipv6_address)
            self._save(replace(c, networks=(*c.networks, attachment)))

    def disconnect(self, ref: str, network: str, *, force: bool = False) -> None:
        c = self.get(ref)
        with self._lock(c.id):
            c = self._reload(c.id) or c
            net = self.engine.network(network)
            if not any(a.network == net.name for a in c.networks):
                raise Forbidden(f"container {c.name} is not connected to network {net.name}")
            if c.state.status == RUNNING:
                self.engine.disconnect(net.name, c.id, force=force)
            self._save(replace(c, networks=tuple(a for a in c.networks
                                                 if a.network != net.name)))

    # ------------------------------------------------------------ inspect & list

    def inspect(self, ref: str) -> dict[str, Any]:
        return self.inspect_container(self.get(ref), self.engine.state())

    def inspect_container(self, c: Container, state: State) -> dict[str, Any]:
        """``inspect`` of a container already read, against a given engine state: a list
        reads every container and the state once, not once per container."""
        sandbox = state.sandbox_by_id(c.id)
        attached: dict[str, Attached] = {}
        if sandbox is not None:
            for endpoint in state.endpoints_of_sandbox(c.id):
                network = state.network_by_id(endpoint.network_id)
                if network is not None:
                    attached[network.name] = Attached(network, endpoint)
        directory = self.container_dir(c.id)
        files = self.engine.sandbox_dir(c.id) if sandbox else ""
        paths = Paths(
            log=os.path.join(directory, "json.log"),
            hosts=os.path.join(files, "hosts") if files else "",
            hostname=os.path.join(files, "hostname") if files else "",
            resolv_conf=os.path.join(files, "resolv.conf") if files else "",
            upper=os.path.join(directory, "upper"), merged=os.path.join(directory, "rootfs"))
        health = None
        if c.healthcheck is not None and not c.healthcheck.disabled:
            health = self.health.health(c.id)
        return inspect_doc(c, attached=attached, sandbox=sandbox, paths=paths, health=health)

    def sizes(self, ref: str) -> tuple[int, int]:
        """Docker's ``SizeRw`` (bytes in the container's writable layer, the overlay's
        upper directory) and ``SizeRootFs`` (those plus its image's layers). It walks the
        upper directory: for ``size=1`` requests only."""
        c = self.get(ref)
        rw = tree_size(os.path.join(self.container_dir(c.id), "upper"))
        try:
            image = self.images.get(c.image_id).size
        except NotFound:  # force-removed under the container: only its own layer is left
            image = 0
        return rw, image + rw

    def list(self, *, all: bool = False) -> list[dict[str, Any]]:
        """``GET /containers/json`` items: running ones, or every one with ``all``."""
        return [list_item(c, self.inspect(c.id)) for c in reversed(self.containers())
                if all or c.state.status in (RUNNING, RESTARTING)]

    # ------------------------------------------------------------- logs, exec, top

    def logs(self, ref: str, *, stdout: bool = True, stderr: bool = True,
             follow: bool = False, tail: int | None = None, since: str | None = None
             ) -> Iterator[logfile.LogRecord]:
        """Log records; with ``follow``, keep yielding until the container stops."""
        c = self.get(ref)
        path = os.path.join(self.container_dir(c.id), "json.log")
        records, offset = logfile.read_records(path)
        yield from logfile.select(records, stdout=stdout, stderr=stderr, since=since,
                                  tail=tail)
        while follow:
            done = self._not_running(c.id)()
            records, offset = logfile.read_records(path, offset)
            yield from logfile.select(records, stdout=stdout, stderr=stderr)
            if done:
                return
            with self._changed:
                self._changed.wait(0.1)

    def exec(self, ref: str, cmd: Sequence[str], *, env: Sequence[str] = (),
             workdir: str | None = None, user: str | None = None,
             timeout: float | None = None) -> ExecResult:
        """Run ``cmd`` in the running container's namespaces, with its env, workdir and
        user unless overridden; the exit code is Docker's (127/126 when it cannot run)."""
        c, proc = self._exec_process(ref, cmd, env, workdir, user)
        return self._runtime_of(c).exec_process(c.id, proc, pid=c.state.pid,
                                                timeout=timeout)

    def exec_spawn(self, ref: str, cmd: Sequence[str], *, env: Sequence[str] = (),
                   workdir: str | None = None, user: str | None = None,
                   tty: tuple[int, int] | None = None, stdin: bool = False) -> ExecProcess:
        """:meth:`exec` for a client that streams its I/O (``exec -i``/``-t``): with
        ``tty`` (rows, cols) the command gets a terminal of the container, with ``stdin``
        a pipe for its stdin; the caller waits for ``proc`` and closes the result."""
        c, proc = self._exec_process(ref, cmd, env, workdir, user, tty=tty is not None)
        return self._runtime_of(c).spawn_exec(c.id, proc, pid=c.state.pid, tty=tty,
                                              stdin=stdin)

    def _exec_process(self, ref: str, cmd: Sequence[str], env: Sequence[str],
                      workdir: str | None, user: str | None, tty: bool = False
                      ) -> tuple[Container, dict[str, Any]]:
        """The running container and the OCI process document of an exec in it."""
        c = self.get(ref)
        if c.state.status != RUNNING:
            raise Conflict(f"container {c.id} is not running")
        if c.state.paused:
            raise Conflict(f"Container {ref} is paused, unpause the container before exec")
        if not cmd:
            raise InvalidParameter("no exec command specified")
        rootfs = os.path.join(self.container_dir(c.id), "rootfs")
        resolved = self._resolve_user(replace(c, user=user if user is not None else c.user),
                                      rootfs)
        sandbox = self.engine.sandbox(c.id)
        base = self._process_env(c, sandbox, resolved)
        if tty and not any(e.startswith("TERM=") for e in base):
            base = (*base, "TERM=xterm")  # Docker's, under the container's and the exec's
        full_env = _merge_env(base, env)
        proc = ProcessSpec(args=tuple(cmd), env=full_env, cwd=workdir or c.workdir or "/",
                           uid=resolved.uid, gid=resolved.gid,
                           additional_gids=resolved.additional_gids).to_oci()
        capabilities = _capabilities(c)  # an exec has its container's, as in Docker
        if capabilities is not None:
            proc["capabilities"] = capabilities
        return c, proc

    # ---------------------------------------------------- stdin and terminals

    def console(self, ref: str) -> Console:
        """The stdin and terminal of a container made with OpenStdin or Tty; made on
        first use, so that a client can attach (and send input) before the start."""
        c = self.get(ref)
        if not (c.spec.tty or c.spec.open_stdin):
            raise Conflict(f"container {c.id} has neither stdin nor a terminal")
        with self._rows:
            console = self._consoles.get(c.id)
            if console is None:
                console = Console(c.id, os.path.join(self.container_dir(c.id), "json.log"),
                                  c.spec.tty)
                self._consoles[c.id] = console
            return console

    def _prepare_console(self, c: Container, oci: dict[str, Any],
                         undo: builtins.list[Callable[[], object]], *, for_init: bool
                         ) -> Console | None:
        """What a start of a container with stdin or a terminal adds: the pipe or socket,
        dyinit's ``DYINIT_STDIO`` when it is PID 1 (``for_init``), and Docker's
        ``TERM=xterm`` with a terminal."""
        if not (c.spec.tty or c.spec.open_stdin):
            return None
        console = self.console(c.id)
        env = oci["process"]["env"]
        stdio = console.prepare(*c.spec.console_size)
        if for_init:
            env.append("DYINIT_STDIO=" + stdio)
        if c.spec.tty and not any(e.startswith("TERM=") for e in env):
            env.append("TERM=xterm")
        undo.append(console.abandon)
        return console

    def resize(self, ref: str, rows: int, cols: int) -> None:
        """The size of a running container's terminal (nothing to do without one)."""
        c = self.get(ref)
        if c.state.status != RUNNING:
            raise Conflict(f"Container {c.id} is not running")
        if c.spec.tty:
            self.console(c.id).resize(rows, cols)

    def _probe(self, container_id: str, argv: tuple[str, ...], timeout: float) -> ExecResult:
        """One healthcheck probe, through the exec path (``subprocess.TimeoutExpired``
        when it outruns ``timeout``)."""
        try:
            return self.exec(container_id, argv, timeout=timeout)
        except subprocess.TimeoutExpired:
            c = self._reload(container_id)
            if c is not None and c.state.pid:  # the probe outlived its killed exec
                process.kill_orphans_in_namespace(c.state.pid, c.state.pid_start)
            raise

    def _health_changed(self, container_id: str, before: str, after: str) -> None:
        listener = self.on_health_status
        if listener is not None:
            listener(container_id, after)

    def top(self, ref: str) -> builtins.list[tuple[int, str]]:
        """(host pid, command line) of every process in the container."""
        c = self.get(ref)
        if c.state.status != RUNNING:
            raise Conflict(f"container {c.id} is not running")
        pids: builtins.list[int] = []
        bases = ["/sys/fs/cgroup/pids", "/sys/fs/cgroup/unified", "/sys/fs/cgroup"]
        if c.state.runtime == "dyrun":  # only the devices controller (kernel/lean.py)
            bases = [self.dyrun.cgroup_root] if self.dyrun.cgroup_root else []
        for base in bases:
            path = os.path.join(base, f"dockyard-{c.id}", "cgroup.procs")
            with contextlib.suppress(OSError), open(path) as f:
                pids = [int(line) for line in f if line.strip()]
                break
        if not pids:  # no cgroup to ask: every process in the init's PID namespace
            pids = process.pid_namespace_members(c.state.pid)
        out = []
        for pid in sorted(pids):
            with contextlib.suppress(OSError), open(f"/proc/{pid}/cmdline", "rb") as f:
                out.append((pid, f.read().replace(b"\0", b" ").decode(errors="replace").strip()))
        return out

    # ------------------------------------------------------------------ reconcile

    def reconcile(self) -> builtins.list[str]:
        """Adopt containers still running, record exits that happened while no manager
        ran (and apply their restart policy), finish interrupted starts, and remove runc
        state, mounts and sandboxes no container owns."""
        log: builtins.list[str] = []
        known = set()
        for c in self.containers():
            known.add(c.id)
            status = c.state.status
            if status == RUNNING:
                fd = process.open_pidfd(c.state.pid, c.state.pid_start)
                if fd is not None and not self.supervisor.watching(c.id):
                    # Run without an init: dymon, not the pidfd, says when its exit is
                    # recorded (and keeps the terminal, if any).
                    watched = self.monitor.watch(c.state.pid)
                    master = None
                    if watched is not None:
                        process.close_quietly(fd)
                        fd, master = watched[0].detach(), watched[1]
                    c = self._settle_pause(c)
                    if c.spec.tty:
                        self.console(c.id).adopt(fd, master)
                    elif master is not None:
                        process.close_quietly(master)
                    self.supervisor.watch(c.id, c.state.pid, fd)
                    if c.healthcheck is not None and not c.state.paused:
                        self.health.start(c.id, c.healthcheck, _epoch(c.state.started_at),
                                          adopted=True)
                    log.append(f"adopted {c.name}")
                elif fd is None:
                    log.append(f"{c.name} exited while unsupervised")
                    self._on_exit(c.id, c.state.pid)
                else:
                    process.close_quietly(fd)
            elif status == STARTING:
                with self._lock(c.id):
                    c = self._teardown(c)
                    self._save(c.with_state(status=CREATED if c.state.started_at == ZERO_TIME
                                            else EXITED, pid=0, exit_code=128,
                                            error="start interrupted"))
                log.append(f"{c.name}: interrupted start undone")
            elif status == RESTARTING:
                self.supervisor.call_later(0, functools.partial(self._restart_due, c.id))
                log.append(f"{c.name}: pending restart resumed")
            elif (self.engine.state().sandbox_by_id(c.id) is not None
                  or any(r.exists(c.id) for r in self._runtimes.values())):
                with self._lock(c.id):
                    self._save(self._teardown(c))
                log.append(f"{c.name}: leftovers of a stopped container removed")
        for runtime in self._runtimes.values():
            for container_id in runtime.list_ids():
                if container_id not in known:
                    with contextlib.suppress(DockyardError):
                        runtime.delete(container_id, force=True)
                    log.append(f"{runtime.name} state {container_id[:12]} without a "
                               "container removed")
        for container_id in os.listdir(self._dir):
            if container_id not in known:
                with contextlib.suppress(DockyardError):
                    unmount(os.path.join(self._dir, container_id, "rootfs"))
                shutil.rmtree(os.path.join(self._dir, container_id), ignore_errors=True)
                log.append(f"directory of unknown container {container_id[:12]} removed")
        return log

    def start_with_daemon(self) -> builtins.list[tuple[Container, DockyardError | None]]:
        """What a daemon start does to stopped containers, by their restart policy
        (:func:`starts_with_daemon`): each one started, with the error if its start was
        refused. Containers that never ran stay created, as in Docker (moby#36924)."""
        results: builtins.list[tuple[Container, DockyardError | None]] = []
        for c in self.containers():
            if c.state.status != EXITED or c.state.started_at == ZERO_TIME:
                continue
            if not starts_with_daemon(parse_restart_policy(c.spec.restart),
                                      manually_stopped=c.state.manually_stopped):
                continue
            try:
                results.append((self.start(c.id), None))
            except DockyardError as exc:
                results.append((self._reload(c.id) or c, exc))
        return results


# ---------------------------------------------------------------------- helpers



def _capabilities(c: Container) -> dict[str, list[str]] | None:
    """The OCI process capabilities of a container with --cap-add/--cap-drop; None: the
    runtime's defaults (Docker's)."""
    if not (c.spec.cap_add or c.spec.cap_drop):
        return None
    caps = list(effective_capabilities(c.spec.cap_add, c.spec.cap_drop, DEFAULT_CAPS))
    return {"bounding": caps, "effective": caps, "permitted": caps}


def _tup(value: Any) -> tuple[str, ...] | None:
    return None if value is None else tuple(str(v) for v in value)


def _merge_env(base: Sequence[str], extra: Sequence[str]) -> tuple[str, ...]:
    """``extra`` overrides ``base`` by name, keeping base's order; a bare ``NAME`` in extra
    (no "=") takes the manager's own value, as ``docker run -e NAME`` does."""
    out: dict[str, str] = {}
    for item in (*base, *extra):
        key, sep, value = item.partition("=")
        if not key:
            raise InvalidParameter(f'invalid environment variable "{item}"')
        if not sep:
            if key not in os.environ:
                continue
            value = os.environ[key]
        out[key] = value
    return tuple(f"{k}={v}" for k, v in out.items())


def _inside(rootfs: str, path: str) -> str:
    """``path`` under ``rootfs`` without following symlinks out of it (lexically)."""
    return os.path.join(rootfs, os.path.normpath("/" + path).lstrip("/"))


def _read_report(fd: int, timeout: float) -> str:
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    data = b""
    deadline = time.monotonic() + timeout
    while not data.endswith(b"\n"):
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not poller.poll(remaining * 1000):
            break
        chunk = os.read(fd, 4096)
        if not chunk:
            break
        data += chunk
    return data.decode(errors="replace").strip()


def _hostname(sandbox: Sandbox) -> str:
    """Host mode shows the host's name, as Docker's --network host does."""
    return os.uname().nodename if sandbox.mode == MODE_HOST else sandbox.hostname


def _check_ip(field_name: str, value: str) -> None:
    if not _is_ip(value):
        raise InvalidParameter(f'invalid {field_name} "{value}": not an IP address')


def _is_ip(value: str) -> bool:
    try:
        ip_address(value)
    except ValueError:
        return False
    return True


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _signal_unpauses(c: Container, sig: int) -> bool:
    """Docker resumes a paused container after sending it SIGKILL or its stop signal
    (any signal when it has no stop signal of its own): the signal is to end it."""
    return (sig == signal.SIGKILL or not c.stop_signal
            or parse_signal(c.stop_signal) == sig)


def _start_failure(c: Container, report: str) -> DockyardError:
    """The error a failed start's report (dyinit's or dyrun's) stands for."""
    if report.startswith("error "):  # the command could not be executed
        _, code, message = report.split(" ", 2)
        return StartError(f"failed to create task for container: {message.strip()}",
                          int(code))
    if report.startswith("fail "):  # dyrun could not build the container
        return KernelError(f"dyrun: container {c.id[:12]}: {report[5:].strip()}")
    return DockyardError(f"container {c.id[:12]}: its start reported nothing ({report!r})")


def _kill_and_reap(pid: int, pidfd: int) -> None:
    """Undo of a launch: the init, unless already collected, is ours to kill and collect
    (through its pidfd, so a reused pid is never signalled or waited for)."""
    if process.send_signal(pidfd, signal.SIGKILL):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, 0)


def _epoch(stamp: str) -> float:
    """Unix seconds of a stored RFC 3339 time."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)
