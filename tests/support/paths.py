"""Where the tests find the project's programs and keep their state."""

from core.settings import ROOT

DEV = str(ROOT / ".venv" / "bin" / "dev")
TEST_STATE = ROOT / ".state" / "test"
