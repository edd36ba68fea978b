# The commands a developer types; CI runs `make test` through .ci/run.
SHELL := /bin/bash
.DEFAULT_GOAL := help
BIN := .venv/bin
COMPOSE := scripts/compose.sh
# The production settings `make up` deploys with (scripts/compose.sh reads the same variable).
export ENV_FILE ?= .env.production
STACK := fastapi-stack
# The project's own modules keep their compiled bytecode (in __pycache__, which git ignores) even
# where PYTHONDONTWRITEBYTECODE is set, as many containers set it: without it each pytest process
# rewrites every test module's asserts again (~0.7 s of each) and each dev process compiles the
# project from source at every start. The bootstrap compiles the .venv's once.
unexport PYTHONDONTWRITEBYTECODE

.PHONY: help bootstrap dev down status test test-fast lint fmt clean-state build up stack
.PHONY: logserver  # part: logserver
.PHONY: worker beat  # part: background
.PHONY: flower  # part: flower
.PHONY: bench bench-dev  # part: bench

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## (re)install uv, .venv from uv.lock (Postgres 18 and Valkey 9 in it), process-compose; create .env
	@bash scripts/bootstrap.sh && touch $(BIN)/.bootstrapped

# dev and test-fast bootstrap only when the lock or the bootstrap changed since the last one (an
# unchanged checkout's bootstrap still costs ~3 s of a cold start); `make bootstrap` forces it.
dev: $(BIN)/.bootstrapped ## start the whole dev stack under process-compose (Ctrl-C stops it)
	@$(BIN)/dev up

down: ## stop the running dev stack (and the compose deployment, if one runs)
	-@[ ! -x $(BIN)/dev ] || $(BIN)/dev down
	@if [ -f $(ENV_FILE) ] && $(COMPOSE) running 2>/dev/null; then $(COMPOSE) compose down; fi

status: ## show the processes of the running dev stack
	@$(BIN)/dev status

TYPED = core app scripts migrations tests
TYPED += logserver  # part: logserver
TYPED += worker  # part: background
TYPED += bench  # part: bench

# The JUnit XML report is where the dev-loop benchmark reads the suite's time from.
test: bootstrap ## run the whole test suite (starts its own Postgres, Redis, stack)
	@$(BIN)/pytest --junit-xml=.state/test/junit.xml

$(BIN)/.bootstrapped: uv.lock pyproject.toml scripts/bootstrap.sh
	@bash scripts/bootstrap.sh && touch $@

# Only the modules that mark tests fast are collected: others may do real work at import. No
# fast test uses hypothesis or schemathesis, whose pytest plugins cost ~1 s of every start. Many
# fast tests start a program and wait for it: on two processes (or up to four, one per core) the
# tier takes about 0.6 of the time. loadgroup: the tests of a group (tests/support/groups.py) on
# one process, which starts the server FRESH tests fork from once, and imports the app once.
test-fast: $(BIN)/.bootstrapped ## the tests that need no server, service or container (marker fast)
	@$(BIN)/pytest -m fast -q -p no:hypothesispytest -p no:schemathesis \
		-n auto --maxprocesses 4 --dist loadgroup $$(grep -rlE --include='test_*.py' 'mark\.fast\b' tests)

lint: bootstrap ## ruff, mypy, the import layers (import-linter) and the dependencies (deptry)
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy $(TYPED) \
		&& $(BIN)/lint-imports --no-cache && $(BIN)/deptry .

fmt: bootstrap ## format and fix what ruff can
	@$(BIN)/ruff format . && $(BIN)/ruff check --fix .

# part: background
worker: ## run the Celery worker alone in the foreground (reloads on change; ARGS="--pool solo")
	@$(BIN)/dev run worker $(ARGS)

beat: ## run Celery beat alone in the foreground (schedule under .state/celery)
	@$(BIN)/dev run beat $(ARGS)
# end part: background

# part: flower
flower: ## run Flower alone in the foreground on 127.0.0.1:FLOWER_PORT (read-only)
	@$(BIN)/dev run flower $(ARGS)
# end part: flower

# part: logserver
logserver: ## run the log server alone in the foreground
	@$(BIN)/dev run logserver $(ARGS)
# end part: logserver

# part: bench
bench: bootstrap ## wrk against the api (production settings), a raw ASGI baseline and the peer (plain FastAPI); WORKERS=n for more
	@$(BIN)/python -m bench

bench-dev: bootstrap ## dev-loop figures: cold start, reload after an edit, worker restart, log server records/s
	@$(BIN)/python -m bench --dev-loop
# end part: bench

$(ENV_FILE):
	@echo "make up needs $(ENV_FILE): cp .env.production.example $(ENV_FILE), then change every CHANGE-ME" >&2; exit 1

# build, up and down use Docker when its daemon answers, else Podman (its API socket, with the
# compose CLI from .venv); ENGINE=docker or ENGINE=podman chooses (scripts/compose.sh).
build: ## build the production image (Dockerfile, target runtime) that compose.yaml runs; ENGINE=docker|podman
	@$(COMPOSE) build

up: $(ENV_FILE) ## start the production deployment (compose.yaml) and wait until every service is healthy
	@$(COMPOSE) compose up --detach --wait

stack: ## deploy compose.yaml to a Docker Swarm (after docker swarm init; APP_IMAGE in a registry); SWARM_MESH=off, RESOLVE_IMAGE=never
	@$(BIN)/python -m scripts.swarm $(STACK)

clean-state: ## remove everything a running stack wrote (.state/)
	rm -rf .state
