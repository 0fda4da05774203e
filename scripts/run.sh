#!/usr/bin/env bash
# Command (1) of README.md: install what is needed and start the portal on http://127.0.0.1:5000.
#
# Embedded default: SQLite in instance/, no broker (background work in-process), e-mails written to
# instance/outbox/ and logged. The demo department (the Aube) and one demo account per role are loaded and
# printed; set DEMO_PASSWORD to choose their password (otherwise a random one is printed). Every setting of
# README.md (DATABASE_URL, REDIS_URL, MAIL_SERVER, …) is read from the environment if you set one.
#
# The virtualenv is .venv/ (python3.11, or python3 >= 3.11); packages are reinstalled only when requirements*.txt
# or pyproject.toml change. PORTAL_HOST / PORTAL_PORT change the address. Stop the portal with Ctrl-C.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

HOST="${PORTAL_HOST:-127.0.0.1}"
PORT="${PORTAL_PORT:-5000}"

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
    local wanted
    if [ ! -x .venv/bin/python ]; then
        echo "==> Creating the virtualenv .venv" >&2
        "$(find_python)" -m venv .venv
    fi
    wanted="$(requirements_hash)"
    # scripts/test.sh installs a superset (requirements-dev.txt): its stamp is good enough here.
    for stamp in .venv/.installed-run .venv/.installed-dev; do
        if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$wanted" ]; then
            return 0
        fi
    done
    echo "==> Installing requirements.txt and the project into .venv (quiet; takes a minute the first time)" >&2
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    quietly .venv/bin/python -m pip install -q -r requirements.txt
    quietly .venv/bin/python -m pip install -q --no-deps -e .
    echo "$wanted" > .venv/.installed-run
}

install

export FLASK_APP=app
echo "==> Bringing the database schema up to date" >&2
.venv/bin/flask --app app db upgrade heads  # "heads": services may add migration branches of their own
echo "==> Loading the demo department and demo accounts" >&2
.venv/bin/flask --app app demo load
echo "==> Portal on http://${HOST}:${PORT}/ (Ctrl-C to stop)" >&2
exec .venv/bin/flask --app app run --host "$HOST" --port "$PORT"
