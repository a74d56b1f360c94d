"""Near misses for run-time mistakes (a fault, a parameter, a scenario or a filter name): the closest
known names, as `lint` offers them for fixture files."""

from __future__ import annotations

from collections.abc import Iterable


def close_matches(word: str, options: Iterable[str], n: int = 1, cutoff: float = 0.6) -> list[str]:
    """difflib's close matches of `word` among `options`, best first. difflib is imported by the first
    near miss: a start-up without one does not load it."""
    import difflib

    return difflib.get_close_matches(word, list(options), n=n, cutoff=cutoff)


def closest(word: str, options: Iterable[str], n: int = 1) -> list[str]:
    """Up to `n` known names close to `word`, closest first."""
    return close_matches(word, sorted(set(options)), n=n)


def did_you_mean(word: str, options: Iterable[str]) -> str:
    """` (did you mean 'x'?)` when a known name is close to `word`, else ``."""
    found = closest(word, options)
    return f" (did you mean '{found[0]}'?)" if found else ""


def suggest(word: str, options: Iterable[str]) -> str:
    """` (did you mean 'x'?)` for a near miss, else ` (known: ...)` for a short list, else ``: for
    closed vocabularies (fixture keys, x-endpoint words) where listing the choices helps."""
    ordered = sorted(set(options))
    close = close_matches(word, ordered)
    if close:
        return f" (did you mean '{close[0]}'?)"
    return f" (known: {', '.join(ordered)})" if len(ordered) <= 12 else ""
