#!/usr/bin/env bash
# Regenerate the locks of the whole dependency tree, with hashes, from the direct pins of requirements*.txt:
#
#   bash scripts/lock.sh        # writes requirements.lock (runtime) and requirements-dev.lock (runtime + tests)
#
# Run it after changing requirements.txt or requirements-dev.txt, and commit the .lock files with them.
# scripts/run.sh and scripts/test.sh install from the locks with pip's --require-hashes: every package of the tree,
# direct or not, is the one whose hash the lock holds. pip-tools runs from .venv (installed there when missing).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PIP_TOOLS="pip-tools==7.6.2"
[ -x .venv/bin/python ] || { echo "no .venv yet: run bash scripts/test.sh once first" >&2; exit 1; }
.venv/bin/python -m piptools --version >/dev/null 2>&1 || .venv/bin/python -m pip install -q "$PIP_TOOLS"

compile() {  # compile SOURCE LOCK
    .venv/bin/python -m piptools compile --quiet --generate-hashes --allow-unsafe --strip-extras \
        --no-emit-index-url --no-emit-find-links --no-header --resolver=backtracking \
        --output-file "$2" "$1"
    sed -i "1i # The whole dependency tree of $1 with hashes: regenerate with bash scripts/lock.sh" "$2"
}
compile requirements.txt requirements.lock
compile requirements-dev.txt requirements-dev.lock
echo "requirements.lock and requirements-dev.lock written" >&2
