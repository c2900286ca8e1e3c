from __future__ import annotations

import pytest

from dockyard.build.ignore import IgnoreMatcher, read_dockerignore
from dockyard.errors import InvalidParameter


def matcher(text: str) -> IgnoreMatcher:
    return IgnoreMatcher(read_dockerignore(text))


def test_read_dockerignore_cleans_patterns() -> None:
    text = (
        "\ufeff# comment\n\n  *.md  \n/tmp*\n./docs/\n! /keep//this/./one\n"
        "a/../b\n #not a comment\n!README.md\n"
    )
    assert read_dockerignore(text) == [
        "*.md", "tmp*", "docs", "!keep/this/one", "b", "#not a comment", "!README.md",
    ]


def test_star_stays_in_one_component() -> None:
    m = matcher("*.md\n")
    assert m.excluded("README.md")
    assert not m.excluded("docs/README.md")
    assert not m.excluded("README.mdx")


def test_exception_re_includes_and_last_match_wins() -> None:
    m = matcher("*.md\n!README.md\n")
    assert m.excluded("CHANGES.md")
    assert not m.excluded("README.md")
    m = matcher("!README.md\n*.md\n")
    assert m.excluded("README.md")
    m = matcher("*\n!keep\nkeep/secret\n")
    assert m.excluded("x")
    assert not m.excluded("keep/a")
    assert m.excluded("keep/secret")
    assert m.excluded("keep/secret/deeper")


def test_double_star() -> None:
    m = matcher("**/node_modules\n")
    for path in ("node_modules", "a/node_modules", "a/b/node_modules/x/y.js"):
        assert m.excluded(path), path
    assert not m.excluded("a/node_modules_x")
    m = matcher("**/*.go\n")
    assert m.excluded("main.go")
    assert m.excluded("cmd/x/main.go")
    assert not m.excluded("main.gox")
    m = matcher("a/**/b\n")
    assert m.excluded("a/b")
    assert m.excluded("a/x/y/b")
    assert not m.excluded("a/xb")
    assert matcher("**\n").excluded("any/thing")
    m = matcher("a/**\n")
    assert m.excluded("a/x/y")
    assert not m.excluded("a")


def test_directory_pattern_excludes_everything_below() -> None:
    m = matcher("docs/\n")
    assert m.excluded("docs")
    assert m.excluded("docs/a/b.txt")
    assert not m.excluded("src/docs")
    assert not m.excluded("docsx")


def test_leading_slash_anchors_to_root() -> None:
    m = matcher("/tmp*\n")
    assert m.excluded("tmp")
    assert m.excluded("tmpfile")
    assert m.excluded("tmp2/x")
    assert not m.excluded("a/tmp")


def test_paths_are_normalised() -> None:
    m = matcher("a/b\n")
    assert m.excluded("/a/b")
    assert m.excluded("./a//b/")
    assert not m.excluded(".")
    assert not m.excluded("")


def test_question_mark_and_character_classes() -> None:
    m = matcher("file?.txt\nlog[0-9]\nx[!ab]\ny[^ab]\nz[ab\\]]\n")
    assert m.excluded("file1.txt")
    assert not m.excluded("file/.txt")
    assert not m.excluded("file12.txt")
    assert m.excluded("log7")
    assert not m.excluded("loga")
    assert m.excluded("xc")
    assert not m.excluded("xa")
    assert m.excluded("yc")
    assert not m.excluded("yb")
    assert m.excluded("z]")
    assert m.excluded("za")
    assert not m.excluded("zc")


def test_backslash_escapes() -> None:
    m = matcher("\\*.txt\n")
    assert m.excluded("*.txt")
    assert not m.excluded("a.txt")


def test_regex_characters_are_literal() -> None:
    m = matcher("a+b.(c)\n")
    assert m.excluded("a+b.(c)")
    assert not m.excluded("aab.(c)")


@pytest.mark.parametrize("pattern", ["[abc", "a[]b", "x\\", "[z-a]", "[-a]", "[a-]"])
def test_invalid_patterns_named(pattern: str) -> None:
    with pytest.raises(InvalidParameter, match=r"invalid \.dockerignore pattern") as err:
        IgnoreMatcher([pattern])
    assert repr(pattern) in str(err.value)


def test_lone_exclamation_mark_is_illegal() -> None:
    with pytest.raises(InvalidParameter, match="illegal exclusion pattern"):
        IgnoreMatcher(["!"])


def test_empty_matcher_excludes_nothing() -> None:
    m = IgnoreMatcher([])
    assert not m.excluded("a")
    assert m.may_include_below("a")


def test_may_include_below() -> None:
    m = matcher("node_modules\nbuild\n!build/keep.txt\n")
    assert not m.may_include_below("node_modules")
    assert m.may_include_below("build")
    assert m.may_include_below("src")  # not excluded at all
    assert m.may_include_below("")


def test_may_include_below_with_wildcard_exceptions() -> None:
    m = matcher("*\n!**/*.go\n")
    assert m.may_include_below("vendor")
    m = matcher("*\n!src/*/main.go\n")
    assert m.may_include_below("src")
    assert m.may_include_below("src/cmd")
    assert not m.may_include_below("docs")
    assert not m.may_include_below("src/cmd/other")
    assert m.may_include_below("src/cmd/main.go/deeper")  # re-included via its parent


def test_may_include_below_exception_only_at_the_directory_itself() -> None:
    # "!a" can re-include "a" but nothing below an "a/b" excluded after it.
    m = matcher("a\n!a\na/b\n")
    assert not m.excluded("a")
    assert m.excluded("a/b/c")
    assert not m.may_include_below("a/b")
