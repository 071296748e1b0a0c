#!/usr/bin/env bash
# Apply the ruff rules of pyproject.toml to the whole tree once: the safe auto-fixes, then the
# formatter. Run it after the parallel branches have merged (a tree-wide reformat on a branch
# would conflict with every other one), commit the result, and `make lint` passes from then on.
set -euo pipefail
cd "$(dirname "$0")/.."
RUFF=${RUFF:-.venv/bin/ruff}
PATHS=(attune backend worker training tests scripts migrations)
"$RUFF" check --fix "${PATHS[@]}"
"$RUFF" format "${PATHS[@]}"
"$RUFF" check "${PATHS[@]}"
"$RUFF" format --check "${PATHS[@]}"
