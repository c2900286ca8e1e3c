"""The compose commands that act on the engine: up, down, start, stop, restart, run, exec.

Everything goes through a ``ComposeBackend`` (the Engine API); what to do to containers is
decided by ``reconcile`` and how each engine object looks by ``specs``, so this module only
sequences calls: networks and volumes first, then services in dependency order, each one
started once its ``depends_on`` conditions hold.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, TextIO

from dockyard.compose.backend import ComposeBackend
from dockyard.compose.follow import follow_logs
from dockyard.compose.model import PROJECT_LABEL, Project, Service
from dockyard.compose.plan import network_creation_order, used_networks
from dockyard.compose.probe import HealthProbes
from dockyard.compose.reconcile import (
    ContainerAction,
    Observed,
    desired_scale,
    observe,
    reconcile,
)
from dockyard.compose.specs import container_request, network_body, volume_body
from dockyard.errors import (
    Conflict,
    InvalidParameter,
    NotFound,
    NotImplementedKind,
    Unavailable,
)


@dataclass(frozen=True)
class UpOptions:
    services: tuple[str, ...] = ()
    detach: bool = False
    scale: Mapping[str, int] = field(default_factory=dict)
    no_deps: bool = False
    force_recreate: bool = False
    remove_orphans: bool = False
    wait: bool = False
    wait_timeout: float | None = None
    build: bool = False  # --build: build images of services with a build section first


@dataclass(frozen=True)
class RunOptions:
    service: str
    command: tuple[str, ...] | None = None
    remove: bool = False
    detach: bool = False
    name: str | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    no_deps: bool = False


@dataclass(frozen=True)
class ExecOptions:
    service: str
    command: tuple[str, ...]
    index: int = 1
    detach: bool = False
    environment: Mapping[str, str] = field(default_factory=dict)
    user: str | None = None
    workdir: str | None = None
    privileged: bool = False


def stop_timeout(service: Service | None) -> int | None:
    if service is None or service.stop_grace_period_ns is None:
        return None
    return service.stop_grace_period_ns // 1_000_000_000


class Runner:
    """One project against one engine. ``out`` receives container output, ``err`` the
    progress lines (`` Container p-web-1  Started``), as compose splits them."""

    def __init__(self, backend: ComposeBackend, project: Project, out: TextIO, err: TextIO,
                 *, poll_interval: float = 0.2, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.backend = backend
        self.project = project
        self.out = out
        self.err = err
        self.poll_interval = poll_interval
        self.clock = clock
        self.sleep = sleep
        self._lock = threading.Lock()
        self.probes = HealthProbes(backend, clock)
        self._probe_warned = False

    # --- helpers --------------------------------------------------------------------
    def _say(self, kind: str, name: str, status: str) -> None:
        with self._lock:
            self.err.write(f" {kind} {name}  {status}\n")
            self.err.flush()

    def observed(self) -> list[Observed]:
        return observe(self.project.name, self.backend.containers(self.project.name))

    def with_dependencies(self, services: Iterable[str], *, no_deps: bool = False
                          ) -> tuple[str, ...]:
        """The named services (all when none is named) plus, unless ``no_deps``, every
        service they depend on; in start order."""
        names = list(services) or list(self.project.services)
        for name in names:
            if name not in self.project.services:
                raise NotFound(f'no such service: "{name}"')
        chosen = set(names)
        if not no_deps:
            pending = list(names)
            while pending:
                for dep in self.project.services[pending.pop()].depends_on:
                    if dep.service in self.project.services and dep.service not in chosen:
                        chosen.add(dep.service)
                        pending.append(dep.service)
        return tuple(n for n in self.project.service_order() if n in chosen)

    def check_images(self, services: Iterable[str], *, build: bool = False,
                     no_cache: bool = False) -> None:
        """Every service's image is there: a service with a ``build`` section gets its
        image built when it is missing (or always, with ``build``), named ``image`` or,
        without one, ``<project>-<service>`` as compose names it."""
        for name in services:
            service = self.project.services[name]
            if service.build is not None:
                image = service.image or f"{self.project.name}-{name}"
                if build or not self.backend.image_exists(image):
                    self.err.write(f" Service {name}  Building\n")
                    self.err.flush()
                    self.backend.build_image(image, service.build, self.out,
                                             no_cache=no_cache)
                    self.err.write(f" Service {name}  Built\n")
                if service.image is None:
                    services = dict(self.project.services)
                    services[name] = replace(service, image=image)
                    self.project = replace(self.project, services=services)
                continue
            if service.image is not None and self.backend.image_exists(service.image):
                continue
            if service.image is None:
                raise InvalidParameter(f'service "{name}" has neither an image nor a build')
            raise NotFound(
                f'service "{name}": image "{service.image}" is not in the image store and '
                "Dockyard pulls from no registry: import it with `dockyard load` or "
                "`dockyard import`")

    def build(self, services: Iterable[str], *, no_cache: bool = False) -> int:
        """``compose build``: (re)build every chosen service that has a build section."""
        names = [n for n in (tuple(services) or tuple(self.project.services))
                 if n in self.project.services and self.project.services[n].build is not None]
        unknown = [n for n in services if n not in self.project.services]
        if unknown:
            raise NotFound(f'no such service: "{unknown[0]}"')
        self.check_images(names, build=True, no_cache=no_cache)
        return 0

    def ensure_networks(self) -> None:
        existing = {n.get("Name"): n for n in self.backend.networks()}
        used = used_networks(self.project)
        for key, network in self.project.networks.items():
            if key in used and network.external and network.name not in existing:
                raise NotFound(f'network "{network.name}" declared as external, but could '
                               "not be found")
        for key in network_creation_order(self.project):
            network = self.project.networks[key]
            found = existing.get(network.name)
            if found is None:
                self.backend.create_network(network_body(self.project, network))
                self._say("Network", network.name, "Created")
            elif (found.get("Labels") or {}).get(PROJECT_LABEL) != self.project.name:
                self.err.write(f'WARN: a network with name {network.name} exists but was not '
                               "created for this project; it is used as is. Set "
                               "`external: true` to use an existing network\n")

    def ensure_volumes(self) -> None:
        existing = {v.get("Name") for v in self.backend.volumes()}
        for volume in self.project.volumes.values():
            if volume.name in existing:
                continue
            if volume.external:
                raise NotFound(f'volume "{volume.name}" declared as external, but could not '
                               "be found")
            self.backend.create_volume(volume_body(self.project, volume))
            self._say("Volume", volume.name, "Created")

    def _links(self, service: Service) -> tuple[str, ...]:
        links = []
        for link in service.links:
            target, _, alias = link.partition(":")
            dep = self.project.services.get(target)
            container = dep.container_name_for(self.project.name, 1) if dep else target
            links.append(f"{container}:{alias or target}")
        return (*links, *service.external_links)

    def _network_mode(self, service: Service) -> str | None:
        mode = service.network_mode
        if mode and mode.startswith("service:"):
            target = self.project.services.get(mode[len("service:"):])
            if target is None:
                raise NotFound(f'service "{service.name}": network_mode {mode}: no such '
                               "service")
            return f"container:{target.container_name_for(self.project.name, 1)}"
        return mode

    def _create(self, service: Service, number: int, **kwargs: Any) -> str:
        request = container_request(self.project, service, number,
                                    network_mode=self._network_mode(service),
                                    links=self._links(service), **kwargs)
        try:
            return self.backend.create_container(request.name, request.body)
        except NotImplementedKind as err:
            if "Healthcheck" not in request.body or "healthcheck" not in str(err).lower():
                raise
        # The engine runs no healthchecks: create without one; compose probes it itself
        # when something waits on its health (see ``probe``).
        if not self._probe_warned:
            self._probe_warned = True
            self.err.write("WARN: the engine does not run healthchecks; compose runs them "
                           "through exec while it waits for a service to be healthy\n")
        body = {k: v for k, v in request.body.items() if k != "Healthcheck"}
        return self.backend.create_container(request.name, body)

    def health(self, obs: Observed, state: Mapping[str, Any]) -> str | None:
        """The engine's health status, else compose's own probe of the service's test
        (None when the service has no healthcheck to run)."""
        status = (state.get("Health") or {}).get("Status")
        if status is not None:
            return str(status)
        service = self.project.services.get(obs.service)
        if obs.id not in self.probes and service and service.healthcheck:
            self.probes.add(obs.id, service.healthcheck)
        return self.probes.status(obs.id)

    # --- waiting --------------------------------------------------------------------
    def _poll(self, describe: str, ready: Callable[[], bool],
              timeout: float | None = None) -> None:
        deadline = None if timeout is None else self.clock() + timeout
        while not ready():
            if deadline is not None and self.clock() > deadline:
                raise Unavailable(f"timed out waiting for {describe}")
            self.sleep(self.poll_interval)

    def wait_condition(self, dependent: str, dep: str, condition: str,
                       timeout: float | None = None) -> None:
        """Block until every replica of ``dep`` satisfies ``condition``; a dependency that
        can never satisfy it (exited, unhealthy, failed) is an error naming it."""
        containers = [o for o in self.observed() if o.service == dep and not o.oneoff]
        for obs in containers:
            def ready(obs: Observed = obs) -> bool:
                state = self.backend.inspect_container(obs.id).get("State") or {}
                status = state.get("Status")
                if condition == "service_completed_successfully":
                    if status in ("exited", "dead"):
                        code = int(state.get("ExitCode", 0))
                        if code != 0:
                            raise Conflict(f'service "{dep}" didn\'t complete successfully: '
                                           f"exit {code} (needed by {dependent})")
                        return True
                    return False
                if condition == "service_healthy":
                    if status in ("exited", "dead"):
                        raise Conflict(f"dependency failed to start: container {obs.name} "
                                       f"exited ({state.get('ExitCode')})")
                    health = self.health(obs, state)
                    if health is None:
                        raise InvalidParameter(
                            f'service "{dependent}" depends on "{dep}" being healthy, but '
                            f'container {obs.name} has no healthcheck')
                    if health == "unhealthy":
                        raise Conflict(f"dependency failed to start: container {obs.name} "
                                       "is unhealthy")
                    return health == "healthy"
                return True
            if condition != "service_started":
                self._say("Container", obs.name, "Waiting")
                self._poll(f"{obs.name} ({condition})", ready, timeout)
                self._say("Container", obs.name,
                          "Healthy" if condition == "service_healthy" else "Exited")

    def _wait_dependencies(self, service: Service, selected: Sequence[str]) -> None:
        for dep in service.depends_on:
            if dep.service not in self.project.services:
                if dep.required:
                    raise NotFound(f'service "{service.name}" depends on undefined service '
                                   f'"{dep.service}"')
                continue
            self.wait_condition(service.name, dep.service, dep.condition)

    # --- up -------------------------------------------------------------------------
    def up(self, options: UpOptions) -> int:
        selected = self.with_dependencies(options.services, no_deps=options.no_deps)
        desired_scale(self.project, options.scale)  # reject bad --scale before any change
        self.check_images(selected, build=options.build)
        self.ensure_networks()
        self.ensure_volumes()
        plan = reconcile(self.project, self.observed(), services=selected,
                         scale=options.scale, force_recreate=options.force_recreate)
        if plan.orphans:
            if options.remove_orphans:
                for orphan in plan.orphans:
                    self._remove(orphan.id, orphan.name, None)
            else:
                names = ", ".join(o.name for o in plan.orphans)
                self.err.write(f"WARN: Found orphan containers ([{names}]) for this project. "
                               "If you removed or renamed this service in your compose file, "
                               "you can run this command with the --remove-orphans flag to "
                               "clean it up.\n")
        for name in selected:
            service = self.project.services[name]
            actions = plan.for_service(name)
            self._wait_dependencies(service, selected)
            for action in actions:
                self._apply(service, action)
        if options.wait:
            self.wait_running(selected, options.wait_timeout)
        if options.detach or options.wait:
            return 0
        return self.attach(selected)

    def _apply(self, service: Service, action: ContainerAction) -> None:
        timeout = stop_timeout(service)
        if action.kind == "remove":
            assert action.container_id is not None
            self._remove(action.container_id, action.name, timeout)
        elif action.kind == "recreate":
            assert action.container_id is not None
            self._say("Container", action.name, "Recreate")
            self.backend.stop_container(action.container_id, timeout)
            self.backend.remove_container(action.container_id)
            self.backend.start_container(self._create(service, action.number))
            self._say("Container", action.name, "Recreated")
            self._say("Container", action.name, "Started")
        elif action.kind == "create":
            self._say("Container", action.name, "Creating")
            container_id = self._create(service, action.number)
            self._say("Container", action.name, "Created")
            self.backend.start_container(container_id)
            self._say("Container", action.name, "Started")
        elif action.kind == "start":
            assert action.container_id is not None
            self.backend.start_container(action.container_id)
            self._say("Container", action.name, "Started")
        else:
            self._say("Container", action.name, "Running")

    def _remove(self, container_id: str, name: str, timeout: int | None,
                volumes: bool = False) -> None:
        self._say("Container", name, "Stopping")
        self.backend.stop_container(container_id, timeout)
        self._say("Container", name, "Stopped")
        self._say("Container", name, "Removing")
        self.backend.remove_container(container_id, force=True, volumes=volumes)
        self._say("Container", name, "Removed")

    def wait_running(self, services: Sequence[str], timeout: float | None) -> None:
        """``--wait``: every container running, and healthy when it has a healthcheck."""
        for obs in self.observed():
            if obs.service not in services or obs.oneoff:
                continue

            def ready(obs: Observed = obs) -> bool:
                state = self.backend.inspect_container(obs.id).get("State") or {}
                if state.get("Status") in ("exited", "dead"):
                    raise Conflict(f"container {obs.name} exited ({state.get('ExitCode')})")
                health = self.health(obs, state)
                if health == "unhealthy":
                    raise Conflict(f"container {obs.name} is unhealthy")
                return bool(state.get("Running")) and health in (None, "healthy")
            self._poll(f"{obs.name} to be running and healthy", ready, timeout)
            self._say("Container", obs.name, "Healthy")

    def attach(self, services: Sequence[str]) -> int:
        """Attached ``up``: every container's output behind its name until all have
        exited; Ctrl-C stops the project's containers (a second one leaves at once)."""
        targets = [o for o in self.observed() if o.service in services and not o.oneoff]
        self.out.write("Attaching to " + ", ".join(self.short(o.name) for o in targets) + "\n")
        try:
            follow_logs(self.backend, [(self.short(o.name), o.id) for o in targets], self.out,
                        since_start=True, announce_exit=True)
        except KeyboardInterrupt:
            self.err.write("Gracefully stopping... (press Ctrl+C again to force)\n")
            self.stop(services)
            return 130
        return 0

    def short(self, name: str) -> str:
        """``p-web-1`` → ``web-1``, the prefix compose prints before a line."""
        return name.removeprefix(self.project.name + "-")

    # --- down / start / stop / restart ------------------------------------------------
    def down(self, *, volumes: bool = False, remove_orphans: bool = False) -> int:
        observed = self.observed()
        order = list(reversed(self.project.service_order()))
        rank = {name: i for i, name in enumerate(order)}
        known = [o for o in observed if o.service in rank or o.oneoff]
        orphans = [o for o in observed if o.service not in rank and not o.oneoff]
        if remove_orphans:
            known += orphans
        elif orphans:
            self.err.write("WARN: Found orphan containers (["
                           + ", ".join(o.name for o in orphans) + "]) for this project. "
                           "Run down with --remove-orphans to remove them too.\n")
        for wave in self._stop_waves(known):
            at_once(wave, lambda obs: self._remove(
                obs.id, obs.name, stop_timeout(self.project.services.get(obs.service)),
                volumes=volumes))
        existing = {n.get("Name"): n for n in self.backend.networks()}
        for key in reversed(network_creation_order(self.project)):
            network = self.project.networks[key]
            found = existing.get(network.name)
            if found is None or (found.get("Labels") or {}).get(PROJECT_LABEL) != \
                    self.project.name:
                continue
            self._say("Network", network.name, "Removing")
            self.backend.remove_network(network.name)
            self._say("Network", network.name, "Removed")
        if volumes:
            names = {v.get("Name") for v in self.backend.volumes()}
            for volume in self.project.volumes.values():
                if volume.external or volume.name not in names:
                    continue
                self.backend.remove_volume(volume.name)
                self._say("Volume", volume.name, "Removed")
        return 0

    def _targets(self, services: Sequence[str], *, reverse: bool = False) -> list[Observed]:
        for name in services:
            if name not in self.project.services:
                raise NotFound(f'no such service: "{name}"')
        order = list(self.project.service_order())
        if reverse:
            order.reverse()
        rank = {name: i for i, name in enumerate(order)}
        chosen = set(services or order)
        found = [o for o in self.observed() if o.service in chosen and not o.oneoff]
        return sorted(found, key=lambda o: (rank.get(o.service, -1), o.number))

    def start(self, services: Sequence[str] = ()) -> int:
        for obs in self._targets(services):
            self._wait_dependencies(self.project.services[obs.service], ())
            self.backend.start_container(obs.id)
            self._say("Container", obs.name, "Started")
        return 0

    def stop(self, services: Sequence[str] = (), timeout: int | None = None) -> int:
        def stop_one(obs: Observed) -> None:
            self._say("Container", obs.name, "Stopping")
            chosen = timeout if timeout is not None else stop_timeout(
                self.project.services.get(obs.service))
            self.backend.stop_container(obs.id, chosen)
            self._say("Container", obs.name, "Stopped")

        for wave in self._stop_waves(self._targets(services)):
            at_once(wave, stop_one)
        return 0

    def _stop_waves(self, targets: Sequence[Observed]) -> list[list[Observed]]:
        """``targets`` in the waves compose stops them in, each wave at once: a service's
        containers once every service that depends on it has stopped (one-offs and
        orphans first). A command without an init ignores SIGTERM, so a stop can take
        its whole grace period; one after another, ``down`` would add them up."""
        dependents: dict[str, set[str]] = {}
        for name, service in self.project.services.items():
            for dependency in service.dependencies:
                dependents.setdefault(dependency, set()).add(name)
        depth: dict[str, int] = {}

        def depth_of(name: str) -> int:
            if name not in depth:
                depth[name] = 1 + max((depth_of(d) for d in dependents.get(name, ())),
                                      default=0)
            return depth[name]

        waves: dict[int, list[Observed]] = {}
        for obs in targets:
            known = obs.service in self.project.services and not obs.oneoff
            waves.setdefault(depth_of(obs.service) if known else 0, []).append(obs)
        return [sorted(waves[key], key=lambda o: o.name) for key in sorted(waves)]

    def restart(self, services: Sequence[str] = (), timeout: int | None = None) -> int:
        def restart_one(obs: Observed) -> None:
            self._say("Container", obs.name, "Restarting")
            chosen = timeout if timeout is not None else stop_timeout(
                self.project.services.get(obs.service))
            self.backend.restart_container(obs.id, chosen)
            self._say("Container", obs.name, "Started")

        # Dependencies first, each wave at once: the stop waves in reverse.
        for wave in reversed(self._stop_waves(self._targets(services))):
            at_once(wave, restart_one)
        return 0

    # --- logs / exec / run -------------------------------------------------------------
    def logs(self, services: Sequence[str] = (), *, follow: bool = False,
             tail: str | None = None, timestamps: bool = False, prefix: bool = True) -> int:
        targets = self._targets(services)
        follow_logs(self.backend, [(self.short(o.name), o.id) for o in targets], self.out,
                    follow=follow, tail=tail, timestamps=timestamps, prefix=prefix)
        return 0

    def exec(self, options: ExecOptions) -> int:
        matches = [o for o in self._targets([options.service]) if o.number == options.index]
        running = [o for o in matches if o.running]
        if not running:
            raise Conflict(f'service "{options.service}" is not running'
                           + (f" (replica {options.index})" if options.index != 1 else ""))
        body: dict[str, Any] = {
            "AttachStdout": not options.detach, "AttachStderr": not options.detach,
            "AttachStdin": False, "Tty": False, "Cmd": list(options.command),
            "Env": [f"{k}={v}" for k, v in options.environment.items()],
            "Privileged": options.privileged,
        }
        if options.user:
            body["User"] = options.user
        if options.workdir:
            body["WorkingDir"] = options.workdir
        output, exec_id = self.backend.exec(running[0].id, body)
        for stream, data in output:
            target = self.err if stream == "stderr" else self.out
            target.write(data.decode(errors="replace"))
            target.flush()
        return 0 if options.detach else self.backend.exec_exit_code(exec_id)

    def run(self, options: RunOptions) -> int:
        """A one-off container of a service (``oneoff`` label, no service alias), its
        dependencies started first unless ``no_deps``."""
        service = self.project.services.get(options.service)
        if service is None:
            raise NotFound(f'no such service: "{options.service}"')
        self.check_images([options.service])
        deps = [s for s in self.with_dependencies([options.service], no_deps=options.no_deps)
                if s != options.service]
        if deps:
            self.up(UpOptions(services=tuple(deps), detach=True, no_deps=True))
        else:
            self.ensure_networks()
            self.ensure_volumes()
        self._wait_dependencies(service, deps)
        name = options.name or (f"{self.project.name}-{service.name}-run-"
                                f"{secrets.token_hex(6)}")
        container_id = self._create(service, 1, name=name, oneoff=True,
                                    command=options.command,
                                    extra_env=options.environment)
        self.backend.start_container(container_id)
        if options.detach:
            self.out.write(f"{name}\n")
            return 0
        try:
            for stream, data in self.backend.logs(container_id, follow=True):
                target = self.err if stream == "stderr" else self.out
                target.write(data.decode(errors="replace"))
                target.flush()
            code = self.backend.wait_container(container_id)
        except KeyboardInterrupt:
            self.backend.stop_container(container_id, stop_timeout(service))
            code = 130
        if options.remove:
            self.backend.remove_container(container_id, force=True, volumes=True)
        return code


def at_once(items: Sequence[Observed], action: Callable[[Observed], None]) -> None:
    """``action`` on every item in parallel threads; the first error, once all ended."""
    if len(items) <= 1:
        for item in items:
            action(item)
        return
    errors: list[BaseException] = []

    def run(item: Observed) -> None:
        try:
            action(item)
        except BaseException as exc:  # re-raised below, on the caller's thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(item,), daemon=True) for item in items]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]
