"""`make bench` and `make bench-dev` (`python -m bench`): what the stack costs and how long the dev
loop waits. Outside the wheel and the dev CLI; the tests run it as a program, never import it."""

from scripts.launch import LaunchError


class BenchError(LaunchError):
    """The bench cannot go on: one line saying why (and where the logs are)."""
