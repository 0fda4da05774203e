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

# shellcheck source=scripts/_venv.sh
. scripts/_venv.sh
ensure_venv requirements.txt .installed-run .installed-dev  # the tests' install is a superset

export FLASK_APP=app
echo "==> Bringing the database schema up to date" >&2
.venv/bin/flask --app app db upgrade heads  # "heads": services may add migration branches of their own
echo "==> Loading the demo department and demo accounts" >&2
.venv/bin/flask --app app demo load
echo "==> Portal on http://${HOST}:${PORT}/ (Ctrl-C to stop)" >&2
exec .venv/bin/flask --app app run --host "$HOST" --port "$PORT"
