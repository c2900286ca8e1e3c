from __future__ import annotations

import pytest

from dockyard.build.dockerfile import Instruction, parse_dockerfile
from dockyard.errors import InvalidParameter


def only(text: str) -> Instruction:
    """The one instruction after the FROM of a single-stage Dockerfile."""
    (instruction,) = parse_dockerfile("FROM scratch\n" + text).stages[0].instructions
    return instruction


def test_single_stage_shape() -> None:
    parsed = parse_dockerfile("FROM busybox\nRUN echo hi\nCMD [\"sh\"]\n")
    assert parsed.escape == "\\"
    assert parsed.meta_args == ()
    (stage,) = parsed.stages
    assert (stage.base, stage.name, stage.platform) == ("busybox", None, None)
    assert stage.from_instruction == Instruction("from", "busybox", (), 1, "FROM busybox", None)
    assert [i.keyword for i in stage.instructions] == ["run", "cmd"]
    assert [i.line for i in parsed.instructions] == [1, 2, 3]


def test_continuation_lines_joined_keeping_indentation() -> None:
    run = only("RUN echo a && \\\n    echo b\n")
    assert run.original == "RUN echo a &&     echo b"
    assert run.args == "echo a &&     echo b"
    assert run.line == 2


def test_trailing_whitespace_after_escape_still_continues() -> None:
    assert only("RUN echo a \\   \n b").args == "echo a  b"


def test_comments_and_blank_lines_inside_continuation_dropped() -> None:
    parsed = parse_dockerfile(
        "# leading comment\n\nFROM scratch\nRUN echo a \\\n  # a comment\n\n  && echo b\n"
        "   # indented comment\nENV A=1\n"
    )
    run, env = parsed.stages[0].instructions
    assert run.args == "echo a   && echo b"
    assert (run.line, env.line) == (4, 9)


def test_escape_directive_backtick_leaves_backslashes_alone() -> None:
    parsed = parse_dockerfile(
        "# escape=`\nFROM windows\nCOPY testfile.txt C:\\\nRUN dir C:\\x `\n  /s\n"
    )
    assert parsed.escape == "`"
    copy, run = parsed.stages[0].instructions
    assert copy.args == "testfile.txt C:\\"
    assert run.args == "dir C:\\x   /s"
    assert (copy.line, run.line) == (3, 4)


def test_directives_case_insensitive_with_syntax_and_spacing() -> None:
    parsed = parse_dockerfile("# syntax=docker/dockerfile:1\n#  ESCAPE = `\nFROM a\n")
    assert parsed.escape == "`"


def test_directive_after_content_is_a_comment() -> None:
    assert parse_dockerfile("FROM a\n# escape=`\nRUN x \\\n y\n").escape == "\\"
    assert parse_dockerfile("# hello\n# escape=`\nFROM a\n").escape == "\\"
    assert parse_dockerfile("\n# escape=`\nFROM a\n").escape == "\\"
    # an unknown directive is a comment and ends the directives
    assert parse_dockerfile("# foo=bar\n# escape=`\nFROM a\n").escape == "\\"


def test_bad_directives() -> None:
    with pytest.raises(InvalidParameter, match="invalid escape token"):
        parse_dockerfile("# escape=x\nFROM a\n")
    with pytest.raises(InvalidParameter, match="line 2: only one escape parser directive"):
        parse_dockerfile("# escape=`\n# escape=\\\nFROM a\n")


def test_keywords_case_insensitive() -> None:
    parsed = parse_dockerfile("from a\nRun echo\nwOrKdIr /x\n")
    assert [i.keyword for i in parsed.instructions] == ["from", "run", "workdir"]
    assert parsed.instructions[1].original == "Run echo"


def test_unknown_instruction_names_line_and_keyword() -> None:
    with pytest.raises(InvalidParameter) as err:
        parse_dockerfile("FROM a\n\nRUN x \\\n  y\nfoo bar\n")
    assert str(err.value) == "dockerfile parse error on line 5: unknown instruction: FOO"


def test_flags_parsed_for_flag_instructions() -> None:
    copy = only('COPY --from=build --chown="1:1 x" --Link src dst')
    assert copy.flags == (("from", "build"), ("chown", "1:1 x"), ("link", ""))
    assert copy.args == "src dst"
    run = only("RUN --mount=type=cache,target=/root/.cache --network=none make")
    assert run.flags == (("mount", "type=cache,target=/root/.cache"), ("network", "none"))
    assert run.args == "make"
    assert run.original.startswith("RUN --mount=")
    check = only("HEALTHCHECK --interval=5s CMD true")
    assert (check.flags, check.args) == ((("interval", "5s"),), "CMD true")


