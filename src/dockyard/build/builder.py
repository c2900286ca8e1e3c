"""``docker build`` as dockerd's classic builder does it: a Dockerfile's steps, one image
each, from an unpacked context.

Each step makes an image on top of the last one, as the classic builder does:

- ``RUN`` runs the command in a container of the current image (its network the
  build's, ``default``: the default bridge), streams its output, and commits the
  container's upper directory as a layer (:mod:`dockyard.runtime.layer_tar`);
- ``COPY``/``ADD`` (and a ``WORKDIR`` that does not exist yet) write into a writable
  overlay of the current image, the same way ``docker cp`` writes into a stopped
  container, and commit what changed;
- the other instructions change only the config (an ``empty_layer`` history entry).

A step whose parent and content are those of an image made before reuses it (the build
cache, ``--no-cache`` to skip it): the image records the key of the step that made it.
Stages (``FROM … AS name``) can be built from and copied from; ``--target`` stops at one.
Messages go to ``emit`` as the ``{"stream": …}`` documents the API streams.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import posixpath
import shutil
import stat
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any

from dockyard.archivepath import clean
from dockyard.build.context import Context
from dockyard.build.dockerfile import Dockerfile, Instruction, Stage, parse_dockerfile
from dockyard.build.instructions import (
    BuildError,
    copy_words,
    healthcheck,
    owner_id,
    step_key,
)
from dockyard.errors import DockyardError, InvalidParameter, NotFound
from dockyard.images.changes import (
    apply_changes,
    process_word,
    split_words,
)
from dockyard.images.config import RunConfig
from dockyard.images.layers import decompressed
from dockyard.kernel.fstar import ExtractOptions, extract_archive, write_archive
from dockyard.kernel.rootfs import Root, mount_view
from dockyard.runtime.container import ContainerSpec
from dockyard.runtime.health import HealthConfig
from dockyard.runtime.layer_tar import write_upper_layer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.manager import ContainerManager

Emit = Callable[[str], None]
DEFAULT_SHELL = ("/bin/sh", "-c")
# Build args any Dockerfile may be given without declaring them (Docker's predefined).
PREDEFINED_ARGS = ("HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
                   "ftp_proxy", "NO_PROXY", "no_proxy", "ALL_PROXY", "all_proxy")
_CONFIG_KEYWORDS = ("cmd", "entrypoint", "env", "expose", "label", "stopsignal", "user",
                    "volume")
_ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tar.xz", ".txz")


@dataclass(frozen=True)
class BuildOptions:
    dockerfile: str = "Dockerfile"
    tags: tuple[str, ...] = ()
    build_args: Mapping[str, str | None] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)
    no_cache: bool = False
    remove: bool = True  # intermediate containers of steps that succeeded
    force_remove: bool = False  # ... and of the step that failed
    network_mode: str = "default"
    target: str = ""
    extra_hosts: tuple[str, ...] = ()
    quiet: bool = False


@dataclass
class _StageState:
    image: str | None  # None: scratch with nothing committed yet
    config: RunConfig
    args: dict[str, str] = field(default_factory=dict)  # ARGs declared so far, with values
    meta: dict[str, str] = field(default_factory=dict)  # ARGs before the first FROM
    shell: tuple[str, ...] = DEFAULT_SHELL
    author: str = ""


class Builder:
    def __init__(self, manager: ContainerManager, context: Context, options: BuildOptions,
                 emit: Emit) -> None:
        self.manager = manager
        self.images = manager.images
        self.context = context
        self.options = options
        self.emit = (lambda text: None) if options.quiet else emit
        self.stages: dict[str, str | None] = {}  # name or index → its image
        self.used_args: set[str] = set()

    # ------------------------------------------------------------------ the whole

    def load(self) -> Dockerfile:
        """Read and parse the Dockerfile: a bad one fails the request before any step."""
        return parse_dockerfile(self.context.read_dockerfile(self.options.dockerfile))

    def build(self, dockerfile: Dockerfile) -> str:
        """Run every step; the final image's id."""
        stages = list(dockerfile.stages)
        if self.options.target:
            names = [s.name for s in stages]
            if self.options.target.lower() not in names:
                raise InvalidParameter(f"failed to reach build target {self.options.target} "
                                       "in Dockerfile")
            stages = stages[:names.index(self.options.target.lower()) + 1]
        total = sum(1 + len(s.instructions) for s in stages)
        meta = self._meta_args(dockerfile.meta_args)
        step = 0
        state: _StageState | None = None
        for index, stage in enumerate(stages):
            step += 1
            self._step(step, total, stage.from_instruction)
            state = self._from(stage, meta)
            for instruction in stage.instructions:
                step += 1
                self._step(step, total, instruction)
                self._dispatch(state, instruction)
                self.emit(f" ---> {_short(state.image)}\n")
            self.stages[str(index)] = state.image
            if stage.name:
                self.stages[stage.name] = state.image
        assert state is not None  # the parser refuses a Dockerfile without a stage
        if self.options.labels:
            config = state.config
            for key, value in sorted(self.options.labels.items()):
                config = config.with_label(key, value)
            self._config_step(state, config, "LABEL " + " ".join(
                f"{k}={v}" for k, v in sorted(self.options.labels.items())))
        unused = sorted(k for k, v in self.options.build_args.items()
                        if k not in self.used_args and k not in PREDEFINED_ARGS)
        if unused:
            self.emit(f"[Warning] One or more build-args [{' '.join(unused)}] were not "
                      "consumed\n")
        if state.image is None:
            raise BuildError("No image was generated. Is your Dockerfile empty?")
        return state.image

    def _step(self, step: int, total: int, instruction: Instruction) -> None:
        self.emit(f"Step {step}/{total} : {instruction.original}\n")

    def _meta_args(self, args: Sequence[Instruction]) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in args:
            for name, value in self._arg_values(instruction, values):
                values[name] = value
        return values

    # ------------------------------------------------------------------ FROM, ARG

    def _from(self, stage: Stage, meta: dict[str, str]) -> _StageState:
        base = process_word(stage.base, meta)
        if base.lower() == "scratch":
            return _StageState(None, RunConfig(), meta=meta)
        if base.lower() in self.stages:
            image = self.stages[base.lower()]
        else:
            try:
                image = self.images.resolve(base)
            except NotFound:
                raise BuildError(
                    f"pull access denied for {base}: no registry access here: import or "
                    "load the image first (docker import / docker load)") from None
        if image is None:
            return _StageState(None, RunConfig(), meta=meta)
        record = self.images.get(image)
        self.emit(f" ---> {_short(image)}\n")
        config = RunConfig.from_go(record.config.get("config"))
        shell = config.extra.get("Shell")  # a SHELL the base image set holds here too
        state = _StageState(image, config, shell=tuple(shell) if shell else DEFAULT_SHELL,
                            meta=meta)
        triggers = list(config.extra.get("OnBuild") or [])
        if triggers:  # run once, in the image built FROM this one, and not inherited
            state.config = replace(config, extra={k: v for k, v in config.extra.items()
                                                  if k != "OnBuild"})
            self.emit(f"# Executing {len(triggers)} build trigger"
                      f"{'s' if len(triggers) > 1 else ''}\n")
            for trigger in triggers:
                trigger_file = parse_dockerfile("FROM scratch\n" + trigger)
                for instruction in trigger_file.stages[0].instructions:
                    self._dispatch(state, instruction)
        return state

    def _arg_values(self, instruction: Instruction, known: Mapping[str, str],
                    meta: Mapping[str, str] | None = None) -> Iterator[tuple[str, str]]:
        """(name, value) of each ARG the instruction declares that has a value: the
        build arg given, else its default, else (a bare ``ARG NAME`` in a stage) the value
        it had before the first FROM. One without any stays unset."""
        words = split_words(instruction.args)
        if not words:
            raise InvalidParameter(f"dockerfile parse error on line {instruction.line}: "
                                   "ARG requires at least one argument")
        for word in words:
            name, has_default, default = word.partition("=")
            self.used_args.add(name)
            given = self.options.build_args.get(name)
            if given is not None:
                yield name, given
            elif has_default:
                yield name, process_word(default, dict(known))
            elif meta is not None and name in meta:
                yield name, meta[name]

    # ------------------------------------------------------------------ dispatch

    def _dispatch(self, state: _StageState, instruction: Instruction) -> None:
        keyword = instruction.keyword
        env = self._env(state)
        if keyword == "arg":
            for name, value in self._arg_values(instruction, env, state.meta):
                state.args[name] = value
            self._config_step(state, state.config, "ARG " + instruction.args)
        elif keyword == "run":
            self._run(state, instruction)
        elif keyword in ("copy", "add"):
            self._copy(state, instruction)
        elif keyword == "workdir":
            self._workdir(state, instruction)
        elif keyword in _CONFIG_KEYWORDS:
            config = apply_changes(state.config, [f"{keyword} {instruction.args}"],
                                   dict(state.args))
            self._config_step(state, config, f"{keyword.upper()} {instruction.args}")
        elif keyword == "maintainer":
            state.author = process_word(instruction.args, env)
            self._config_step(state, state.config, f"MAINTAINER {state.author}")
        elif keyword == "shell":
            if instruction.exec_form is None or not instruction.exec_form:
                raise InvalidParameter("SHELL requires the arguments to be in JSON form")
            state.shell = instruction.exec_form
            config = replace(state.config, extra={**state.config.extra,
                                                  "Shell": list(instruction.exec_form)})
            self._config_step(state, config, f"SHELL {list(instruction.exec_form)}")
        elif keyword == "healthcheck":
            check = healthcheck(instruction)
            config = replace(state.config, extra={**state.config.extra,
                                                  "Healthcheck": check.to_docker()})
            self._config_step(state, config, f"HEALTHCHECK {instruction.args}")
        elif keyword == "onbuild":
            trigger = instruction.args.strip()
            first = trigger.split(None, 1)[0].lower() if trigger else ""
            if first in ("onbuild", "from", "maintainer", ""):
                raise InvalidParameter(f"{first.upper() or 'ONBUILD'} isn't allowed as an "
                                       "ONBUILD trigger")
            triggers = [*(state.config.extra.get("OnBuild") or []), trigger]
            config = replace(state.config, extra={**state.config.extra, "OnBuild": triggers})
            self._config_step(state, config, f"ONBUILD {trigger}")
        else:  # the parser admits no other keyword
            raise InvalidParameter(f"unknown instruction: {keyword.upper()}")

    def _env(self, state: _StageState) -> dict[str, str]:
        env = dict(state.args)
        for item in state.config.env:
            key, _, value = item.partition("=")
            env[key] = value
        return env

    # ------------------------------------------------------------------ steps

    def _cached(self, state: _StageState, key: str) -> str | None:
        if self.options.no_cache or state.image is None:
            return None
        return self.images.child_with_key(state.image, key)

    def _config_step(self, state: _StageState, config: RunConfig, what: str) -> None:
        created_by = f"/bin/sh -c #(nop) {what}"
        key = step_key(created_by, config.to_go())
        hit = self._cached(state, key)
        if hit is not None:
            self.emit(" ---> Using cache\n")
            state.image, state.config = hit, config
            return
        state.image = self.images.commit(state.image, None, config.to_go(),
                                         created_by=created_by, author=state.author,
                                         build_key=key)
        state.config = config

    def _run(self, state: _StageState, instruction: Instruction) -> None:
        if instruction.flags:
            raise InvalidParameter(f"RUN --{instruction.flags[0][0]} needs BuildKit, which "
                                   "this builder is not")
        if state.image is None:
            raise BuildError("RUN on an empty image: there is nothing to run (FROM scratch)")
        if instruction.exec_form is not None:
            argv = instruction.exec_form
        else:
            argv = (*state.shell, instruction.args)
        args_env = [f"{k}={v}" for k, v in sorted(state.args.items())]
        command = " ".join(argv)
        created_by = f"|{len(args_env)} {' '.join(args_env)} {command}" if args_env else command
        key = step_key(created_by, state.config.to_go())
        hit = self._cached(state, key)
        if hit is not None:
            self.emit(" ---> Using cache\n")
            state.image = hit
            return
        spec = ContainerSpec(
            image=state.image, cmd=argv, entrypoint=(), env=tuple(args_env),
            workdir=state.config.working_dir, user=state.config.user,
            network_mode=("bridge" if self.options.network_mode == "default"
                          else self.options.network_mode),
            extra_hosts=self.options.extra_hosts,
            healthcheck=HealthConfig(test=("NONE",)))
        m = self.manager
        c = m.create(spec)
        self.emit(f" ---> Running in {c.id[:12]}\n")
        failed = True
        try:
            m.start(c.id)
            for record in m.logs(c.id, follow=True):
                self.emit(record.data)
            code = m.wait(c.id)
            if code != 0:
                raise BuildError(f"The command '{command}' returned a non-zero code: {code}")
            with tempfile.TemporaryFile(dir=self.images.tmp_root) as spool:
                write_upper_layer(os.path.join(m.container_dir(c.id), "upper"), spool)
                spool.seek(0)
                state.image = self.images.commit(
                    state.image, spool, state.config.to_go(), created_by=created_by,
                    author=state.author, build_key=key)
            failed = False
        finally:
            if self.options.force_remove or (self.options.remove and not failed):
                with contextlib.suppress(DockyardError):
                    m.remove(c.id, force=True, volumes=True)
                self.emit(f" ---> Removed intermediate container {c.id[:12]}\n")

    def _workdir(self, state: _StageState, instruction: Instruction) -> None:
        config = apply_changes(state.config, [f"workdir {instruction.args}"],
                               dict(state.args))
        path = config.working_dir
        if state.image is not None:
            with self._writable(state) as (root, upper):
                try:
                    os.close(root.open(path, os.O_PATH | os.O_DIRECTORY))
                except FileNotFoundError:
                    root.makedirs(path)
                if os.listdir(upper):
                    self._commit_upper(state, upper, config, f"WORKDIR {path}", "")
                    return
        self._config_step(state, config, f"WORKDIR {path}")

    def _copy(self, state: _StageState, instruction: Instruction) -> None:
        keyword = instruction.keyword.upper()
        flags = dict(instruction.flags)
        unknown = set(flags) - {"from", "chown", "chmod", "link"}
        if unknown or (keyword == "ADD" and "from" in flags):
            raise InvalidParameter(f"{keyword}: unknown flag: {sorted(unknown or {'from'})[0]}")
        env = self._env(state)
        words = [process_word(w, env) for w in copy_words(instruction.args)]
        if len(words) < 2:
            raise InvalidParameter(f"{keyword} requires at least two arguments")
        *sources, dest = words
        as_dir = dest.endswith("/") or dest in (".", "..")
        dest = posixpath.normpath(posixpath.join(state.config.working_dir or "/", dest))
        dest = dest.replace("//", "/") + ("/" if as_dir and dest != "/" else "")
        with self._source_root(flags.get("from")) as (source, label):
            matched: list[str] = []
            for pattern in sources:
                if keyword == "ADD" and "://" in pattern:
                    raise BuildError(f"ADD {pattern}: no network access here: download it "
                                     "into the build context and ADD that")
                found = self._match(source, label, pattern)
                if not found:
                    raise BuildError(
                        f"{keyword} failed: file not found in build context or excluded by "
                        f".dockerignore: stat {pattern}: file does not exist")
                matched += found
            if len(matched) > 1 and not dest.endswith("/"):
                raise BuildError(f"When using {keyword} with more than one source file, the "
                                 "destination must be a directory and end with a /")
            with self._writable(state) as (root, upper):
                owner = self._owner(root, flags.get("chown"), env)
                digest = hashlib.sha256()
                for path in matched:
                    self._copy_one(source, path, root, dest, owner, digest,
                                   extract=keyword == "ADD" and path.endswith(_ARCHIVE_SUFFIXES))
                if "chmod" in flags:
                    _chmod_tree(root, dest, matched, flags["chmod"])
                kind = ("multi" if len(matched) > 1 else
                        "dir" if _is_dir(source, matched[0]) else "file")
                what = (f"{keyword} {kind}:"
                        f"{digest.hexdigest()} in {dest} ")
                self._commit_upper(state, upper, state.config, what, str(flags))

    # ------------------------------------------------------------------ copy parts

    @contextlib.contextmanager
    def _source_root(self, source: str | None) -> Iterator[tuple[Root, str]]:
        """The root COPY reads from: the context, or a stage's / an image's files."""
        if source is None:
            with self.context.root() as root:
                yield root, ""
            return
        image = self.stages.get(source.lower())
        if image is None and source.lower() not in self.stages:
            try:
                image = self.images.resolve(source)
            except NotFound:
                raise BuildError(f"COPY --from={source}: no stage or image of that name "
                                 "(no registry access here)") from None
        if image is None:
            raise BuildError(f"COPY --from={source}: that stage has no files (scratch)")
        with self._view(image) as root:
            yield root, source

    def _match(self, source: Root, label: str, pattern: str) -> list[str]:
        if not label:
            return ["/" + p for p in self.context.sources(pattern)]
        path = clean("/" + pattern)
        try:
            source.lstat(path)
        except OSError:
            return []
        return [path]

    def _copy_one(self, source: Root, path: str, root: Root, dest: str,
                  owner: tuple[int, int], digest: Any, *, extract: bool) -> None:
        """One source into ``dest``: a directory's contents, a file (or a local tar
        ADD unpacks) into ``dest``, which is a directory when it ends with "/", already
        is one, or the source is a directory or an archive."""
        path = source.resolve(path)  # a source that is a link: what it points to
        try:
            is_dir = stat.S_ISDIR(source.stat(path).st_mode)
        except OSError as err:
            raise BuildError(f"failed to copy {path} (links are followed inside the build "
                             f"context, never out of it): {err.strerror}") from None
        into_dir = dest.endswith("/") or is_dir or extract or _is_dir(root, dest)
        target_dir = dest if into_dir else posixpath.dirname(dest.rstrip("/")) or "/"
        root.makedirs(target_dir)
        with tempfile.TemporaryFile(dir=self.images.tmp_root) as spool:
            if extract:
                with os.fdopen(source.open(path, os.O_RDONLY), "rb") as archive:
                    shutil.copyfileobj(decompressed(archive), spool)
            elif is_dir:
                write_archive(source, path.rstrip("/") + "/.", "", spool)
            else:
                name = posixpath.basename(path if into_dir else dest.rstrip("/"))
                write_archive(source, path, name, spool)
            spool.seek(0)
            _hash_stream(spool, digest)
            spool.seek(0)
            extract_archive(root, target_dir, spool,
                            ExtractOptions(owner=None if extract else owner))

    def _owner(self, root: Root, chown: str | None, env: dict[str, str]) -> tuple[int, int]:
        """``--chown=user[:group]``, names looked up in the image's own files; without a
        group the user's number is the group's too, as Docker has it."""
        if not chown:
            return 0, 0
        user, _, group = process_word(chown, env).partition(":")
        uid = owner_id(user, root.read_file("/etc/passwd"), "user")
        gid = owner_id(group, root.read_file("/etc/group"), "group") if group else uid
        return uid, gid

    # ------------------------------------------------------------------ layers

    @contextlib.contextmanager
    def _view(self, image: str) -> Iterator[Root]:
        """A read-only view of an image's files."""
        scratch = tempfile.mkdtemp(dir=self.images.tmp_root)
        try:
            lowers = self.images.layer_dirs(image) or []
            while len(lowers) < 2:
                empty = os.path.join(scratch, f"empty{len(lowers)}")
                os.mkdir(empty)
                lowers.append(empty)
            with mount_view(lowers, what=f"image {_short(image)}") as root:
                yield root
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    @contextlib.contextmanager
    def _writable(self, state: _StageState) -> Iterator[tuple[Root, str]]:
        """A writable overlay of the current image; (its root, its upper directory)."""
        scratch = tempfile.mkdtemp(dir=self.images.tmp_root)
        try:
            upper, work = os.path.join(scratch, "upper"), os.path.join(scratch, "work")
            os.mkdir(upper)
            os.mkdir(work)
            lowers = self.images.layer_dirs(state.image) if state.image else []
            if not lowers:
                lowers = [os.path.join(scratch, "empty")]
                os.mkdir(lowers[0])
            with mount_view(lowers, upper, work, what="build step") as root:
                yield root, upper
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _commit_upper(self, state: _StageState, upper: str, config: RunConfig, what: str,
                      extra_key: str) -> None:
        created_by = f"/bin/sh -c #(nop) {what}"
        key = step_key(created_by, config.to_go(), extra_key)
        hit = self._cached(state, key)
        if hit is not None:
            self.emit(" ---> Using cache\n")
            state.image, state.config = hit, config
            return
        with tempfile.TemporaryFile(dir=self.images.tmp_root) as spool:
            write_upper_layer(upper, spool)
            spool.seek(0)
            state.image = self.images.commit(state.image, spool, config.to_go(),
                                             created_by=created_by, author=state.author,
                                             build_key=key)
        state.config = config


def _short(image: str | None) -> str:
    return (image or "scratch").removeprefix("sha256:")[:12]


def _is_dir(root: Root, path: str) -> bool:
    try:
        os.close(root.open(path, os.O_PATH | os.O_DIRECTORY))
        return True
    except OSError:
        return False


def _chmod_tree(root: Root, dest: str, matched: Sequence[str], mode_text: str) -> None:
    try:
        mode = int(mode_text, 8)
    except ValueError:
        raise InvalidParameter(f'invalid --chmod "{mode_text}": not an octal mode') from None
    targets = [dest] if not dest.endswith("/") else [
        posixpath.join(dest, posixpath.basename(p.rstrip("/"))) for p in matched]
    for target in targets:
        with contextlib.suppress(OSError):
            fd = root.open(target, os.O_PATH)
            try:
                os.chmod(f"/proc/self/fd/{fd}", mode)
            finally:
                os.close(fd)


def _hash_stream(stream: IO[bytes], digest: Any) -> None:
    while chunk := stream.read(1 << 20):
        digest.update(chunk)
