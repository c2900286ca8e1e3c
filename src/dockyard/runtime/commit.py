"""``docker commit``: a container's changes become a new image on top of its own.

The new image is the container's image plus one layer, the container's upper directory
(:mod:`dockyard.runtime.layer_tar`), and its config is the container's run config, with
what the request's ``config`` sets over it and then the ``--change`` instructions.
A running container is frozen for the copy unless the caller says not to (dockerd's
``pause``, default true), so that the layer is one moment of its files.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from dockyard.images.changes import apply_changes
from dockyard.images.config import RunConfig
from dockyard.runtime.container import RUNNING, Container
from dockyard.runtime.inspect import config_doc
from dockyard.runtime.layer_tar import write_upper_layer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from dockyard.runtime.manager import ContainerManager


def commit_container(
    manager: ContainerManager,
    ref: str,
    *,
    tags: Sequence[str] = (),
    comment: str = "",
    author: str = "",
    changes: Sequence[str] = (),
    pause: bool = True,
    config: Mapping[str, Any] | None = None,
) -> tuple[Container, str]:
    """(the container, the new image's id)."""
    c = manager.get(ref)
    run_config = dict(config_doc(c))
    # Fields the request sets replace the container's own, as dockerd merges them.
    run_config.update({k: v for k, v in (config or {}).items()
                       if v not in (None, "", [], {}, False)})
    run_config = apply_changes(RunConfig.from_go(run_config), changes).to_go()
    upper = os.path.join(manager.container_dir(c.id), "upper")
    with _frozen(manager, c, pause), tempfile.TemporaryFile(dir=manager.images.tmp_root) as spool:
        write_upper_layer(upper, spool)
        spool.seek(0)
        image = manager.images.commit(
            c.image_id, spool, run_config, created_by=" ".join(c.argv), comment=comment,
            author=author, container=c.id, tags=tags)
    return c, image


@contextlib.contextmanager
def _frozen(manager: ContainerManager, c: Container, pause: bool) -> Iterator[None]:
    """The container paused for the block when it runs and is not paused already."""
    if not pause or c.state.status != RUNNING or c.state.paused:
        yield
        return
    manager.pause(c.id)
    try:
        yield
    finally:
        with contextlib.suppress(Exception):
            manager.unpause(c.id)
