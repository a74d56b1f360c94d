"""A DSL run's stream as a readable outline, for tests that compare event orders over HTTP."""

from __future__ import annotations

from typing import Any


def outline(events: list[dict[str, Any]]) -> list[str]:
    """Node events as `started TITLE` / `finished TITLE`, each run of chunks folded into one `chunk*`,
    every other event by its name."""
    out: list[str] = []
    for e in events:
        name, data = e["event"], e.get("data") or {}
        if name in ("node_started", "node_finished"):
            out.append(f"{name.split('_')[1]} {data['title']}")
        elif name in ("text_chunk", "message"):
            if out[-1:] != ["chunk*"]:
                out.append("chunk*")
        else:
            out.append(name)
    return out
