"""Image references (``repo[:tag]``) with Docker's grammar and its "familiar" spelling.

Docker stores every reference fully qualified (``docker.io/library/busybox:latest``) and
shows it familiar (``busybox:latest``). We keep only the familiar form: it is what users
type, what ``RepoTags`` shows, and it is a unique spelling because we normalise the
``docker.io/library/`` prefix away on the way in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from dockyard.errors import InvalidParameter

DEFAULT_TAG = "latest"
_DEFAULT_DOMAINS = ("docker.io", "index.docker.io")
_OFFICIAL_PREFIX = "library/"
_MAX_NAME_LEN = 255

# Grammar of distribution/reference, written out piece by piece.
_DOMAIN_COMPONENT = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"(?:{_DOMAIN_COMPONENT}(?:\.{_DOMAIN_COMPONENT})*|\[[0-9a-fA-F:]+\])(?::[0-9]+)?"
_PATH_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"

_DOMAIN_RE = re.compile(rf"^{_DOMAIN}$")
_PATH_RE = re.compile(rf"^{_PATH_COMPONENT}(?:/{_PATH_COMPONENT})*$")
_TAG_RE = re.compile(rf"^{_TAG}$")
_DIGEST_RE = re.compile(rf"^{_DIGEST}$")
_HEX64_RE = re.compile(r"^[a-f0-9]{64}$")


@dataclass(frozen=True)
class Reference:
    """A parsed reference in familiar form; ``tag`` is always set (``latest`` by default)."""

    repository: str  # "busybox", "me/app", "localhost:5000/x"
    tag: str
    digest: str | None = None

    def __str__(self) -> str:
        text = f"{self.repository}:{self.tag}"
        return f"{text}@{self.digest}" if self.digest else text


def _split_domain(name: str) -> tuple[str | None, str]:
    """Docker's rule: the first component is a registry only if it looks like a host."""
    first, sep, rest = name.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first != first.lower()):
        return first, rest
    return None, name


def _familiar(domain: str | None, path: str) -> str:
    if domain is None or domain in _DEFAULT_DOMAINS:
        if path.startswith(_OFFICIAL_PREFIX) and "/" not in path[len(_OFFICIAL_PREFIX):]:
            return path[len(_OFFICIAL_PREFIX):]
        return path
    return f"{domain}/{path}"


def parse_reference(text: str, *, default_tag: str = DEFAULT_TAG) -> Reference:
    """Parse ``[domain/]path[:tag][@digest]``; the tag defaults to ``latest``."""
    if not text:
        raise InvalidParameter('invalid reference format: repository name must not be empty')
    name, digest = text, None
    if "@" in name:
        name, _, digest = name.partition("@")
        if not _DIGEST_RE.match(digest):
            raise InvalidParameter(f'invalid reference format: invalid digest in "{text}"')
    tag: str | None = None
    slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > slash:
        name, tag = name[:colon], name[colon + 1:]
        if not _TAG_RE.match(tag):
            raise InvalidParameter(f'invalid reference format: invalid tag "{tag}" in "{text}"')
    domain, path = _split_domain(name)
    if domain is not None and not _DOMAIN_RE.match(domain):
        raise InvalidParameter(f'invalid reference format: invalid registry "{domain}" in "{text}"')
    if not _PATH_RE.match(path):
        if _PATH_RE.match(path.lower()):
            qualified = path if domain else (
                path if "/" in path else f"{_OFFICIAL_PREFIX}{path}")
            raise InvalidParameter(
                f"invalid reference format: repository name ({qualified}) must be lowercase")
        raise InvalidParameter(f'invalid reference format: "{text}"')
    if len(name) > _MAX_NAME_LEN:
        raise InvalidParameter(
            f'invalid reference format: repository name "{name}" must not be more than '
            f"{_MAX_NAME_LEN} characters")
    repository = _familiar(domain, path)
    if _HEX64_RE.match(repository):
        raise InvalidParameter(
            f"invalid repository name ({repository}), cannot specify 64-byte hexadecimal strings")
    return Reference(repository, tag if tag is not None else default_tag, digest)


def normalize_reference(text: str) -> str:
    """``busybox`` → ``busybox:latest``; refuses digests, which name no local tag."""
    ref = parse_reference(text)
    if ref.digest is not None:
        raise InvalidParameter(f'refusing to create a tag with a digest reference: "{text}"')
    return str(ref)
