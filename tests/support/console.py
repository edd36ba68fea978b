"""What the tests read in console output: a record line as the echo and `tail` render it, and
the colour codes to strip from it."""

from __future__ import annotations

import re

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TIME = r"\d\d:\d\d:\d\d\.\d{3}"  # a rendered record starts with its time of day
RECORD = re.compile(rf"^{TIME} ")


def record_line(rest: str) -> re.Pattern[str]:
    """A rendered record: its time, then `rest` (a pattern) to the end of the line."""
    return re.compile(rf"^{TIME} {rest}$")


def plain(text: str) -> str:
    """`text` without its colour codes."""
    return ANSI.sub("", text)
