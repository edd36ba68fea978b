#!/usr/bin/env bash
# Installs what the dev stack and the tests need, one line a step:
# uv and the locked Python packages, process-compose, Postgres and Redis binaries, and `.env`.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root=$PWD
tools="$root/.tools"

# The versions every environment pins (flake.nix, Dockerfile, devcontainer, pyproject agree; a test checks).
PYTHON_MINOR=3.11
POSTGRES_MAJOR=15
REDIS_MAJOR=7
PROCESS_COMPOSE_VERSION=v1.94.0
# Tried in order when the Go module proxy refuses the pinned release (some mirrors serve only older ones).
PROCESS_COMPOSE_FALLBACKS="v1.87.0"
PROCESS_COMPOSE_MODULE=github.com/f1bonacc1/process-compose

step() { printf '==> %s\n' "$*"; }
fail() { printf 'bootstrap: error: %s\n' "$*" >&2; exit 1; }
is_root() { [[ $(id -u) -eq 0 ]]; }

apt_install() {
    # Installs Debian packages without letting their scripts start system services on our ports.
    local policy=/usr/sbin/policy-rc.d created=""
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created=1
    fi
    mkdir -p /etc/postgresql-common
    [[ -e /etc/postgresql-common/createcluster.conf ]] ||
        echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.conf
    local rc=0
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@"; } \
        >"$tools/apt.log" 2>&1 || rc=$?
    [[ -n $created ]] && rm -f "$policy"
    [[ $rc -eq 0 ]] || fail "apt-get install $* failed (see $tools/apt.log)"
}

find_python() {
    local candidate
    for candidate in "python$PYTHON_MINOR" python3; do
        if command -v "$candidate" >/dev/null &&
            "$candidate" -c "import sys; sys.exit(sys.version_info[:2] != tuple(map(int, '$PYTHON_MINOR'.split('.'))))"; then
            command -v "$candidate"
            return
        fi
    done
    fail "Python $PYTHON_MINOR not found: install it (apt-get install python$PYTHON_MINOR python$PYTHON_MINOR-venv, or use 'nix develop')"
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
    # downloading the exact version and building it needs only that version.
    local version=$1 dir
    dir=$(go mod download -json "$PROCESS_COMPOSE_MODULE@$version" 2>/dev/null |
        "$python" -c 'import json, sys; print(json.load(sys.stdin).get("Dir", ""))') || return 1
    [[ -n $dir ]] || return 1
    step "building process-compose $version with go (about a minute on a new machine)"
    (cd "$dir" && CGO_ENABLED=0 go build -o "$tools/bin/process-compose" \
        -ldflags "-s -w -X $PROCESS_COMPOSE_MODULE/src/config.Version=$version" .) \
        >"$tools/go-build.log" 2>&1 || fail "go build of process-compose failed (see $tools/go-build.log)"
    cp "$dir/schemas/process-compose-schema.json" "$tools/process-compose-schema.json"
    chmod u+w "$tools/process-compose-schema.json"
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
    command -v go >/dev/null || fail "process-compose is missing and Go is not installed to build it: \
install process-compose $PROCESS_COMPOSE_VERSION (https://f1bonacc1.github.io/process-compose/installation/) or Go, or use 'nix develop'"
    mkdir -p "$tools/bin"
    local version
    for version in $PROCESS_COMPOSE_VERSION $PROCESS_COMPOSE_FALLBACKS; do
        if build_process_compose "$version"; then
            [[ $version == "$PROCESS_COMPOSE_VERSION" ]] ||
                step "note: the Go module proxy refused process-compose $PROCESS_COMPOSE_VERSION; installed $version"
            return
        fi
    done
    fail "the Go module proxy refused every process-compose version tried ($PROCESS_COMPOSE_VERSION $PROCESS_COMPOSE_FALLBACKS): \
install process-compose by hand (https://f1bonacc1.github.io/process-compose/installation/)"
}

ensure_postgres() {
    local bindir=/usr/lib/postgresql/$POSTGRES_MAJOR/bin
    if command -v postgres >/dev/null || [[ -x $bindir/postgres ]]; then
        step "postgres: $(command -v postgres || echo "$bindir/postgres")"
        return
    fi
    is_root && command -v apt-get >/dev/null ||
        fail "Postgres $POSTGRES_MAJOR is missing: install it (sudo apt-get install postgresql-$POSTGRES_MAJOR) or use 'nix develop'"
    step "installing postgresql-$POSTGRES_MAJOR with apt-get"
    apt_install "postgresql-$POSTGRES_MAJOR"
}

ensure_redis() {
    if command -v redis-server >/dev/null; then
        step "redis: $(command -v redis-server)"
        return
    fi
    is_root && command -v apt-get >/dev/null ||
        fail "redis-server is missing: install it (sudo apt-get install redis-server) or use 'nix develop'"
    step "installing redis-server with apt-get"
    apt_install redis-server
}

ensure_env_file() {
    if [[ ! -e .env ]]; then
        cp .env.example .env
        step "created .env from .env.example"
    fi
}

mkdir -p "$tools"
python=$(find_python)
ensure_uv
sync_python_packages
ensure_process_compose
ensure_postgres
ensure_redis
ensure_env_file
step "bootstrap done"
