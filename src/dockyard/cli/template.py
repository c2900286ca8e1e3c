"""The subset of Go's text/template that ``--format``/``-f`` users write (pure).

Supported: text; ``{{.A.B}}``, ``{{.}}``, ``{{$}}``, ``{{$v.A}}``; pipelines with ``|``;
literals (strings, numbers, true/false); functions json, index, len, join, split, upper,
lower, title, println, print, printf, eq, ne, lt, gt, not, and, or, truncate, pad;
``{{range}}`` over lists and maps (maps in key order, as Go does), with ``$k, $v :=``
or ``$v :=`` and ``{{else}}``; ``{{if}}/{{else if}}/{{else}}``; ``{{with}}``;
``{{$x := …}}``; and the ``{{-``/``-}}`` trim markers. Values print as Go's ``%v``
does (``map[a:1]``, ``[a b]``, ``<no value>`` for a missing key).
"""

from dockyard.client import jsonlite

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and collections.abc cost milliseconds of a command's start
    from collections.abc import Callable
    from typing import Any

# Written without re, json and dataclasses: importing those (and the enum, inspect and
# functools they pull in) cost ~25 ms here, more than the rest of an ``inspect -f``.


class TemplateError(Exception):
    pass


class _Missing:
    """A map key that is not there: prints ``<no value>``, counts as false."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING = _Missing()


# ----------------------------------------------------------------- parse tree


class _Text:
    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


class _Action:
    __slots__ = ("words",)

    def __init__(self, words: "list[str]") -> None:
        self.words = words


class _Block:
    __slots__ = ("body", "kind", "orelse", "words")

    def __init__(self, kind: str, words: "list[str]") -> None:
        self.kind = kind  # "range", "if", "with"
        self.words = words
        self.body: list[Any] = []
        self.orelse: list[Any] = []


_SINGLES = "|,()"  # each a token by itself


def _tokens(source: str) -> "list[str]":
    """An action's words: quoted strings, ``|``, ``,``, ``(``, ``)``, ``:=`` and words."""
    out: list[str] = []
    pos, end = 0, len(source)
    while True:
        while pos < end and source[pos].isspace():
            pos += 1
        if pos == end:
            return out
        char = source[pos]
        if char == '"':
            stop = pos + 1
            while stop < end and source[stop] != '"':
                stop += 2 if source[stop] == "\\" else 1
            if stop >= end:
                raise TemplateError("unterminated quoted string")
            stop += 1
        elif char == "`":
            stop = source.find("`", pos + 1) + 1
            if stop == 0:
                raise TemplateError("unterminated raw quoted string")
        elif char in _SINGLES:
            stop = pos + 1
        elif source.startswith(":=", pos):
            stop = pos + 2
        else:
            stop = pos + 1
            while (stop < end and not source[stop].isspace() and source[stop] not in _SINGLES
                   and not source.startswith(":=", stop)):
                stop += 1
        out.append(source[pos:stop])
        pos = stop


def _items(template: str) -> "list[tuple[str, Any]]":
    """The template as ("text", text) and ("action", words) in order. ``{{- `` trims the
    white space before an action, `` -}}`` the white space after it."""
    items: list[tuple[str, Any]] = []
    pos = 0
    while True:
        start = template.find("{{", pos)
        end = template.find("}}", start + 2) if start >= 0 else -1
        if end < 0:
            break
        text, inner = template[pos:start], template[start + 2:end]
        if len(inner) >= 2 and inner[0] == "-" and inner[1].isspace():
            text, inner = text.rstrip(), inner[2:]
        trim_after = len(inner) >= 2 and inner[-1] == "-" and inner[-2].isspace()
        if trim_after:
            inner = inner[:-2]
        items.append(("text", text))
        items.append(("action", _tokens(inner)))
        pos = end + 2
        if trim_after:
            while pos < len(template) and template[pos].isspace():
                pos += 1
    items.append(("text", template[pos:]))
    return items


