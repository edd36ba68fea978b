# The commands a developer types; CI runs `make test` through .ci/run.
SHELL := /bin/bash
.DEFAULT_GOAL := help
BIN := .venv/bin

.PHONY: help bootstrap dev down status test lint fmt clean-state

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

bootstrap: ## install uv, Python packages, process-compose, Postgres/Redis binaries; create .env
	@bash scripts/bootstrap.sh

dev: bootstrap ## start the whole dev stack under process-compose (Ctrl-C stops it)
	@$(BIN)/dev up

down: ## stop the running dev stack
	@$(BIN)/dev down

status: ## show the processes of the running dev stack
	@$(BIN)/dev status

test: bootstrap ## run the whole test suite (starts its own Postgres, Redis, stack)
	@$(BIN)/pytest

lint: bootstrap ## ruff and mypy
	@$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/mypy app logserver worker scripts

fmt: bootstrap ## format and fix what ruff can
	@$(BIN)/ruff format . && $(BIN)/ruff check --fix .

clean-state: ## remove everything a running stack wrote (.state/)
	rm -rf .state
