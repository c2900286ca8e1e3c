"""The Docker Engine API over a unix socket: the one place that knows Docker's JSON names."""

from __future__ import annotations

API_VERSION = "1.50"
MIN_API_VERSION = "1.24"
