"""The compose front end: load compose files into a frozen, normalised project.

Loading is pure except for reading the compose files, env files and the environment it is
handed; reconciling a project against the daemon lives elsewhere.
"""

from __future__ import annotations

from dockyard.compose.errors import ComposeError
from dockyard.compose.loader import find_compose_files, load_project
from dockyard.compose.model import Project
from dockyard.compose.render import render_config

__all__ = ["ComposeError", "Project", "find_compose_files", "load_project", "render_config"]