def parse(template: str) -> "list[Any]":
    tree, _ = _build(_items(template), 0, top=True)
    return tree


def _build(items: "list[tuple[str, Any]]", i: int, top: bool = False) -> "tuple[list[Any], int]":
    out: list[Any] = []
    while i < len(items):
        kind, value = items[i]
        if kind == "text":
            if value:
                out.append(_Text(value))
            i += 1
            continue
        words = value
        if not words:
            raise TemplateError("missing value for command")
        head = words[0]
        if head in ("end", "else"):
            if top:
                raise TemplateError(f"unexpected {{{{{head}}}}}")
            return out, i
        if head in ("range", "if", "with"):
            block = _Block(head, words[1:])
            block.body, i = _build(items, i + 1)
            i = _finish_block(block, items, i)
            out.append(block)
            continue
        out.append(_Action(words))
        i += 1
    if not top:
        raise TemplateError("unexpected EOF: missing {{end}}")
    return out, i


def _finish_block(block: _Block, items: "list[tuple[str, Any]]", i: int) -> int:
    words = items[i][1]
    if words[0] == "end":
        return i + 1
    # {{else}} or {{else if …}}
    if len(words) > 1 and words[1] in ("if", "with"):
        inner = _Block(words[1], words[2:])
        inner.body, i = _build(items, i + 1)
        i = _finish_block(inner, items, i)
        block.orelse = [inner]
        return i
    block.orelse, i = _build(items, i + 1)
    if items[i][1][0] != "end":
        raise TemplateError("expected {{end}}")
    return i + 1


# ----------------------------------------------------------------- evaluation


def go_str(value: "Any") -> str:
    """Go's ``%v``."""
    if value is MISSING:
        return "<no value>"
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(int(value)) if value.is_integer() and abs(value) < 1e21 else repr(value)
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_str(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list | tuple):
        return "[" + " ".join(go_str(v) for v in value) + "]"
    return str(value)


def truthy(value: "Any") -> bool:
    if value is MISSING or value is None:
        return False
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value != 0
    if isinstance(value, str | list | tuple | dict):
        return len(value) > 0
    return True


def _go_json(value: "Any") -> str:
    # Insertion order: the daemon writes objects in the order of Docker's structs, which
    # is what Go's json prints for them (and stored maps come sorted, as Go sorts maps).
    text = jsonlite.dumps_compact(None if value is MISSING else value)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _index(value: "Any", *keys: "Any") -> "Any":
    for key in keys:
        if isinstance(value, dict):
            value = value.get(key, MISSING)
        elif isinstance(value, list | tuple):
            value = value[int(key)]
        else:
            raise TemplateError(f"can't index item of type {type(value).__name__}")
    return value


_PRINTF_FLAGS = "-+# 0123456789."
# Go's verbs that Python's % spells alike, and those it spells otherwise.
_PRINTF_VERBS = {**{verb: verb for verb in "dsxXoceEfFgG"}, "v": "s", "t": "s", "q": "s"}


def _python_format(fmt: str) -> "tuple[str, list[str]]":
    """Go's printf format as Python's % operator spells it (%v, %t and %q print as %s),
    and the Go verb of each argument in turn."""
    out, verbs = [], []
    pos = 0
    while (start := fmt.find("%", pos)) >= 0:
        if fmt.startswith("%%", start):  # a literal %: takes no argument
            out.append(fmt[pos:start + 2])
            pos = start + 2
            continue
        stop = start + 1
        while stop < len(fmt) and fmt[stop] in _PRINTF_FLAGS:
            stop += 1
        verb = fmt[stop] if stop < len(fmt) else ""
        if verb not in _PRINTF_VERBS:  # not a verb this subset knows: a literal %
            out.append(fmt[pos:start] + "%%")
            pos = start + 1
            continue
        out.append(fmt[pos:stop] + _PRINTF_VERBS[verb])
        verbs.append(verb)
        pos = stop + 1
    out.append(fmt[pos:])
    return "".join(out), verbs


