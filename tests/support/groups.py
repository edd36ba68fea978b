"""The groups of tests `make test-fast` runs on one of its processes (pytest-xdist's loadgroup,
with the `xdist_group` mark): tests that need something costly in their process, so that one
process sets it up instead of each. tests/conftest.py fails a grouped test that pytest-xdist did
not put in its group."""

from __future__ import annotations

import pytest

# Tests that run code fresh (tests/support/fresh.py): one server to fork from is started (~0.8 s).
FRESH = pytest.mark.xdist_group("fresh")

# Tests that import the app, the worker's Celery app or Alembic in their own process: one process
# imports them (0.9 s), not each. Their modules import them where they use them, not at the top,
# so that collecting the modules, which every process does, imports none of them.
IMPORTS_THE_APP = pytest.mark.xdist_group("app")
