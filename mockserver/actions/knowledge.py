"""What every Knowledge API action shares: the workspace owner a knowledge key acts as, and the
dataset a `{dataset_id}` route names (controllers/service_api/wraps.py validate_dataset_token and
the resources' own lookups, REFERENCE §10.1)."""

from __future__ import annotations

from typing import Any, Final

from mockserver.actions import ActContext
from mockserver.determinism import derive_uuid
from mockserver.dify.indexing import Progress, progress
from mockserver.errors import DifyError
from mockserver.state.knowledge import Dataset, Document

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


def the_dataset(ctx: ActContext) -> None:
    """The route's dataset in the key's workspace, else 404 "Dataset not found."; a dataset whose API
    access is off is 403 (wraps.py: the lookup, then `enable_api`)."""
    wanted = ctx.call.path["dataset_id"].lower()
    dataset = ctx.tenant.state.datasets.require(wanted)
    if not dataset.enable_api:
        raise DifyError("forbidden", DATASET_API_OFF)
    ctx.bound["dataset"] = dataset


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


def available(ctx: ActContext, document: Document) -> bool:
    """Dify's `available` display status: indexed, enabled and not archived."""
    return document.enabled and not document.archived and progress_of(ctx, document).completed


def retrieval_dump(given: dict[str, Any]) -> dict[str, Any]:
    """RetrievalModel.model_dump(), as a dataset stores the model it is given: every field in
    declaration order, an absent one None (services/entities/knowledge_entities)."""
    keys = ("search_method", "reranking_enable", "reranking_model", "reranking_mode", "top_k")
    return {k: given.get(k) for k in (*keys, "score_threshold_enabled", "score_threshold", "weights")}
