"""The CLI's pure parts: Go templates, docker's table layout, flags, human units."""

from __future__ import annotations

import pytest

from dockyard.cli.flags import Flag, UsageError, parse
from dockyard.cli.output import human_duration, human_size, tabwrite
from dockyard.cli.template import TemplateError, render

DOC = {
    "Name": "front",
    "IPAM": {"Config": [{"Subnet": "10.0.0.0/24", "Gateway": "10.0.0.1"}]},
    "Containers": {"b2": {"Name": "web", "IPv4Address": "10.0.0.3/24"},
                   "a1": {"Name": "db", "IPv4Address": "10.0.0.2/24"}},
    "Labels": {},
    "Internal": False,
    "Count": 3,
}


@pytest.mark.parametrize(("template", "expected"), [
    ("{{.Name}}", "front"),
    ("{{.IPAM.Config}}", "[map[Gateway:10.0.0.1 Subnet:10.0.0.0/24]]"),
    ("{{json .IPAM.Config}}", '[{"Subnet":"10.0.0.0/24","Gateway":"10.0.0.1"}]'),
    ("{{range $id, $c := .Containers}}{{$id}}={{$c.Name}} {{end}}", "a1=db b2=web "),
    ("{{range .Containers}}{{.IPv4Address}},{{end}}", "10.0.0.2/24,10.0.0.3/24,"),
    ("{{.Missing}}", "<no value>"),
    ("{{.Labels}}", "map[]"),
    ("{{if .Internal}}int{{else}}ext{{end}}", "ext"),
    ("{{range .Labels}}x{{else}}none{{end}}", "none"),
    ("{{index .Containers \"a1\" | json}}", '{"Name":"db","IPv4Address":"10.0.0.2/24"}'),
    ("{{len .Containers}} {{upper .Name}} {{printf \"%s:%d\" .Name .Count}}", "2 FRONT front:3"),
    ("a {{- \" b \" -}} c", "a b c"),
    ("{{$n := .Name}}{{range .IPAM.Config}}{{$n}}/{{.Subnet}}{{end}}", "front/10.0.0.0/24"),
    ("{{with .IPAM}}{{len .Config}}{{end}}", "1"),
])
def test_go_template(template: str, expected: str) -> None:
    assert render(template, DOC) == expected


@pytest.mark.parametrize("template", ["{{range .X}}", "{{end}}", "{{nosuch .X}}",
                                      "{{.Name.Sub}}", "{{if .Name}}x{{else}}y"])
def test_go_template_errors(template: str) -> None:
    with pytest.raises(TemplateError):
        render(template, DOC)


def test_tabwriter_matches_docker_layout() -> None:
    table = tabwrite([["NETWORK ID", "NAME", "DRIVER", "SCOPE"],
                      ["0123456789ab", "bridge", "bridge", "local"]])
    assert table == ("NETWORK ID     NAME      DRIVER    SCOPE\n"
                     "0123456789ab   bridge    bridge    local\n")


def test_human_units() -> None:
    assert human_size(4_260_000) == "4.26MB"
    assert human_size(999) == "999B"
    assert human_size(12_345) == "12.3kB"
    assert human_duration(0.5) == "Less than a second"
    assert human_duration(90) == "About a minute"
    assert human_duration(3 * 86400) == "3 days"
    assert human_duration(15 * 86400) == "2 weeks"


def test_flags_like_pflag() -> None:
    flags = [Flag(("-d", "--driver"), "driver", default="bridge"),
             Flag(("--label",), "label", "list"), Flag(("-q", "--quiet"), "quiet", "bool"),
             Flag(("-a",), "all", "bool")]
    values, rest = parse(flags, ["--driver=macvlan", "--label", "a=1", "--label=b", "-qa",
                                 "net", "--", "-x"])
    assert values == {"driver": "macvlan", "label": ["a=1", "b"], "quiet": True, "all": True}
    assert rest == ["net", "-x"]
    with pytest.raises(UsageError, match="unknown flag: --nope"):
        parse(flags, ["--nope"])
    with pytest.raises(UsageError, match="flag needs an argument: --driver"):
        parse(flags, ["--driver"])
