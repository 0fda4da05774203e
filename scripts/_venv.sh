# Shared by scripts/run.sh and scripts/test.sh (sourced, not run): the project's virtualenv in .venv/.
#
#   ensure_venv REQUIREMENTS_FILE STAMP_NAME [ACCEPTED_STAMP…]
# creates .venv with python3.11 (or python3 >= 3.11) when absent, then installs the lock of REQUIREMENTS_FILE
# (requirements.txt → requirements.lock: the whole tree, each package checked against its hash with
# --require-hashes; scripts/lock.sh writes the locks) and the project (editable) unless .venv/STAMP_NAME — or one of
# the ACCEPTED_STAMPs, installs of a superset — already holds the hash of requirements*.txt, the locks and
# pyproject.toml. pip's output is shown only when it fails.

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
    cat requirements.txt requirements-dev.txt requirements.lock requirements-dev.lock pyproject.toml 2>/dev/null \
        | sha256sum | cut -d' ' -f1
}

quietly() {  # run a command, show its output only if it fails
    local log rc=0
    log="$(mktemp)"
    "$@" >"$log" 2>&1 || rc=$?
    [ "$rc" -eq 0 ] || cat "$log" >&2
    rm -f "$log"
    return "$rc"
}

ensure_venv() {
    local requirements="$1" stamp_name="$2" wanted stamp
    shift 2
    if [ ! -x .venv/bin/python ]; then
        echo "==> Creating the virtualenv .venv" >&2
        "$(find_python)" -m venv .venv
    fi
    wanted="$(requirements_hash)"
    for stamp in "$stamp_name" "$@"; do
        if [ -f ".venv/$stamp" ] && [ "$(cat ".venv/$stamp")" = "$wanted" ]; then
            return 0
        fi
    done
    local lock="${requirements%.txt}.lock"
    echo "==> Installing $lock and the project into .venv (quiet; takes a few minutes the first time)" >&2
    export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_INPUT=1
    quietly .venv/bin/python -m pip install -q --require-hashes -r "$lock"
    quietly .venv/bin/python -m pip install -q --no-deps -e .
    echo "$wanted" > ".venv/$stamp_name"
}
