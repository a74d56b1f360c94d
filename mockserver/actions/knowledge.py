"""What every Knowledge API action shares: the workspace owner a knowledge key acts as, and the
dataset a `{dataset_id}` route names (controllers/service_api/wraps.py validate_dataset_token and
the resources' own lookups, REFERENCE §10.1)."""

from __future__ import annotations

from typing import Final

from mockserver.actions import ActContext
from mockserver.determinism import derive_uuid
from mockserver.errors import DifyError
from mockserver.state.knowledge import Dataset, Document

DATASET_API_OFF: Final = "Dataset api access is not enabled."


def owner_email(ctx: ActContext) -> str:
    """The workspace owner: the first account of _apps.yaml (a knowledge key acts as the owner)."""
    return min(ctx.accounts) if ctx.accounts else "admin@example.com"


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
