from __future__ import annotations

import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest

from dockyard.compose import Project, load_project

Write = Callable[[str, str], Path]
Load = Callable[..., Project]


@pytest.fixture
def write(tmp_path: Path) -> Write:
    """Write a dedented file under the project directory and return its path."""

    def _write(name: str, text: str) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
        return path

    return _write


@pytest.fixture
def load(tmp_path: Path) -> Load:
    """Load the project in tmp_path with an explicit (default empty) environment."""

    def _load(
        files: Sequence[str] = (),
        environ: Mapping[str, str] | None = None,
        **kwargs: object,
    ) -> Project:
        paths = [str(tmp_path / f) for f in files]
        return load_project(
            paths, working_dir=tmp_path, environ=dict(environ or {}), **kwargs  # type: ignore[arg-type]
        )

    return _load
