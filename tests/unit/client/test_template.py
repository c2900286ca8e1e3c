"""Go templates (``--format``/``-f``): the parts written without ``re`` and ``json``."""

import pytest

from dockyard.cli.template import TemplateError, render
from tests.unit.client import run_bare

DOC = {"Name": "web", "Count": 3, "Ratio": 0.25, "Tags": ["a", "b"], "Note": 'say "hi"\n',
       "Html": "<b>&</b>", "Accent": "café"}


@pytest.mark.parametrize(("template", "expected"), [
    # printf verbs: %v and %t print as Go does, %q quotes with double quotes, %% takes no
    # argument, widths and flags pass through.
    ('{{printf "%v|%t|%d|%5s|%-4s|%x|%%|%03d" .Tags true .Count "ab" "cd" 255 7}}',
     "[a b]|true|3|   ab|cd  |ff|%|007"),
    ('{{printf "%q" .Note}}', '"say \\"hi\\"\\n"'),
    ('{{printf "%.2f|%e|%g|%X|%o|%c" .Ratio 1500.0 .Ratio 255 8 65}}',
     "0.25|1.500000e+03|0.25|FF|10|A"),
    ('{{printf "%%d %s" .Name}}', "%d web"),
    ('{{printf "100%"}}', "100%"),
    # Number literals, signed and decimal; a word that is not one is a function name.
    ("{{-2}} {{1.5}} {{-.5}} {{12}}", "-2 1.5 -0.5 12"),
    ('{{eq .Count 3}} {{gt .Ratio 0.1}} {{lt .Count -1}}', "true true false"),
    # String literals: JSON escapes in "…", nothing in `…`.
    ('{{"\\u00e9\\t|"}}{{`\\t`}}', "é\t|\\t"),
    ('{{"a b" | upper}}', "A B"),
    # {{json}} as Go's encoder writes it: compact, non-ASCII kept, <>& escaped.
    ("{{json .Accent}} {{json .Html}} {{json .Tags}}",
     '"café" "\\u003cb\\u003e\\u0026\\u003c/b\\u003e" ["a","b"]'),
    ("{{json .}}", '{"Name":"web","Count":3,"Ratio":0.25,"Tags":["a","b"],'
     '"Note":"say \\"hi\\"\\n","Html":"\\u003cb\\u003e\\u0026\\u003c/b\\u003e",'
     '"Accent":"café"}'),
    # Trim markers take every kind of white space; without the space they are not markers.
    ("a \n\t{{- .Name -}}\n\t b", "awebb"),
    ("{{.Name}} {{-1}}", "web -1"),
    # Words, pipes, parentheses and commas need no spaces around them.
    ("{{range $i,$t:=.Tags}}{{$i}}{{$t}}{{end}}", "0a1b"),
    ("{{(len .Tags)|printf \"%d!\"}}", "2!"),
    # Braces that do not make an action are text.
    ("{ {{.Name}} }} {{", "{ web }} {{"),
])
def test_template_renders_as_go_does(template: str, expected: str) -> None:
    assert render(template, DOC) == expected


@pytest.mark.parametrize(("template", "message"), [
    ('{{"abc}}', "unterminated quoted string"),
    ('{{"abc\\"}}', "unterminated quoted string"),
    ("{{`abc}}", "unterminated raw quoted string"),
    ("{{12a}}", 'function "12a" not defined'),
    ("{{1.}}", 'function "1." not defined'),
])
def test_template_errors_name_the_problem(template: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message):
        render(template, DOC)


def test_rendering_imports_none_of_the_heavy_modules() -> None:
    # re, json and dataclasses (with enum, inspect and functools behind them) cost ~25 ms
    # of every `inspect -f` / `ps --format` here: more than the rest of the command.
    probe = (
        "import sys\n"
        "from dockyard.cli.template import render\n"
        "print(render('{{json .}} {{printf \"%q %d\" .A -2}} {{range $k, $v := .}}{{$k}}'\n"
        "             '{{end}} {{if eq .A \"x\"}}{{1.5}}{{end}} {{\"\\\\u00e9\"}}',\n"
        "             {'A': 'x', 'B': [1]}))\n"
        "heavy = ('re', 'json', '_json', 'enum', 'dataclasses', 'inspect', 'typing',\n"
        "         'functools', '_collections_abc', '__future__')\n"
        "print(' '.join(m for m in heavy if m in sys.modules))\n")
    out = run_bare(probe)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == ['{"A":"x","B":[1]} "x" -2 AB 1.5 é', ""]
