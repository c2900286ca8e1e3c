"""``dockyard compose ...``: the commands that need no daemon (``config``, ``plan``).

Global flags follow ``docker compose``: ``-f/--file`` (repeatable, merged in order),
``-p/--project-name``, ``--project-directory``, ``--env-file`` (repeatable), ``--profile``
(repeatable). Every Dockyard error is printed as one line on stderr with exit status 1;
usage mistakes exit 2 as argparse does. Commands that create or inspect containers say they
need the daemon rather than pretending.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping
from typing import NoReturn, TextIO

from dockyard.compose.loader import load_project
from dockyard.compose.model import Project
from dockyard.compose.plan import plan_project, plan_to_json, render_plan_text
from dockyard.compose.render import render_config
from dockyard.errors import DockyardError, exit_code

DAEMON_COMMANDS = (
    "up", "down", "ps", "logs", "exec", "run", "start", "stop", "restart", "ls", "create",
    "rm", "kill", "pause", "unpause", "top", "port", "images", "pull", "push", "build", "wait",
    "events", "cp", "attach", "stats", "watch", "scale", "version",
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

    for name in DAEMON_COMMANDS:
        sub.add_parser(name, add_help=False)
    return parser


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


def main(
    argv: list[str],
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
    stderr: TextIO | None = None,
) -> int:
    """Run ``dockyard compose <argv>``; returns the exit status. ``environ`` defaults to the
    process environment (tests pass their own)."""
    out = stdout or sys.stdout
    err = stderr or sys.stderr
    parser = build_parser()
    try:
        # Daemon commands keep their own flags (``up -d``) unparsed; the rest must parse fully.
        args, extra = parser.parse_known_args(argv)
        if extra and args.command not in DAEMON_COMMANDS:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except UsageError as e:
        err.write(f"{e}\n")
        return 2
    if args.command is None:
        err.write(parser.format_usage())
        return 2
    if args.command in DAEMON_COMMANDS:
        err.write(f"dockyard compose {args.command}: needs the Dockyard daemon, which is not "
                  "available yet (issue #4). `dockyard compose plan` shows what `up` would "
                  "build without it.\n")
        return 1
    try:
        project = _load(args, environ)
        for warning in project.warnings:
            err.write(f"WARN: {warning}\n")
        if args.command == "config":
            _config(args, project, out)
        else:
            plan = plan_project(project)
            out.write(plan_to_json(plan) if args.format == "json" else render_plan_text(plan))
    except DockyardError as e:
        err.write(f"dockyard compose {args.command}: {e}\n")
        return exit_code(e)
    return 0
