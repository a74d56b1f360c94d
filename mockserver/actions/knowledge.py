"""What every Knowledge API action shares: the workspace owner a knowledge key acts as, and the
dataset a `{dataset_id}` route names (controllers/service_api/wraps.py validate_dataset_token and
the resources' own lookups, REFERENCE §10.1)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Final, TypeVar

from mockserver.actions import ActContext
from mockserver.determinism import derive_uuid
from mockserver.dify.indexing import Progress, progress
from mockserver.dify.versions import compare
from mockserver.errors import DifyError
from mockserver.state import pagination
from mockserver.state.knowledge import Dataset, Document
from mockserver.state.store import Store

T = TypeVar("T")

DATASET_API_OFF: Final = "Dataset api access is not enabled."


def owner_email(ctx: ActContext) -> str:
    """The workspace owner: the first account of _apps.yaml (a knowledge key acts as the owner)."""
    return next(iter(ctx.accounts), "admin@example.com")


def owner_name(ctx: ActContext) -> str:
    """The owner's Account.name (a dataset's `author_name`)."""
    return ctx.accounts.get(owner_email(ctx), "admin")


def account_id(ctx: ActContext) -> str:
    """The workspace owner's account id, stable for the tenant and seed."""
    return derive_uuid((ctx.tenant.seed, ctx.tenant.id, "account", owner_email(ctx)))


def api_dataset(state: Store, wanted: str) -> Dataset:
    """A `{dataset_id}` route's dataset in the key's workspace, else 404 "Dataset not found."; a dataset
    whose API access is off is 403 (wraps.py validate_dataset_token: the lookup, then `enable_api`)."""
    dataset = state.datasets.require(wanted.lower())
    if not dataset.enable_api:
        raise DifyError("forbidden", DATASET_API_OFF)
    return dataset


def the_dataset(ctx: ActContext) -> None:
    """Bind the route's dataset: the one the Dify stage's auth found (validate_dataset_token runs before
    the handler), else (a call that did not pass through it) looked up now, with the same refusals."""
    found = ctx.dataset if ctx.dataset is not None else api_dataset(ctx.tenant.state, ctx.call.path["dataset_id"])
    ctx.bound["dataset"] = found


def dataset_of(ctx: ActContext) -> Dataset:
    found: Dataset = ctx.bound["dataset"]
    return found


def the_document(ctx: ActContext) -> None:
    """The route's document of the bound dataset, else the documents collection's 404."""
    wanted = ctx.call.path["document_id"].lower()
    ctx.bound["document"] = ctx.tenant.state.documents.require(wanted, dataset_id=dataset_of(ctx).id)


def document_of(ctx: ActContext) -> Document:
    found: Document = ctx.bound["document"]
    return found


def progress_of(ctx: ActContext, document: Document) -> Progress:
    """Where the document's indexing is at this request's mock time (dify/indexing.py)."""
    plan = document.indexing
    start = plan.started_at if plan.started_at is not None else document.created_at
    return progress(start, ctx.now, plan.polls, plan.outcome, plan.at)


def updated_at(ctx: ActContext, document: Document) -> int:
    """Document.updated_at: every write of the indexing worker moves it too (the column's onupdate)."""
    found = progress_of(ctx, document)
    stamps = [document.updated_at or document.created_at, *found.times.values()]
    stamps += [t for t in (found.stopped_at, found.paused_at) if t is not None]
    return max(stamps)


def available(ctx: ActContext, document: Document) -> bool:
    """Dify's `available` display status: indexed, enabled and not archived."""
    return document.enabled and not document.archived and progress_of(ctx, document).completed


def paged(ctx: ActContext, rows: Sequence[T], render: Callable[[T], Any]) -> tuple[list[T], dict[str, Any]]:
    """The dataset and document lists' page and envelope: flask-sqlalchemy's paginate to 1.15 (a
    per_page below 1 is 20), paginate_query from 1.16 (at least 1); the request's page and limit are
    echoed as given. Returns the page's rows too (a document list's poll moves them)."""
    p = ctx.call.params
    page, limit = int(p.get("page", 1)), int(p.get("limit", 20))
    floor = 1 if compare(ctx.call.release.name, ">=1.16") else 20
    found = pagination.paginate(rows, page, limit, floor)
    return list(found.items), pagination.echoed([render(r) for r in found.items], found, page, limit)


def retrieval_dump(given: dict[str, Any]) -> dict[str, Any]:
    """RetrievalModel.model_dump(), as a dataset stores the model it is given: every field in
    declaration order, an absent one None (services/entities/knowledge_entities)."""
    keys = ("search_method", "reranking_enable", "reranking_model", "reranking_mode", "top_k")
    return {k: given.get(k) for k in (*keys, "score_threshold_enabled", "score_threshold", "weights")}
