"""pytest's own summary line ("4 failed, 13 passed, 2 skipped, 1 xpassed, 3 errors in 0.65s") as counts: the
independent reference the recorded counts are compared with."""

from __future__ import annotations

import re

_LINE = re.compile(r"^=*\s*(?P<body>(?:\d+ \w+(?:, )?)+) in [\d.]+s")
_WORDS = {
    "passed": "passed",
    "failed": "failed",
    "error": "error",
    "errors": "error",
    "skipped": "skipped",
    "xfailed": "xfailed",
    "xpassed": "xpassed",
}


def summary_counts(output: str) -> dict[str, int]:
    """The counts of the last summary line in ``output`` (deselected and warnings left out)."""
    lines = [m.group("body") for line in output.splitlines() if (m := _LINE.match(line.strip()))]
    assert lines, f"no pytest summary line in:\n{output[-2000:]}"
    counts = dict.fromkeys(("passed", "failed", "error", "skipped", "xfailed", "xpassed"), 0)
    for number, word in re.findall(r"(\d+) (\w+)", lines[-1]):
        if word in _WORDS:
            counts[_WORDS[word]] += int(number)
    return counts