def test_flags_stop_at_first_non_flag_or_double_dash() -> None:
    assert only("COPY a --chown=1 b").flags == ()
    assert only("COPY --chown=1 -- --weird b").args == "--weird b"


def test_flags_not_parsed_for_other_instructions() -> None:
    workdir = only("WORKDIR --x")
    assert (workdir.flags, workdir.args) == ((), "--x")


def test_exec_form_and_shell_form() -> None:
    assert only('CMD ["echo", "a b"]').exec_form == ("echo", "a b")
    assert only("ENTRYPOINT []").exec_form == ()
    assert only('SHELL ["powershell", "-c"]').exec_form == ("powershell", "-c")
    assert only('RUN --network=none ["true"]').exec_form == ("true",)
    assert only("CMD echo hi").exec_form is None
    assert only("RUN [ \"a\" ] && b").exec_form is None  # bad JSON: shell form
    assert only("RUN [ -f x ]").exec_form is None
    assert only("CMD [1, 2]").exec_form is None
    assert only('VOLUME ["/data"]').exec_form is None
    assert only('CMD ["a"]').args == '["a"]'


def test_args_not_expanded_and_quotes_kept() -> None:
    env = only("ENV A=\"x y\" B=${A:-z}")
    assert env.args == 'A="x y" B=${A:-z}'


def test_onbuild_keeps_whole_rest() -> None:
    onbuild = only("ONBUILD RUN --mount=x echo hi")
    assert (onbuild.keyword, onbuild.args, onbuild.flags) == (
        "onbuild", "RUN --mount=x echo hi", ()
    )


def test_multi_stage_with_names_platform_and_meta_args() -> None:
    parsed = parse_dockerfile(
        "ARG BASE=alpine\nARG V\n"
        "FROM --platform=$BUILDPLATFORM ${BASE}:3 AS Build\nRUN make\n"
        "FROM build as test\n"
        "FROM scratch\nCOPY --from=build /out /\n"
    )
    assert [a.args for a in parsed.meta_args] == ["BASE=alpine", "V"]
    build, test, final = parsed.stages
    assert (build.base, build.name, build.platform) == ("${BASE}:3", "build", "$BUILDPLATFORM")
    assert [i.args for i in build.instructions] == ["make"]
    assert (test.base, test.name, test.instructions) == ("build", "test", ())
    assert (final.name, final.from_instruction.line) == (None, 6)
    assert len(parsed.instructions) == 7
    assert parsed.instructions[0].keyword == "arg"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("FROM\n", "line 1: FROM requires either one or three arguments"),
        ("FROM a b\n", "line 1: FROM requires either one or three arguments"),
        ("FROM a AS b c\n", "line 1: FROM requires either one or three arguments"),
        ("RUN x\n\nFROM a IS b\n", "line 1: no build stage"),
        ("FROM a IS b\n", "line 1: FROM: second argument should be AS"),
        ("FROM a AS 1st\n", "invalid name for build stage: '1st'"),
        ("FROM a AS b$c\n", "invalid name for build stage"),
        ("FROM a AS x\nFROM b AS X\n", "line 2: duplicate stage name 'x'"),
        ("FROM --foo=1 a\n", "FROM: unknown flag: foo"),
        ("ARG A\nENV B=1\nFROM a\n", "line 2: no build stage in current context"),
        ("", "file with no instructions"),
        ("# just a comment\n\n", "file with no instructions"),
        ("ARG A\n", "no stages to build"),
    ],
)
def test_bad_dockerfiles(text: str, message: str) -> None:
    with pytest.raises(InvalidParameter, match=message.replace("$", r"\$")):
        parse_dockerfile(text)


def test_stage_names_allow_digits_dashes_dots_underscores() -> None:
    assert parse_dockerfile("FROM a AS b-1_2.3\n").stages[0].name == "b-1_2.3"


@pytest.mark.parametrize(
    "line", ["RUN <<EOF", "RUN cat <<-'EOT' > f", "COPY <<EOF /dst", "ADD <<\"X\" /x"]
)
def test_heredocs_refused(line: str) -> None:
    with pytest.raises(InvalidParameter, match="line 2: heredocs are not supported"):
        parse_dockerfile(f"FROM a\n{line}\necho hi\nEOF\n")


def test_shift_operators_are_not_heredocs() -> None:
    assert only("RUN echo $((1 << 2)) $((1<<3))").args == "echo $((1 << 2)) $((1<<3))"


def test_crlf_and_bom() -> None:
    parsed = parse_dockerfile("\ufeffFROM a\r\nRUN x \\\r\n  y\r\n")
    assert parsed.stages[0].instructions[0].args == "x   y"
