"""Containers: create/start/stop/… over dyrun (our lean runtime) or runc, with volumes,
logs, exec and supervision.

:class:`ContainerManager` is the façade; see its module for threading and supervision.
"""

from __future__ import annotations

from dockyard.runtime.container import Container, ContainerSpec
from dockyard.runtime.manager import ContainerManager, StartError
from dockyard.runtime.volumes import Volume, VolumeStore

__all__ = ["Container", "ContainerManager", "ContainerSpec", "StartError", "Volume",
           "VolumeStore"]
