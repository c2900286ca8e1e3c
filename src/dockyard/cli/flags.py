"""Docker-style flags (pflag's rules) without argparse's import cost.

``-f x``, ``-f=x``, ``--flag x``, ``--flag=x``, repeatable list flags, boolean flags
(``--flag=false`` too), grouped short booleans (``-aq``), ``--`` ends the flags.
Usage mistakes raise :class:`UsageError`; the CLI prints them as docker does and exits
125.
"""

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from typing import Any


class UsageError(Exception):
    """A command line docker would refuse before any request: exit 125, as its flag
    errors."""

    exit_code = 125


class ArgumentsError(UsageError):
    """Too few or too many arguments: the docker CLI (28) exits 1 for these."""

    exit_code = 1


class HelpRequested(Exception):
    pass


class Flag:
    """One flag. A plain class, not a dataclass: ``dataclasses`` costs ~6 ms to import,
    a third of a whole command's budget."""

    __slots__ = ("default", "dest", "help", "kind", "names")

    def __init__(self, names: tuple[str, ...], dest: str, kind: str = "str",
                 default: "Any" = None, help: str = "") -> None:
        self.names = names  # ("-d", "--driver")
        self.dest = dest
        # "bool", "str", "list", "int"; "optbool": a boolean that stays None unless given
        # (docker's pointer booleans, such as --init: false and unset differ)
        self.kind = kind
        self.default = default
        self.help = help


def parse(flags: "Sequence[Flag]", args: "Sequence[str]") -> "tuple[dict[str, Any], list[str]]":
    by_name = {name: flag for flag in flags for name in flag.names}
    values: dict[str, Any] = {}
    for flag in flags:
        if flag.kind == "list":
            values[flag.dest] = list(flag.default or [])
        elif flag.kind == "bool":
            values[flag.dest] = bool(flag.default)
        elif flag.kind == "optbool":
            values[flag.dest] = None
        else:
            values[flag.dest] = flag.default
    positional: list[str] = []
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            positional += args[i:]
            break
        if arg in ("-h", "--help"):
            raise HelpRequested()
        if not arg.startswith("-") or arg == "-":
            positional.append(arg)
            continue
        name, eq, inline = arg.partition("=")
        if not arg.startswith("--") and len(name) > 2:
            group = [f"-{c}" for c in name[1:]]
            if all(by_name.get(g) is not None and by_name[g].kind == "bool" for g in group):
                for g in group:
                    values[by_name[g].dest] = True
                continue
            name, eq, inline = arg[:2], "=", arg[2:].removeprefix("=")
        found = by_name.get(name)
        if found is None:
            kind = "flag" if name.startswith("--") else "shorthand flag"
            shown = name if name.startswith("--") else f"'{name[1:]}' in {arg}"
            raise UsageError(f"unknown {kind}: {shown}")
        flag = found
        if flag.kind in ("bool", "optbool"):
            if eq:
                if inline.lower() not in ("true", "false", "1", "0"):
                    raise UsageError(
                        f'invalid argument "{inline}" for "{arg}" flag: strconv.ParseBool: '
                        f'parsing "{inline}": invalid syntax')
                values[flag.dest] = inline.lower() in ("true", "1")
            else:
                values[flag.dest] = True
            continue
        if not eq:
            if i >= len(args):
                raise UsageError(f"flag needs an argument: {name}")
            inline = args[i]
            i += 1
        if flag.kind == "list":
            values[flag.dest].append(inline)
        elif flag.kind == "int":
            try:
                values[flag.dest] = int(inline)
            except ValueError:
                raise UsageError(
                    f'invalid argument "{inline}" for "{name}" flag: strconv.ParseInt: '
                    f'parsing "{inline}": invalid syntax') from None
        else:
            values[flag.dest] = inline
    return values, positional


def usage_text(usage: str, summary: str, flags: "Sequence[Flag]") -> str:
    lines = [f"\nUsage:  {usage}\n", summary, ""]
    if flags:
        lines.append("Options:")
        for flag in flags:
            names = ", ".join(flag.names)
            kind = {"str": " string", "list": " list", "int": " int"}.get(flag.kind, "")
            lines.append(f"  {names + kind:<28} {flag.help}")
    return "\n".join(lines) + "\n"
