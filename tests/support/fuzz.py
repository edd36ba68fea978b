"""The bounds and the seed of the suite's generative API test (tests/app/test_api_contract.py)."""

from __future__ import annotations

import os
import random

EXAMPLES = int(os.environ.get("API_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("API_FUZZ_SEED") or random.randrange(2**32))
REPLAY = f"API_FUZZ_SEED={SEED} replays this run"
