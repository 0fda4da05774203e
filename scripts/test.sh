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

find_python() {
    local candidate
    for candidate in python3.11 python3; do
        if command -v "$candidate" >/dev/null 2>&1 \
            && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
            echo "$candidate"
            return 0
        fi
    done
    echo "error: Python 3.11 or newer is needed (python3.11 or python3 on PATH)" >&2
    return 1
}

requirements_hash() {
    cat requirements.txt requirements-dev.txt pyproject.toml | sha256sum | cut -d' ' -f1
}

quietly() {  # run a command, show its output only if it fails
    local log rc=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || cat "$log" >&2
    rm -f "$log"
    return "$rc"
}

install() {
    local stamp=.venv/.installed-dev wanted
    if [ ! -x .venv/bin/python ]; then
        echo "==> Creating the virtualenv .venv" >&2
        "$(find_python)" -m venv .venv
    fi
    wanted="$(requirements_hash)"
    if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
        return 0
    fi
    echo "==> Installing requirements-dev.txt and the project into .venv (quiet; takes a minute the first time)" >&2
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    quietly .venv/bin/python -m pip install -q -r requirements-dev.txt
    quietly .venv/bin/python -m pip install -q --no-deps -e .
    echo "$wanted" > "$stamp"
}

install
exec .venv/bin/python -m pytest "$@"