def _printf(fmt: str, *args: "Any") -> str:
    converted, verbs = _python_format(fmt)
    values = tuple(_printf_arg(arg, verbs[i] if i < len(verbs) else "")
                   for i, arg in enumerate(args))
    try:
        return converted % values
    except (TypeError, ValueError) as err:
        raise TemplateError(f"printf: {err}") from None


def _printf_arg(value: "Any", verb: str) -> "Any":
    if verb == "q":  # Go quotes as JSON does: double quotes, \\ and " escaped
        return jsonlite.dumps_compact(go_str(value))
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    return go_str(value)


def _truncate(value: "Any", n: "Any") -> str:
    return go_str(value)[:int(n)]


def _pad(value: "Any", left: "Any", right: "Any") -> str:
    return " " * int(left) + go_str(value) + " " * int(right)


FUNCS: "dict[str, Callable[..., Any]]" = {
    "json": _go_json,
    "index": _index,
    "len": lambda v: len(v) if v is not MISSING and v is not None else 0,
    "join": lambda items, sep: sep.join(go_str(i) for i in (items or [])),
    "split": lambda s, sep: go_str(s).split(sep),
    "upper": lambda s: go_str(s).upper(),
    "lower": lambda s: go_str(s).lower(),
    "title": lambda s: go_str(s).title(),
    "print": lambda *a: "".join(go_str(x) for x in a),
    "println": lambda *a: " ".join(go_str(x) for x in a) + "\n",
    "printf": _printf,
    "eq": lambda a, *b: any(a == x for x in b),
    "ne": lambda a, b: a != b,
    "lt": lambda a, b: a < b,
    "gt": lambda a, b: a > b,
    "not": lambda a: not truthy(a),
    "and": lambda *a: next((x for x in a if not truthy(x)), a[-1]),
    "or": lambda *a: next((x for x in a if truthy(x)), a[-1]),
    "truncate": _truncate,
    "pad": _pad,
}


class _Scope:
    def __init__(self, root: "Any") -> None:
        self.vars: list[dict[str, Any]] = [{"$": root}]

    def get(self, name: str) -> "Any":
        for frame in reversed(self.vars):
            if name in frame:
                return frame[name]
        raise TemplateError(f'undefined variable "{name}"')

    def set(self, name: str, value: "Any") -> None:
        self.vars[-1][name] = value


def _field(value: "Any", path: list[str]) -> "Any":
    for name in path:
        if not name:
            continue
        if isinstance(value, dict):
            value = value.get(name, MISSING)
        elif value is MISSING or value is None:
            return MISSING if value is MISSING else None
        else:
            raise TemplateError(f"can't evaluate field {name} in type {type(value).__name__}")
    return value


def _operand(word: str, dot: "Any", scope: _Scope) -> "tuple[bool, Any]":
    """(is a function name, value)."""
    if word.startswith('"'):
        return False, jsonlite.loads(word)
    if word.startswith("`"):
        return False, word[1:-1]
    if word.startswith("."):
        return False, _field(dot, word[1:].split("."))
    if word.startswith("$"):
        name, _, rest = word.partition(".")
        value = scope.get(name)
        return False, _field(value, rest.split(".")) if rest else value
    if word in ("true", "false"):
        return False, word == "true"
    if word == "nil":
        return False, None
    number = _number(word)
    if number is not None:
        return False, number
    if word in FUNCS:
        return True, FUNCS[word]
    raise TemplateError(f'function "{word}" not defined')


def _number(word: str) -> "int | float | None":
    """An integer (``-?\\d+``) or a decimal (``-?\\d*\\.\\d+``) literal; None if not one."""
    digits = word[1:] if word.startswith("-") else word
    if digits.isdecimal():
        return int(word)
    whole, dot, fraction = digits.partition(".")
    if dot and (not whole or whole.isdecimal()) and fraction.isdecimal():
        return float(word)
    return None


