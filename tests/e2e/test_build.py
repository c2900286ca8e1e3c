"""``docker build`` (the classic builder) and ``docker commit``, driven by the real docker
CLI and docker-py: the images they make run, carry their config, reuse the build cache,
and go away with their untagged parents."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.daemon import Daemon, lines, ok

pytestmark = pytest.mark.root
needs_docker = pytest.mark.skipif(shutil.which("docker") is None,
                                  reason="the docker CLI is not installed")

DOCKERFILE = """\
# syntax=docker/dockerfile:1
FROM busybox AS base
ARG GREETING=hi
ENV APP=/app
WORKDIR $APP
COPY greeting.txt .
COPY conf/ ./conf/
RUN echo "$GREETING from run" > run.txt && \\
    echo building with $GREETING
LABEL org.example.role=demo
EXPOSE 8080/tcp
CMD ["sh", "-c", "cat greeting.txt run.txt conf/app.conf; ls -a /app /app/conf"]

FROM busybox
COPY --from=base /app/run.txt /copied.txt
CMD ["cat", "/copied.txt"]
"""


def make_context(tmp_path: Path, dockerfile: str = DOCKERFILE) -> str:
    context = tmp_path / "context"
    (context / "conf").mkdir(parents=True)
    (context / "greeting.txt").write_text("hello from the context\n")
    (context / "conf" / "app.conf").write_text("port=8080\n")
    (context / "conf" / "notes.md").write_text("left out by .dockerignore\n")
    (context / ".dockerignore").write_text("**/*.md\n")
    (context / "Dockerfile").write_text(dockerfile)
    return str(context)


def docker_build(d: Daemon, *args: str) -> str:
    result = d.docker("build", *args)
    assert result.returncode == 0, result.stderr + result.stdout
    return result.stdout


@needs_docker
def test_docker_build_runs_steps_and_the_image_works(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    context = make_context(tmp_path)
    out = docker_build(d, "-t", "app:1", "--build-arg", "GREETING=hey", "--target", "base",
                       context)
    assert "Step 1/10 : FROM busybox AS base" in out
    assert "Step 7/10 : RUN echo \"$GREETING from run\" > run.txt &&     echo building" in out
    assert "building with hey" in out  # the RUN's own output, streamed
    assert "Successfully tagged app:1" in out
    shown = ok(d.docker("run", "--rm", "app:1"))
    assert lines(shown)[:3] == ["hello from the context", "hey from run", "port=8080"]
    assert "notes.md" not in shown  # .dockerignore held it back
    config = json.loads(ok(d.docker("image", "inspect", "app:1")))[0]["Config"]
    assert config["WorkingDir"] == "/app"
    assert "APP=/app" in config["Env"]
    assert "GREETING=hey" not in config["Env"]  # build args are not kept in the image
    assert config["Labels"] == {"org.example.role": "demo"}
    assert config["ExposedPorts"] == {"8080/tcp": {}}
    assert config["Cmd"][:2] == ["sh", "-c"]

    again = docker_build(d, "-t", "app:1", "--build-arg", "GREETING=hey", "--target", "base",
                         context)
    assert again.count("Using cache") == 9  # every step after FROM
    assert "Running in" not in again
    assert built_id(again) == built_id(out)

    # the whole file: the last stage copies from the first
    final = docker_build(d, "-q", "-t", "final", "--build-arg", "GREETING=hey",
                         context).strip()
    assert final.startswith("sha256:")
    assert ok(d.docker("run", "--rm", "final")) == "hey from run\n"

    listed = ok(d.docker("images", "--format", "{{.Repository}}:{{.Tag}}"))
    assert "<none>:<none>" not in listed  # intermediate images are hidden ...
    assert "<none>:<none>" in ok(d.docker("images", "-a", "--format",
                                          "{{.Repository}}:{{.Tag}}"))  # ... but there
    history = ok(d.docker("history", "--format", "{{.ID}} {{.CreatedBy}}", "app:1"))
    assert "|1 GREETING=hey /bin/sh -c echo" in history
    assert "<missing>" not in history  # every step's image is here

    removed = ok(d.docker("rmi", "app:1", "final"))
    # both images, their untagged steps (9 + 2 images) and the layers only they had
    assert removed.count("Deleted: sha256:") >= 11
    assert ok(d.docker("images", "-a", "-q")).split() == ok(d.docker("images", "-q",
                                                                     "busybox")).split()
    assert ok(d.docker("ps", "-aq")) == ""  # no intermediate container stayed


def built_id(output: str) -> str:
    return next(line.split()[-1] for line in output.splitlines()
                if line.startswith("Successfully built"))


@needs_docker
def test_docker_build_errors(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    failing = make_context(tmp_path, "FROM busybox\nRUN echo partial; exit 3\n")
    result = d.docker("build", failing)
    assert result.returncode == 1
    assert "partial" in result.stdout
    assert "The command '/bin/sh -c echo partial; exit 3' returned a non-zero code: 3" in \
        result.stderr
    parse = d.docker("build", make_context(tmp_path / "p", "FROM busybox\nFETCH x\n"))
    assert parse.returncode == 1
    assert "dockerfile parse error on line 2: unknown instruction: FETCH" in parse.stderr
    no_base = d.docker("build", make_context(tmp_path / "b", "FROM example/nothing\n"))
    assert no_base.returncode == 1
    assert "pull access denied for example/nothing" in no_base.stderr
    missing = d.docker("build", make_context(tmp_path / "m", "FROM busybox\nCOPY nope /\n"))
    assert missing.returncode == 1
    assert "file not found in build context" in missing.stderr
    remote = d.docker("build", make_context(tmp_path / "r",
                                            "FROM busybox\nADD http://example.com/x /\n"))
    assert remote.returncode == 1
    assert "no network access here" in remote.stderr
    # a Dockerfile alone on stdin: the daemon gets no tar, only the file
    piped = d.docker("build", "-q", "-", stdin='FROM busybox\nCMD ["echo", "piped"]\n')
    assert piped.returncode == 0, piped.stderr
    assert ok(d.docker("run", "--rm", piped.stdout.strip())) == "piped\n"
    ok(d.docker("rmi", piped.stdout.strip()))
    # the failed RUN's container stays, as with dockerd's default --rm (only success removes)
    assert len(ok(d.docker("ps", "-aq", "--filter", "status=exited")).split()) == 1
    assert ok(d.docker("images", "-q")).split() == ok(d.docker("images", "-q",
                                                               "busybox")).split()


@needs_docker
def test_docker_commit_keeps_changes_and_deletions(busybox: Daemon) -> None:
    d = busybox
    ok(d.docker("run", "-d", "--name", "box", "busybox", "sh", "-c",
                "echo kept > /kept.txt && mkdir -p /data/sub && echo x > /data/sub/f && "
                "rm /bin/vi && ln -s /kept.txt /link && sleep 60"))
    d.docker("exec", "box", "test", "-f", "/kept.txt")  # wait for the writes
    assert ok(d.docker("exec", "box", "cat", "/kept.txt")) == "kept\n"
    image = ok(d.docker("commit", "-c", 'CMD ["cat", "/kept.txt"]', "-m", "a message",
                        "-a", "someone", "box", "snap:v1")).strip()
    assert image.startswith("sha256:")
    assert ok(d.docker("run", "--rm", "snap:v1")) == "kept\n"
    checks = ok(d.docker("run", "--rm", "snap:v1", "sh", "-c",
                         "cat /data/sub/f; readlink /link; test -e /bin/vi || echo vi-gone"))
    assert lines(checks) == ["x", "/kept.txt", "vi-gone"]
    inspected = json.loads(ok(d.docker("image", "inspect", "snap:v1")))[0]
    assert inspected["Author"] == "someone"
    assert inspected["Comment"] == "a message"
    assert inspected["Parent"] == json.loads(ok(d.docker("image", "inspect", "busybox")))[0]["Id"]
    assert len(inspected["RootFS"]["Layers"]) == 2
    # the container was frozen for the copy and runs on
    assert ok(d.docker("inspect", "-f", "{{.State.Status}}", "box")).strip() == "running"
    unknown = d.docker("commit", "nothere")
    assert unknown.returncode == 1
    assert "No such container: nothere" in unknown.stderr


def test_dockerpy_build_and_commit(busybox: Daemon, dockerpy: object, tmp_path: Path) -> None:
    client = dockerpy
    context = make_context(tmp_path, "FROM busybox\nCOPY greeting.txt /g.txt\n"
                                     "RUN wc -c < /g.txt > /size\nCMD cat /size\n")
    image, logs = client.images.build(path=context, tag="py:1")  # type: ignore[attr-defined]
    assert "py:1" in image.tags
    assert any("Successfully built" in entry.get("stream", "") for entry in logs)
    assert client.containers.run("py:1", remove=True) == b"23\n"  # type: ignore[attr-defined]
    box = client.containers.run("py:1", "sh -c 'echo more > /more; sleep 60'",  # type: ignore[attr-defined]
                                detach=True)
    ok_status = box.exec_run("cat /more")
    assert ok_status.exit_code == 0
    committed = box.commit(repository="py", tag="2", conf={"Cmd": ["cat", "/more"]})
    box.remove(force=True)
    assert client.containers.run(committed.id, remove=True) == b"more\n"  # type: ignore[attr-defined]
    assert os.path.basename(context) == "context"


COMPOSE = """\
services:
  web:
    build:
      context: ./web
      args: {PAGE: built by compose}
    ports: ["8089:80"]
  client:
    image: busybox
    command: sleep 60
