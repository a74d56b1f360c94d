"""Near misses for run-time mistakes (a fault, a parameter, a scenario or a filter name): the closest
known names, as `lint` offers them for fixture files."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def closest(word: str, options: Iterable[str], n: int = 1) -> list[str]:
    """Up to `n` known names close to `word`, closest first."""
    return difflib.get_close_matches(word, sorted(set(options)), n=n)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a known name is close to `word`, else ``."""
    found = closest(word, options)
    return f" (did you mean '{found[0]}'?)" if found else ""
