"""What drawn faults do to one response: an HTTP error, a dropped connection, a delivery shape,
or a stream fault placed among the stream's events."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final, Literal

from msgspec import Struct, field

from mockserver.errors import DifyError
from mockserver.faults.delivery import Abort, Delivery, latency_seconds
from mockserver.faults.draw import Drawn
from mockserver.faults.spec import FaultSpec

# stream_error: given the index of the first unsent event, its scheduled time and the fault's parameters,
# the events Dify sends for the failure and the seconds the stream then idles before it ends.
FailureTail = Callable[[int, float, dict[str, Any]], tuple[list[dict[str, Any]], float]]


# Made and read within one request: read-only by type (Final), which mypy enforces.
class StreamFault(Struct, eq=False):
    """A stream fault as it applies to one stream: what strikes, and after which event."""

    kind: Final[Literal["stream_cut", "stream_error", "stream_malformed", "stream_stall"]]
    after: Final[int]  # data events sent before it strikes (pings never count)
    tail: Final[FailureTail | None] = None  # stream_error
    params: Final[dict[str, Any]] = field(default_factory=dict)
    form: Final[str] = "json"  # stream_malformed
    stall_s: Final[float] = 30.0  # stream_stall: then the connection closes
    ping_s: Final[float] = 10.0


def delivery(drawn: Drawn, rng: Callable[[], Any]) -> Delivery:
    """The delivery the drawn faults ask for; `rng()` (seeding one costs ~5 us) only for a latency."""
    latency, dribble, source = 0.0, None, None
    for candidate in drawn.shapers:
        params = candidate.fault.params
        if candidate.fault.kind == "latency":
            source = source or rng()  # one sequence for every latency fault of the request
            latency += latency_seconds(params, source)
        else:
            dribble = (max(1, int(params.get("bytes", 16))), float(params.get("ms", 50)) / 1000.0)
    main = drawn.main.fault.kind if drawn.main else None
    abort: Abort | None = "reset" if main == "reset" else "empty" if main == "empty" else None
    return Delivery(latency, dribble, abort)


def http_error(drawn: Drawn) -> DifyError | None:
    if drawn.main is None or drawn.main.fault.kind != "http":
        return None
    fault = drawn.main.fault
    assert fault.code is not None
    retry_after = drawn.retry_after()
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    return DifyError(fault.code, fault.params.get("message"), status=fault.status(), headers=headers)


def stream_fault(fault: FaultSpec | None, events: list[dict[str, Any]], tail: FailureTail) -> StreamFault | None:
    """The stream fault placed after its `after` data events, or after the events of node `after_node`."""
    if fault is None or not fault.kind.startswith("stream_"):
        return None
    params = fault.params
    after = int(params.get("after", 1))
    if "after_node" in params:
        data = [e for e in events if e.get("event") != "ping" or len(e) > 1]
        finished = [i for i, e in enumerate(data) if e["event"] == "node_finished"]
        nodes = [data[i].get("data", {}).get("node_id") for i in finished]
        if params["after_node"] not in nodes:
            known = ", ".join(dict.fromkeys(str(n) for n in nodes)) or "none"
            raise DifyError(
                "mock_invalid_fault",
                f"after_node={params['after_node']}: this stream has no such node (its nodes: {known})",
            )
        after = max(i for i, node in zip(finished, nodes, strict=True) if node == params["after_node"]) + 1
    return StreamFault(
        kind=fault.kind,  # type: ignore[arg-type]
        after=after,
        tail=tail if fault.kind == "stream_error" else None,
        params=params,
        form=params.get("form", "json"),
        stall_s=float(params.get("ms", 30000)) / 1000.0,
        ping_s=float(params.get("ping_ms", 10000)) / 1000.0,
    )
