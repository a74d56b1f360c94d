"""The project's DSL conformance cases (tests/dify/dsl_cases.yaml over the self-written exports in
tests/dify/dsl_files/, DSL.md §A.3): loading them and folding an outline the way the cases write it,
for the plan-level and the HTTP tests alike."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DIFY_TESTS = Path(__file__).resolve().parents[1] / "dify"
DSL_FILES = DIFY_TESTS / "dsl_files"
CASES_FILE = DIFY_TESTS / "dsl_cases.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    file: str
    inputs: dict[str, Any]
    query: str | None
    graph: dict[str, Any]
    outline: list[str]
    status: str = "succeeded"
    outputs: dict[str, Any] | None = None
    elapsed_ms: dict[str, int] = field(default_factory=dict)

    @property
    def path(self) -> Path:
        return DSL_FILES / self.file

    def document(self) -> dict[str, Any]:
        doc: dict[str, Any] = yaml.safe_load(self.path.read_text(encoding="utf-8"))
        return doc


def load_cases() -> list[Case]:
    raw = yaml.safe_load(CASES_FILE.read_text(encoding="utf-8"))
    return [
        Case(
            name=c["name"],
            file=c["file"],
            inputs=dict(c.get("inputs") or {}),
            query=c.get("query"),
            graph=dict(c.get("graph") or {}),
            outline=[str(line) for line in c["outline"]],
            status=c.get("status", "succeeded"),
            outputs=c.get("outputs"),
            elapsed_ms=dict(c.get("elapsed_ms") or {}),
        )
        for c in raw
    ]


def fold(lines: Iterable[str]) -> list[str]:
    """An outline with each run of `chunk TEXT` lines merged into one, its texts concatenated: how the
    cases write chunks (where text is flushed is Dify's behaviour; how the mock cuts it is not)."""
    out: list[str] = []
    run_open = False
    for line in lines:
        if line.startswith("chunk "):
            if run_open:
                out[-1] += line[len("chunk ") :]
            else:
                out.append(line)
            run_open = True
        else:
            out.append(line)
            run_open = False
    return out
