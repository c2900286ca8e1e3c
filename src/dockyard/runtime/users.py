"""``--user`` against the image's /etc/passwd and /etc/group (pure), as Docker resolves it:
``name``, ``uid``, ``name:group``, ``uid:gid``; a numeric uid need not exist in passwd."""

from __future__ import annotations

from dataclasses import dataclass

from dockyard.errors import InvalidParameter


@dataclass(frozen=True)
class ResolvedUser:
    uid: int
    gid: int
    home: str = "/"
    additional_gids: tuple[int, ...] = ()


def _rows(text: str) -> list[list[str]]:
    return [line.split(":") for line in text.splitlines() if line and not line.startswith("#")]


def resolve_user(spec: str, passwd: str, group: str,
                 group_add: tuple[str, ...] = ()) -> ResolvedUser:
    """``group_add``: ``--group-add`` values, group names or numbers, made supplementary
    groups of the process beside the user's own."""
    user, _, grp = (spec or "0").partition(":")
    users = [r for r in _rows(passwd) if len(r) >= 4]
    groups = [r for r in _rows(group) if len(r) >= 3]
    match = next((r for r in users if r[0] == user or (user.isdigit() and r[2] == user)), None)
    if match is not None:
        uid, gid, home = int(match[2]), int(match[3]), (match[5] if len(match) > 5 else "/")
        name = match[0]
    elif user.isdigit():
        uid, gid, home, name = int(user), 0, "/", ""
    else:
        raise InvalidParameter(f'unable to find user {user}: no matching entries in passwd file')
    if grp:
        found = next((r for r in groups if r[0] == grp or (grp.isdigit() and r[2] == grp)), None)
        if found is not None:
            gid = int(found[2])
        elif grp.isdigit():
            gid = int(grp)
        else:
            raise InvalidParameter(
                f'unable to find group {grp}: no matching entries in group file')
    extra = {int(r[2]) for r in groups if name and name in r[3].split(",") and int(r[2]) != gid}
    for wanted in group_add:
        found = next((r for r in groups if r[0] == wanted), None)
        if found is not None:
            extra.add(int(found[2]))
        elif wanted.isdigit():
            extra.add(int(wanted))
        else:
            raise InvalidParameter(
                f'unable to find group {wanted}: no matching entries in group file')
    return ResolvedUser(uid, gid, home or "/", tuple(sorted(extra)))
