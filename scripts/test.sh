#!/usr/bin/env bash
# The whole check, as CI runs it: lint, types, then every test (root tests need root).
set -euo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check src tests bench
.venv/bin/mypy
# pytest exits 5 when it ran no test; that is a failure here, not a pass.
.venv/bin/pytest -q -p no:cacheprovider "$@"