def _command(words: list[str], dot: "Any", scope: _Scope, piped: "list[Any]") -> "Any":
    args: list[Any] = []
    fn: Callable[..., Any] | None = None
    i = 0
    while i < len(words):
        word = words[i]
        if word == "(":
            depth, j = 1, i + 1
            while depth:
                if j >= len(words):
                    raise TemplateError("unclosed left paren")
                depth += {"(": 1, ")": -1}.get(words[j], 0)
                j += 1
            args.append(_pipeline(words[i + 1:j - 1], dot, scope))
            i = j
            continue
        is_fn, value = _operand(word, dot, scope)
        if is_fn and i == 0:
            fn = value
        elif is_fn:
            raise TemplateError(f"{word} is a function, not a value")
        else:
            args.append(value)
        i += 1
    args += piped
    if fn is not None:
        try:
            return fn(*args)
        except TemplateError:
            raise
        except Exception as err:
            raise TemplateError(f"error calling {words[0]}: {err}") from None
    if len(args) != 1:
        raise TemplateError(f"can't give argument to non-function {words[0]}")
    return args[0]


def _pipeline(words: list[str], dot: "Any", scope: _Scope) -> "Any":
    assign: list[str] = []
    if ":=" in words:
        at = words.index(":=")
        assign = [w for w in words[:at] if w != ","]
        words = words[at + 1:]
    commands: list[list[str]] = [[]]
    depth = 0
    for word in words:
        depth += {"(": 1, ")": -1}.get(word, 0)
        if word == "|" and depth == 0:
            commands.append([])
        else:
            commands[-1].append(word)
    value: list[Any] = []
    for command in commands:
        if not command:
            raise TemplateError("missing command in pipeline")
        value = [_command(command, dot, scope, value)]
    result = value[0]
    if len(assign) == 1:
        scope.set(assign[0], result)
    return result


def _run(nodes: "list[Any]", dot: "Any", scope: _Scope, out: list[str]) -> None:
    for node in nodes:
        if isinstance(node, _Text):
            out.append(node.text)
        elif isinstance(node, _Action):
            value = _pipeline(node.words, dot, scope)
            if not (node.words and ":=" in node.words):
                out.append(go_str(value))
        elif node.kind == "range":
            _range(node, dot, scope, out)
        else:
            words = node.words
            value = _pipeline(words, dot, scope)
            if truthy(value):
                _run(node.body, value if node.kind == "with" else dot, scope, out)
            else:
                _run(node.orelse, dot, scope, out)


def _range(node: _Block, dot: "Any", scope: _Scope, out: list[str]) -> None:
    words = node.words
    names: list[str] = []
    if ":=" in words:
        at = words.index(":=")
        names = [w for w in words[:at] if w != ","]
        words = words[at + 1:]
    value = _pipeline(words, dot, scope)
    if isinstance(value, dict):
        pairs: list[tuple[Any, Any]] = [(k, value[k]) for k in sorted(value)]
    elif isinstance(value, list | tuple):
        pairs = list(enumerate(value))
    elif value is MISSING or value is None:
        pairs = []
    elif isinstance(value, int) and not isinstance(value, bool):
        pairs = [(i, i) for i in range(value)]
    else:
        raise TemplateError(f"range can't iterate over {go_str(value)}")
    if not pairs:
        _run(node.orelse, dot, scope, out)
        return
    for key, item in pairs:
        scope.vars.append({})
        if len(names) == 1:
            scope.set(names[0], item)
        elif len(names) == 2:
            scope.set(names[0], key)
            scope.set(names[1], item)
        _run(node.body, item, scope, out)
        scope.vars.pop()


def render(template: str, data: "Any") -> str:
    """``template`` applied to ``data`` (decoded JSON), as Go would print it."""
    tree = parse(template)
    out: list[str] = []
    _run(tree, data, _Scope(data), out)
    return "".join(out)
