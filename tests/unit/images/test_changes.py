from __future__ import annotations

import pytest

from dockyard.errors import InvalidParameter
from dockyard.images.changes import apply_changes, parse_port_spec
from dockyard.images.config import RunConfig


def apply(*changes: str) -> RunConfig:
    return apply_changes(RunConfig(), changes)


def test_cmd_shell_form_runs_through_sh() -> None:
    assert apply("CMD echo $HOME hi").cmd == ("/bin/sh", "-c", "echo $HOME hi")


def test_cmd_and_entrypoint_exec_form() -> None:
    config = apply('ENTRYPOINT ["/bin/busybox"]', 'CMD ["httpd", "-f"]')
    assert config.entrypoint == ("/bin/busybox",)
    assert config.cmd == ("httpd", "-f")


def test_entrypoint_after_cmd_keeps_cmd_set_in_same_changes_only() -> None:
    assert apply('CMD ["a"]', 'ENTRYPOINT ["b"]').cmd == ("a",)
    inherited = RunConfig(cmd=("old",))
    assert apply_changes(inherited, ['ENTRYPOINT ["b"]']).cmd is None


def test_env_both_forms_quotes_and_expansion() -> None:
    config = apply(
        "ENV A=1 B=\"two words\" C='$A literal'",
        "ENV D ${A}-$B and more",
        "ENV A=3",
        "env E=${MISSING:-dflt}",
    )
    assert config.env == (
        "A=3", "B=two words", "C=$A literal", "D=1-two words and more", "E=dflt",
    )


def test_env_errors() -> None:
    with pytest.raises(InvalidParameter, match="ENV requires at least one argument"):
        apply("ENV")
    with pytest.raises(InvalidParameter, match="can't find ="):
        apply("ENV A=1 B")
    with pytest.raises(InvalidParameter, match="ENV names can not be blank"):
        apply("ENV =x")


def test_expose_forms() -> None:
    config = apply("EXPOSE 80 53/udp", "EXPOSE 8000-8002/TCP")
    assert config.exposed_ports == ("53/udp", "80/tcp", "8000/tcp", "8001/tcp", "8002/tcp")
    assert config.to_go()["ExposedPorts"] == {
        "53/udp": {}, "80/tcp": {}, "8000/tcp": {}, "8001/tcp": {}, "8002/tcp": {},
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [("http", "invalid containerPort"), ("80/icmp", "invalid proto"),
     ("90-80", "invalid range"), ("70000", "invalid containerPort")],
)
def test_expose_rejects_bad_ports(spec: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message):
        parse_port_spec(spec)


def test_workdir_user_label_volume_stopsignal() -> None:
    config = apply(
        "WORKDIR /srv", "WORKDIR app/../www", "USER nobody:nogroup",
        'LABEL maintainer="me <me@x>" tier=web', "LABEL tier front",
        "VOLUME /data", "STOPSIGNAL SIGINT",
    )
    assert config.working_dir == "/srv/www"
    assert config.user == "nobody:nogroup"
    assert dict(config.labels) == {"maintainer": "me <me@x>", "tier": "front"}
    assert config.volumes == ("/data",)
    go = config.to_go()
    assert go["Volumes"] == {"/data": {}}
    assert go["StopSignal"] == "SIGINT"


def test_changes_may_span_lines_and_hold_comments() -> None:
    config = apply("# a comment\nENV A=1 \\\n  B=2\nUSER 1000")
    assert config.env == ("A=1", "B=2")
    assert config.user == "1000"


@pytest.mark.parametrize("change", ["RUN echo hi", "COPY a b", "FROM busybox", "BOGUS x"])
def test_other_instructions_are_refused_by_name(change: str) -> None:
    keyword = change.split()[0].lower()
    with pytest.raises(InvalidParameter, match=f"^{keyword} is not a valid change command$"):
        apply("USER root", change)


def test_refused_change_applies_nothing() -> None:
    base = RunConfig(user="keep")
    with pytest.raises(InvalidParameter):
        apply_changes(base, ["USER other", "RUN x"])
    assert base.user == "keep"


def test_user_needs_exactly_one_argument() -> None:
    with pytest.raises(InvalidParameter, match="USER requires exactly one argument"):
        apply("USER a b")


def test_unterminated_quote_is_reported() -> None:
    with pytest.raises(InvalidParameter, match="matching"):
        apply('ENV A="open')
