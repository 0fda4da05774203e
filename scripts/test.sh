#!/usr/bin/env bash
# Command (2) of README.md: install what the tests need, then run the whole suite.
#
#   bash scripts/test.sh            # every test, on the embedded default (SQLite, no broker)
#   bash scripts/test.sh -q -k mail # any pytest arguments are passed through
#   DATABASE_URL=postgresql://postgres@127.0.0.1:5432/extranet_test REDIS_URL=redis://127.0.0.1:6379/15 \
#     bash scripts/test.sh          # the same suite on PostgreSQL+PostGIS and Redis (what CI runs second)
#
# The virtualenv is .venv/ (created with python3.11, or python3 >= 3.11); packages are reinstalled only when
# requirements*.txt or pyproject.toml change (a hash is kept in .venv/.installed-dev).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# shellcheck source=scripts/_venv.sh
. scripts/_venv.sh
ensure_venv requirements-dev.txt .installed-dev
exec .venv/bin/python -m pytest "$@"
