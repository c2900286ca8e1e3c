"""``dockyard compose ...``: ``config`` and ``plan`` (no daemon), and the commands that run
the project through the daemon's API (``up``, ``down``, ``ps``, ``logs``, ``exec``, ``run``,
``start``, ``stop``, ``restart``, ``ls``).

Global flags follow ``docker compose``: ``-f/--file`` (repeatable, merged in order),
``-p/--project-name``, ``--project-directory``, ``--env-file`` (repeatable), ``--profile``
(repeatable). Every Dockyard error is printed as one line on stderr with exit status 1;
usage mistakes exit 2 as argparse does. The daemon is the one ``-H/--host`` (given to
``dockyard`` or to ``compose``) or ``DOCKER_HOST`` names, else the default socket (started
in the background when nothing answers there), as for every other API command. Compose
commands Dockyard does not implement say so rather than pretending.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TextIO

from dockyard.client.http import ConnectError
from dockyard.compose.backend import ComposeBackend
from dockyard.compose.loader import load_project
from dockyard.compose.model import NUMBER_LABEL, ONEOFF_LABEL, SERVICE_LABEL, Project
from dockyard.compose.plan import plan_project, plan_to_json, render_plan_text
from dockyard.compose.render import render_config
from dockyard.compose.runner import ExecOptions, Runner, RunOptions, UpOptions
from dockyard.compose.tables import ls_table, project_rows, ps_json, ps_table
from dockyard.errors import DockyardError, InvalidParameter, NotFound, exit_code

RUN_COMMANDS = ("up", "down", "ps", "logs", "exec", "run", "start", "stop", "restart", "ls",
                "build")
UNSUPPORTED_COMMANDS = (
    "create", "rm", "kill", "pause", "unpause", "top", "port", "images", "pull", "push",
    "wait", "events", "cp", "attach", "stats", "watch", "scale", "version",
)


class UsageError(Exception):
    """argparse found a mistake in the command line; the message is already formatted."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.format_usage()}{self.prog}: error: {message}")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="dockyard compose",
                     description="Define and inspect multi-container projects.")
    parser.add_argument("-f", "--file", action="append", default=[], metavar="FILE",
                        help="compose file (repeatable; later files override earlier ones)")
    parser.add_argument("-p", "--project-name", metavar="NAME", help="project name")
    parser.add_argument("--project-directory", metavar="DIR",
                        help="working directory (default: the first file's directory)")
    parser.add_argument("--env-file", action="append", metavar="FILE",
                        help="env file used instead of .env (repeatable)")
    parser.add_argument("--profile", action="append", default=[], metavar="PROFILE",
                        help="enable services of this profile (repeatable)")
    parser.add_argument("-H", "--host", metavar="HOST",
                        help="daemon socket (default: DOCKER_HOST, else the local daemon)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    config = sub.add_parser("config", help="print the normalised project as YAML")
    only = config.add_mutually_exclusive_group()
    only.add_argument("--services", action="store_true", help="print the service names")
    only.add_argument("--networks", action="store_true", help="print the network names")
    only.add_argument("--volumes", action="store_true", help="print the volume names")
    only.add_argument("-q", "--quiet", action="store_true",
                      help="only validate the project; print nothing")

    plan = sub.add_parser("plan", help="show what up would build, without creating anything")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.add_argument("--verify", action="store_true",
                      help="hold the reachability matrix against the running project: "
                           "each pair probed from inside the containers")

    _add_run_commands(sub)
    for name in UNSUPPORTED_COMMANDS:
        sub.add_parser(name, add_help=False)
    return parser


def _scale(value: str) -> tuple[str, int]:
    name, sep, count = value.partition("=")
    if not sep or not count.isdigit():
        raise argparse.ArgumentTypeError(f'invalid --scale "{value}": want SERVICE=NUMBER')
    return name, int(count)


def _add_run_commands(sub: Any) -> None:
    up = sub.add_parser("up", help="create and start the project's containers")
    up.add_argument("-d", "--detach", action="store_true", help="run in the background")
    up.add_argument("--scale", action="append", type=_scale, default=[], metavar="SVC=N",
                    help="run N replicas of a service (overrides deploy.replicas)")
    up.add_argument("--no-deps", action="store_true", help="don't start linked services")
    up.add_argument("--force-recreate", action="store_true",
                    help="recreate containers even if their config is unchanged")
    up.add_argument("--remove-orphans", action="store_true",
                    help="remove containers of services no longer in the project")
    up.add_argument("--wait", action="store_true",
                    help="wait for services to be running and healthy (implies -d)")
    up.add_argument("--wait-timeout", type=float, metavar="SECONDS")
    up.add_argument("--build", action="store_true",
                    help="build images before starting containers")
    up.add_argument("services", nargs="*", metavar="SERVICE")

    build = sub.add_parser("build", help="build or rebuild services' images")
    build.add_argument("--no-cache", action="store_true",
                       help="do not use cache when building the image")
    build.add_argument("services", nargs="*", metavar="SERVICE")

    down = sub.add_parser("down", help="stop and remove containers, networks (and volumes)")
    down.add_argument("-v", "--volumes", action="store_true",
                      help="remove named volumes declared in the project and anonymous ones")
    down.add_argument("--remove-orphans", action="store_true")

    ps = sub.add_parser("ps", help="list the project's containers")
    ps.add_argument("-a", "--all", action="store_true", help="show stopped containers too")
    ps.add_argument("-q", "--quiet", action="store_true", help="only display IDs")
    ps.add_argument("--services", action="store_true", help="display services")
    ps.add_argument("--format", choices=("table", "json"), default="table")
    ps.add_argument("services_", nargs="*", metavar="SERVICE")

    logs = sub.add_parser("logs", help="view output from containers")
    logs.add_argument("-f", "--follow", action="store_true")
    logs.add_argument("-n", "--tail", metavar="N")
    logs.add_argument("-t", "--timestamps", action="store_true")
    logs.add_argument("--no-log-prefix", action="store_true")
    logs.add_argument("services", nargs="*", metavar="SERVICE")

    exec_ = sub.add_parser("exec", help="run a command in a running service container")
    exec_.add_argument("-d", "--detach", action="store_true")
    exec_.add_argument("-T", "--no-TTY", action="store_true", dest="no_tty",
                       help="accepted; output is never a TTY here")
    exec_.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VAL")
    exec_.add_argument("-u", "--user")
    exec_.add_argument("-w", "--workdir")
    exec_.add_argument("--index", type=int, default=1)
    exec_.add_argument("--privileged", action="store_true")
    exec_.add_argument("service")
    exec_.add_argument("cmd", nargs=argparse.REMAINDER)

    run = sub.add_parser("run", help="run a one-off command on a service")
    run.add_argument("--rm", action="store_true", help="remove the container when it exits")
    run.add_argument("-d", "--detach", action="store_true")
    run.add_argument("--name")
    run.add_argument("-e", "--env", action="append", default=[], metavar="KEY=VAL")
    run.add_argument("--no-deps", action="store_true")
    run.add_argument("-T", "--no-TTY", action="store_true", dest="no_tty")
    run.add_argument("service")
    run.add_argument("cmd", nargs=argparse.REMAINDER)

    for name, text in (("start", "start existing containers"),
                       ("stop", "stop running containers"),
                       ("restart", "restart containers")):
        cmd = sub.add_parser(name, help=text)
        if name != "start":
            cmd.add_argument("-t", "--timeout", type=int, metavar="SECONDS")
        cmd.add_argument("services", nargs="*", metavar="SERVICE")

    ls = sub.add_parser("ls", help="list running compose projects")
    ls.add_argument("-a", "--all", action="store_true", help="show stopped projects too")
    ls.add_argument("-q", "--quiet", action="store_true", help="only display project names")
    ls.add_argument("--format", choices=("table", "json"), default="table")


def _load(args: argparse.Namespace, environ: Mapping[str, str] | None) -> Project:
    return load_project(
        args.file,
        working_dir=args.project_directory,
        project_name=args.project_name,
        env_files=args.env_file,
        environ=environ,
        profiles=args.profile or None,
    )


def _config(args: argparse.Namespace, project: Project, out: TextIO) -> None:
    if args.quiet:
        return
    if args.services:
        lines = list(project.service_order())
    elif args.networks:
        lines = sorted(project.networks)
    elif args.volumes:
        lines = sorted(project.volumes)
    else:
        out.write(render_config(project))
        return
    out.write("".join(f"{line}\n" for line in lines))


def _env_pairs(values: list[str], environ: Mapping[str, str]) -> dict[str, str]:
    """``-e K=V`` and ``-e K`` (taken from the environment, as docker does)."""
    pairs: dict[str, str] = {}
    for value in values:
        key, sep, item = value.partition("=")
        if sep:
            pairs[key] = item
        elif key in environ:
            pairs[key] = environ[key]
    return pairs


def _verified_plan(args: argparse.Namespace, backend: ComposeBackend, project: Project,
                   out: TextIO) -> int:
    """``plan --verify``: the plan, then each of its reachability cells probed."""
    from dockyard.compose.verify import checks_to_dicts, render_checks, verify

    plan = plan_project(project)
    running: dict[str, tuple[int, str]] = {}
    for doc in backend.containers(project.name):
        labels = doc.get("Labels") or {}
        service, number = labels.get(SERVICE_LABEL), int(labels.get(NUMBER_LABEL) or 0)
        if doc.get("State") != "running" or not service or labels.get(ONEOFF_LABEL) == "True":
            continue
        if service not in running or number < running[service][0]:
            running[service] = (number, doc["Names"][0].lstrip("/"))
    checks = verify(plan, {k: v[1] for k, v in running.items()}, backend.probe)
    if args.format == "json":
        doc = json.loads(plan_to_json(plan))
        doc["verified"] = checks_to_dicts(checks)
        out.write(json.dumps(doc, indent=2) + "\n")
    else:
        out.write(render_plan_text(plan) + render_checks(checks))
    return 0 if all(c.agrees for c in checks) else 1


def _run_command(args: argparse.Namespace, backend: ComposeBackend, project: Project | None,
                 environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    if args.command == "plan":
        assert project is not None
        return _verified_plan(args, backend, project, out)
    if args.command == "ls":
        docs = backend.containers(None)
        rows = project_rows(docs, all_projects=args.all)
        if args.quiet:
            out.write("".join(f"{name}\n" for name, _, _ in rows))
        elif args.format == "json":
            out.write(json.dumps([{"Name": n, "Status": s, "ConfigFiles": f}
                                  for n, s, f in rows]) + "\n")
        else:
            out.write(ls_table(rows))
        return 0
    assert project is not None
    runner = Runner(backend, project, out, err)
    if args.command == "up":
        return runner.up(UpOptions(
            services=tuple(args.services), detach=args.detach, scale=dict(args.scale),
            no_deps=args.no_deps, force_recreate=args.force_recreate,
            remove_orphans=args.remove_orphans, wait=args.wait,
            wait_timeout=args.wait_timeout, build=args.build))
    if args.command == "build":
        return runner.build(args.services, no_cache=args.no_cache)
    if args.command == "down":
        return runner.down(volumes=args.volumes, remove_orphans=args.remove_orphans)
    if args.command == "ps":
        return _ps(args, backend, project, out)
    if args.command == "logs":
        return runner.logs(args.services, follow=args.follow, tail=args.tail,
                           timestamps=args.timestamps, prefix=not args.no_log_prefix)
    if args.command == "exec":
        if not args.cmd:
            raise InvalidParameter("exec: no command given")
        return runner.exec(ExecOptions(
            service=args.service, command=tuple(args.cmd), index=args.index,
            detach=args.detach, environment=_env_pairs(args.env, environ), user=args.user,
            workdir=args.workdir, privileged=args.privileged))
    if args.command == "run":
        return runner.run(RunOptions(
            service=args.service, command=tuple(args.cmd) or None, remove=args.rm,
            detach=args.detach, name=args.name, environment=_env_pairs(args.env, environ),
            no_deps=args.no_deps))
    if args.command == "start":
        return runner.start(args.services)
    if args.command == "stop":
        return runner.stop(args.services, args.timeout)
    return runner.restart(args.services, args.timeout)


def _ps(args: argparse.Namespace, backend: ComposeBackend, project: Project,
        out: TextIO) -> int:
    for name in args.services_:
        if name not in project.services:
            raise NotFound(f'no such service: "{name}"')
    if args.services:
        out.write("".join(f"{n}\n" for n in project.service_order()
                          if not args.services_ or n in args.services_))
        return 0
    docs = [d for d in backend.containers(project.name)
            if (args.all or d.get("State") == "running")
            and (not args.services_
                 or (d.get("Labels") or {}).get(SERVICE_LABEL) in args.services_)]
    if args.quiet:
        out.write("".join(f"{d.get('Id', '')}\n" for d in docs))
    elif args.format == "json":
        out.write(ps_json(docs))
    else:
        out.write(ps_table(docs))
    return 0


def _api_backend(host: str | None) -> ComposeBackend:
    from dockyard.cli.context import Context
    from dockyard.compose.backend import APIBackend

    return APIBackend(Context(host=host).client())


def main(
    argv: list[str],
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
    host: str | None = None,
    backend: Callable[[str | None], ComposeBackend] | None = None,
) -> int:
    """Run ``dockyard compose <argv>``; returns the exit status. ``environ`` defaults to the
    process environment (tests pass their own); ``host`` is ``dockyard -H``; ``backend``
    makes the engine connection from the host (tests pass an in-memory engine)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    env = os.environ if environ is None else environ
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.command not in UNSUPPORTED_COMMANDS:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except UsageError as e:
        err.write(f"{e}\n")
        return 2
    if args.command is None:
        err.write(parser.format_usage())
        return 2
    if args.command in UNSUPPORTED_COMMANDS:
        err.write(f"dockyard compose {args.command}: not implemented by Dockyard; use "
                  f"`dockyard {args.command}` on the project's containers, or `dockyard "
                  "compose up/down/ps/logs/exec/run/start/stop/restart/ls`.\n")
        return 1
    try:
        project = None if args.command == "ls" else _load(args, environ)
        if project is not None:
            for warning in project.warnings:
                err.write(f"WARN: {warning}\n")
        if args.command == "config":
            assert project is not None
            _config(args, project, out)
        elif args.command == "plan" and not args.verify:
            assert project is not None
            plan = plan_project(project)
            out.write(plan_to_json(plan) if args.format == "json" else render_plan_text(plan))
        else:
            chosen_host = args.host or host or env.get("DOCKER_HOST") or None
            engine = (backend or _api_backend)(chosen_host)
            return _run_command(args, engine, project, env, out, err)
    except DockyardError as e:
        err.write(f"dockyard compose {args.command}: {e}\n")
        return exit_code(e)
    except ConnectError as e:
        err.write(f"dockyard compose {args.command}: {e}\n")
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
