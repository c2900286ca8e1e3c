"""One exception tree for all of Dockyard.

Every error has a *kind*; the API maps the kind to an HTTP status and the CLI
to an exit code, so no layer above needs to know the concrete class::

    DockyardError
    ├── InvalidParameter      400  bad input: a name, a subnet, a flag value
    ├── NotFound              404  no such network, endpoint, sandbox, container, image
    ├── Conflict              409  name taken, address in use, port already allocated
    ├── Forbidden             403  operation not allowed on this object (predefined network,
    │                              active endpoints, pool overlap)
    ├── Unavailable           503  nothing left to give: pool exhausted, no free port
    ├── NotImplemented        501  a feature this machine or build cannot do
    └── Internal              500  a bug or an unexpected kernel answer
        └── KernelError            netlink / nftables / namespace failure, with context

Messages name the field and the value at fault, e.g.
``invalid subnet "10.0.0.0/33": prefix length must be 0..32``.
"""


class DockyardError(Exception):
    """Root of every error Dockyard raises on purpose."""

    status = 500

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class InvalidParameter(DockyardError):
    status = 400


class NotFound(DockyardError):
    status = 404


class Conflict(DockyardError):
    status = 409


class Forbidden(DockyardError):
    status = 403


class Unavailable(DockyardError):
    status = 503


class NotImplementedKind(DockyardError):
    status = 501


class Internal(DockyardError):
    status = 500


class KernelError(Internal):
    """A kernel operation failed; the message says which object, netns and step."""


def exit_code(err: DockyardError) -> int:
    """The CLI exit status for an error, as the docker CLI would give it (1 for all daemon errors,
    125 reserved for the CLI's own failures to run a container)."""
    return 1