"""
WEB_DOCKERFILE = """\
FROM busybox
ARG PAGE=default
RUN mkdir /www && echo "$PAGE" > /www/index.html
COPY motd.txt /www/motd.txt
CMD ["httpd", "-f", "-p", "80", "-h", "/www"]
"""


def test_compose_builds_a_service_and_serves_it(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    (tmp_path / "web").mkdir()
    (tmp_path / "web" / "Dockerfile").write_text(WEB_DOCKERFILE)
    (tmp_path / "web" / "motd.txt").write_text("from the context\n")
    (tmp_path / "compose.yaml").write_text(COMPOSE)
    compose = ("compose", "-f", str(tmp_path / "compose.yaml"), "-p", "shop")
    up = d.cli(*compose, "up", "-d", timeout=120)
    assert up.returncode == 0, up.stderr + up.stdout
    assert "Service web  Built" in up.stderr
    assert "Successfully tagged shop-web:latest" in up.stdout
    try:
        fetch = ok(d.cli(*compose, "exec", "client", "wget", "-qO-", "http://web/"))
        assert fetch == "built by compose\n"  # the service's own image, reached by name
        assert ok(d.cli(*compose, "exec", "client", "wget", "-qO-",
                        "http://web/motd.txt")) == "from the context\n"
        again = d.cli(*compose, "up", "-d")
        assert again.returncode == 0 and "Building" not in again.stderr  # built already
    finally:
        ok(d.cli(*compose, "down"))


def test_our_cli_builds_and_commits(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    context = make_context(tmp_path, "FROM busybox\nCOPY . /ctx/\nCMD ls -a /ctx/conf\n")
    loud = ok(d.cli("build", "-t", "mine", context))
    assert loud.startswith("Sending build context to Docker daemon  ")  # as docker's CLI
    assert "Successfully tagged mine:latest" in loud
    image = ok(d.cli("build", "-q", "-t", "mine", context)).strip()
    assert image.startswith("sha256:")
    listing = lines(ok(d.cli("run", "--rm", "mine")))
    assert "app.conf" in listing and "notes.md" not in listing  # never sent: .dockerignore
    # a link in the context never leads out of it, whatever it points at
    escape = make_context(tmp_path / "e", "FROM busybox\nCOPY evil /x\n")
    os.symlink("/etc/hostname", os.path.join(escape, "evil"))
    refused = d.cli("build", escape)
    assert refused.returncode == 1
    assert "links are followed inside the build context" in refused.stderr
    missing = d.cli("build", "-f", "Nope", context)
    assert missing.returncode == 1 and "unable to prepare context" in missing.stderr
    failing = make_context(tmp_path / "f", "FROM busybox\nRUN false\n")
    failed = d.cli("build", failing)
    assert failed.returncode == 1
    assert "The command '/bin/sh -c false' returned a non-zero code: 1" in failed.stderr
    ok(d.cli("run", "-d", "--name", "cbox", "busybox", "sh", "-c", "echo x > /y; sleep 60"))
    assert ok(d.cli("exec", "cbox", "sh", "-c", "while ! test -s /y; do :; done; cat /y")) \
        == "x\n"
    committed = ok(d.cli("commit", "-c", "CMD cat /y", "cbox", "mine:2")).strip()
    assert committed.startswith("sha256:")
    assert ok(d.cli("run", "--rm", "mine:2")) == "x\n"


INSTRUCTIONS = """\
FROM busybox
MAINTAINER someone@example.com
SHELL ["/bin/sh", "-ec"]
RUN echo app:x:1234:1234::/:/bin/sh >> /etc/passwd && echo app:x:1234: >> /etc/group && \\
    mkdir /srv && echo shell-ok > /srv/shell
