"""journal.verdict(): how the client behaved under failure, as named findings with the requests behind them.

A *retry* is a request with the same method, path and body (headers ignored) sent within 60 s after a
failed response to it; a failure is an HTTP status >= 400, a dropped connection, or a stream that was
cut, errored or stalled."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from typing import Any, Final

from msgspec import Struct, field

from mockserver import jsonsafe

RETRY_WINDOW_S: Final = 60.0
FIRST_RETRY_MIN_S: Final = 0.1
# Timers and the journal's clock are not exact: a client that waits exactly Retry-After, or keeps its
# delay constant, must not be flagged because of a few milliseconds.
SLACK_S: Final = 0.05
SHRINK_RATIO: Final = 0.9
_FAILED_OUTCOMES: Final = frozenset({"cut", "error", "stalled"})
_RETRYABLE_CLIENT: Final = frozenset({408, 429})
_CHAT_ENDPOINT: Final = "service.send_chat_message"


class Finding(Struct, frozen=True):
    name: str  # retry_after_ignored | no_backoff | retried_client_error | retry_budget_exceeded | conversation_lost
    message: str
    requests: list[int]  # journal entry ids behind it

    def __str__(self) -> str:
        return f"{self.name}: {self.message} (requests {', '.join(map(str, self.requests))})"


class Verdict(Struct, frozen=True):
    findings: list[Finding] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    def named(self, name: str) -> list[Finding]:
        return [f for f in self.findings if f.name == name]

    def __bool__(self) -> bool:
        return self.ok

    def assert_ok(self) -> None:
        """Raise AssertionError worded as `str(verdict)`: `assert verdict.ok, verdict` shows pytest's
        cut-short repr of the struct instead."""
        if not self.ok:
            raise AssertionError(f"the client's failure handling has {len(self.findings)} finding(s):\n{self}")

    def __str__(self) -> str:
        return "no findings" if self.ok else "\n".join(map(str, self.findings))


def failed(entry: dict[str, Any]) -> bool:
    return (entry.get("status") or 0) >= 400 or bool(entry.get("aborted")) or entry.get("outcome") in _FAILED_OUTCOMES


def _ended(entry: dict[str, Any]) -> float:
    return float(entry["time"]) + float(entry.get("duration_ms") or 0.0) / 1000.0


def _identity(entry: dict[str, Any]) -> tuple[str, str, str, str]:
    return (str(entry.get("tenant")), entry["method"], entry["path"], jsonsafe.dumps(entry.get("body")).decode())


def retry_chains(entries: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """Chains of one request and its retries: each next one follows a failure of the previous within 60 s."""
    chains: list[list[dict[str, Any]]] = []
    open_chains: dict[tuple[str, str, str, str], list[dict[str, Any]]] = {}
    for entry in sorted(entries, key=lambda e: (e["time"], e["id"])):
        key = _identity(entry)
        chain = open_chains.get(key)
        if chain is not None and failed(chain[-1]) and entry["time"] - _ended(chain[-1]) <= RETRY_WINDOW_S:
            chain.append(entry)
            continue
        chain = [entry]
        chains.append(chain)
        open_chains[key] = chain
    return chains


def verdict(entries: Iterable[dict[str, Any]], retry_budget: int = 5) -> Verdict:
    ordered = sorted(entries, key=lambda e: (e["time"], e["id"]))
    findings: list[Finding] = []
    for chain in retry_chains(ordered):
        findings.extend(_chain_findings(chain, retry_budget))
    findings.extend(_conversation_findings(ordered))
    return Verdict(findings)


def _chain_findings(chain: list[dict[str, Any]], budget: int) -> list[Finding]:
    out = []
    label = f"{chain[0]['method']} {chain[0]['path']}"
    gaps = []
    for before, retry in itertools.pairwise(chain):
        gap = retry["time"] - _ended(before)
        gaps.append(gap)
        if before.get("retry_after") is not None and gap + SLACK_S < before["retry_after"]:
            out.append(
                Finding(
                    "retry_after_ignored",
                    f"{label} retried {gap:.2f}s after a {before['status']} that "
                    f"said Retry-After: {before['retry_after']}",
                    [before["id"], retry["id"]],
                )
            )
        status = before.get("status") or 0
        if 400 <= status < 500 and status not in _RETRYABLE_CLIENT:
            out.append(
                Finding(
                    "retried_client_error",
                    f"{label} retried after a {status}: the request itself was "
                    "refused, sending it again cannot succeed",
                    [before["id"], retry["id"]],
                )
            )
    ids = [e["id"] for e in chain]
    if gaps and gaps[0] < FIRST_RETRY_MIN_S:
        out.append(
            Finding(
                "no_backoff",
                f"{label}: first retry {gaps[0] * 1000:.0f} ms after the failure "
                f"(under {FIRST_RETRY_MIN_S * 1000:.0f} ms)",
                ids,
            )
        )
    elif any(later < earlier * SHRINK_RATIO for earlier, later in itertools.pairwise(gaps)):
        shown = ", ".join(f"{g:.2f}s" for g in gaps)
        out.append(Finding("no_backoff", f"{label}: the gaps between retries shrink ({shown})", ids))
    if len(chain) - 1 > budget:
        out.append(Finding("retry_budget_exceeded", f"{label} retried {len(chain) - 1} times (budget {budget})", ids))
    return out


def _conversation_findings(ordered: list[dict[str, Any]]) -> list[Finding]:
    out = []
    pending: dict[str, dict[str, Any]] = {}  # tenant -> the broken chat stream that named a conversation
    for entry in ordered:
        if entry.get("endpoint") != _CHAT_ENDPOINT:
            continue
        tenant = str(entry.get("tenant"))
        broken = pending.pop(tenant, None)
        raw_body = entry.get("body")
        body: dict[str, Any] = raw_body if isinstance(raw_body, dict) else {}
        if broken is not None and not (body.get("conversation_id") or "").strip():
            out.append(
                Finding(
                    "conversation_lost",
                    f"the chat stream {broken['id']} broke after sending conversation "
                    f"{broken['conversation_id']}, and the next chat started over without it",
                    [broken["id"], entry["id"]],
                )
            )
        sent_conversation = entry.get("conversation_id") and entry.get("events")
        if entry.get("outcome") in ("cut", "error") and sent_conversation:
            pending[tenant] = entry
    return out