COPY --chown=app:app --chmod=640 greeting.txt conf/*.conf /srv/files/
ADD layer.tar.gz /srv/unpacked/
USER app
RUN id -u > /tmp/uid
ENTRYPOINT ["sh", "-c", "echo entry $0 $@", "ep"]
CMD ["one", "two"]
HEALTHCHECK --interval=5s --retries=2 CMD true
STOPSIGNAL SIGINT
VOLUME /data
ONBUILD RUN echo triggered > /tmp/onbuild
"""


@needs_docker
def test_docker_build_instructions(busybox: Daemon, tmp_path: Path) -> None:
    import tarfile

    d = busybox
    context = make_context(tmp_path, INSTRUCTIONS)
    inner = tmp_path / "inner.txt"
    inner.write_text("from a tar\n")
    with tarfile.open(os.path.join(context, "layer.tar.gz"), "w:gz") as tar:
        tar.add(inner, arcname="deep/inner.txt")
    docker_build(d, "-t", "inst", "--label", "built.by=test", context)
    assert ok(d.docker("run", "--rm", "inst")) == "entry ep one two\n"
    files = ok(d.docker("run", "--rm", "--entrypoint", "sh", "inst", "-c",
                        "stat -c '%U:%G %a %n' /srv/files/*; cat /srv/shell /tmp/uid "
                        "/srv/unpacked/deep/inner.txt; id -un"))
    assert lines(files) == ["app:app 640 /srv/files/app.conf",
                            "app:app 640 /srv/files/greeting.txt",
                            "shell-ok", "1234", "from a tar", "app"]
    image = json.loads(ok(d.docker("image", "inspect", "inst")))[0]
    config = image["Config"]
    assert image["Author"] == "someone@example.com"
    assert config["User"] == "app"
    assert config["Shell"] == ["/bin/sh", "-ec"]
    assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 5_000_000_000,
                                     "Retries": 2}
    assert config["StopSignal"] == "SIGINT"
    assert config["Volumes"] == {"/data": {}}
    assert config["OnBuild"] == ["RUN echo triggered > /tmp/onbuild"]
    assert config["Labels"] == {"built.by": "test"}
    # ONBUILD runs in the image built FROM this one, and is not inherited further
    child = make_context(tmp_path / "child", "FROM inst\nUSER root\n")
    out = docker_build(d, "-t", "child", child)
    assert "# Executing 1 build trigger" in out
    assert "/bin/sh -ec echo triggered" in ok(d.docker("history", "--no-trunc", "child"))
    assert ok(d.docker("run", "--rm", "--entrypoint", "cat", "child", "/tmp/onbuild")) == \
        "triggered\n"
    assert json.loads(ok(d.docker("image", "inspect", "child")))[0]["Config"]["OnBuild"] \
        is None
    multi = make_context(tmp_path / "m", "FROM busybox\nCOPY greeting.txt conf/app.conf /x\n")
    refused = d.docker("build", multi)
    assert refused.returncode == 1
    assert "the destination must be a directory and end with a /" in refused.stderr


ARGS_DOCKERFILE = """\
ARG BASE=busybox
ARG FROM_META=meta-value
FROM $BASE
ARG FROM_META
ARG UNSET
COPY ["greeting.txt", "/with space/"]
RUN echo "[$FROM_META] [${UNSET-unset}]" > /args
CMD cat /args "/with space/greeting.txt"
"""


@needs_docker
def test_build_args_before_from_and_json_copy(busybox: Daemon, tmp_path: Path) -> None:
    d = busybox
    context = make_context(tmp_path, ARGS_DOCKERFILE)
    docker_build(d, "-t", "args", context)
    assert lines(ok(d.docker("run", "--rm", "args"))) == [
        "[meta-value] [unset]", "hello from the context"]
    given = docker_build(d, "-t", "args2", "--build-arg", "FROM_META=given",
                         "--build-arg", "NOBODY=x", context)
    assert "[Warning] One or more build-args [NOBODY] were not consumed" in given
    assert lines(ok(d.docker("run", "--rm", "args2")))[0] == "[given] [unset]"
