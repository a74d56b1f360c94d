"""Annotation routes of the Service API: list, create, update, delete, and the annotation-reply jobs
(controllers/service_api/app/annotation.py, services/annotation_service.py and
tasks/annotation/*_annotation_reply_task.py at dify 1.12.0, 1.14.2 and 1.16.1;
/work/research/annotations_audio.md §0-§6, §8, §9). A request acts as the workspace owner: no end
user, no mode guard. Annotations belong to the app; a job is found by its action and id alone, as
Dify's redis key `{action}_app_annotation_job_{job_id}` holds no app."""

from __future__ import annotations

from typing import Any, Final

from msgspec.structs import replace

from mockserver.actions import ActContext, Action
from mockserver.actions.serialize import body
from mockserver.actions.users import owner
from mockserver.dify.apps import RUN_MODES
from mockserver.errors import DifyError
from mockserver.state import pagination
from mockserver.state.records import Annotation, AnnotationJob
from mockserver.state.store import Store

JOB_TTL_S: Final = 600  # the job key of a finished task (enable/disable_annotation_reply_task.py)


def list_annotations(ctx: ActContext) -> dict[str, Any]:
    """get_annotation_list_by_app_id: created_at DESC, keyword an ILIKE with %, _ and \\ escaped (a
    case-insensitive literal substring of question or answer); the envelope echoes the request."""
    p = ctx.call.params
    page, limit = pagination.arg_int(p.get("page"), 1), pagination.arg_int(p.get("limit"), 20)
    keyword = str(p.get("keyword") or "").lower()
    rows = [
        a
        for a in ctx.tenant.state.annotations.where(app=owner(ctx)[0])
        if not keyword or keyword in a.question.lower() or keyword in a.answer.lower()
    ]
    rows.sort(key=lambda a: (a.created_at, a.created_seq), reverse=True)
    # flask-sqlalchemy 3.1.1 (error_out=False): page < 1 is 1, per_page < 1 is 20; 1.16's model refuses both before.
    found = pagination.paginate(rows, page, limit)
    return {"result": pagination.echoed([body(ctx, a) for a in found.items], found, page, limit)}


def create(ctx: ActContext) -> dict[str, Any]:
    p = ctx.call.payload
    made = Annotation(ctx.draws.uuid("annotation"), owner(ctx)[0], p["question"], p["answer"], ctx.now)
    return {"result": body(ctx, made), "annotation": made}


def _commit_create(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.annotations.add(ctx.bound["annotation"])


def _the_annotation(ctx: ActContext) -> None:
    """By id in any app of the workspace (1.12, 1.14) or in the calling app (1.16); else 404."""
    wanted = ctx.call.path["annotation_id"].lower()
    mine = {} if ctx.call.release.annotations_any_app else {"app": owner(ctx)[0]}
    ctx.bound["found"] = ctx.tenant.state.annotations.require(wanted, **mine)


def update(ctx: ActContext) -> dict[str, Any]:
    p = ctx.call.payload
    return {"result": body(ctx, replace(ctx.bound["found"], question=p["question"], answer=p["answer"]))}


def _commit_update(ctx: ActContext, _body: Any) -> None:
    found: Annotation = ctx.bound["found"]
    found.question, found.answer = ctx.call.payload["question"], ctx.call.payload["answer"]


def delete(ctx: ActContext) -> dict[str, Any]:
    return {"result": None}


def _commit_delete(ctx: ActContext, _body: Any) -> None:
    ctx.tenant.state.annotations.remove(ctx.bound["found"].id)


def last_change(state: Store, app_key: str) -> AnnotationJob | None:
    """The app's newest job that changed its AppAnnotationSetting: an enable leaves its setting, a
    disable none; without one, the app's own configuration stands."""
    return state.reply_settings.get(app_key)


def reply_parameters(ctx: ActContext) -> dict[str, Any] | None:
    """/v1/parameters `annotation_reply` as AppModelConfig.annotation_reply_dict reads the setting, for
    an app that is no workflow (theirs come from the graph); None: no job changed it."""
    app = ctx.call.app
    change = last_change(ctx.tenant.state, app.key) if app is not None and app.mode not in RUN_MODES else None
    if change is None:
        return None
    if change.action != "enable":
        return {"enabled": False}
    model = {
        "embedding_provider_name": change.embedding_provider_name,
        "embedding_model_name": change.embedding_model_name,
    }
    return {
        "id": change.setting_id,
        "enabled": True,
        "score_threshold": change.score_threshold,
        "embedding_model": model,
    }


def _has_setting(ctx: ActContext, change: AnnotationJob | None) -> bool:
    if change is not None:
        return change.action == "enable"
    app = ctx.call.app  # no change yet: a non-workflow app configured with reply on has a setting
    configured = app.root_for(ctx.call.release)["parameters"].get("annotation_reply") if app else None
    return bool(app and app.mode not in RUN_MODES and isinstance(configured, dict) and configured.get("enabled"))


def _reply_action(ctx: ActContext) -> None:
    """`match action` without a case for it leaves `result` unbound: an UnboundLocalError, Dify's 500."""
    if ctx.call.path["action"] not in ("enable", "disable"):
        raise DifyError("unknown")


def reply(ctx: ActContext) -> dict[str, Any]:
    """A new job, `waiting`. The setting changes in the commit, as the worker would: an enable creates
    or updates it (same id), a disable deletes it; a disable with none never completes."""
    action, app, p = ctx.call.path["action"], owner(ctx)[0], ctx.call.payload
    change = last_change(ctx.tenant.state, app)
    exists = _has_setting(ctx, change)
    same = change.setting_id if change is not None else ""
    job = AnnotationJob(
        id=ctx.draws.uuid("job"),
        app=app,
        action=action,
        status="waiting",
        created_at=ctx.now,
        score_threshold=float(p["score_threshold"]),
        embedding_provider_name=p["embedding_provider_name"],
        embedding_model_name=p["embedding_model_name"],
        setting_id=(same or ctx.draws.uuid("setting")) if action == "enable" else "",
        effective=action == "enable" or exists,
    )
    return {"result": body(ctx, {"job_id": job.id, "job_status": job.status}), "job": job}


def _commit_reply(ctx: ActContext, _body: Any) -> None:
    job: AnnotationJob = ctx.bound["job"]
    ctx.tenant.state.annotation_jobs.add(job)
    if job.effective:  # the app's setting outlives its jobs (which expire and are capped)
        ctx.tenant.state.reply_settings[job.app] = job


def _the_job(ctx: ActContext) -> None:
    """The key `{action}_app_annotation_job_{job_id}`: another action's job, or one whose key expired,
    does not exist (400, not 404)."""
    jobs = ctx.tenant.state.annotation_jobs
    job = jobs.get(ctx.call.path["job_id"].lower())
    gone = job is not None and job.completed_at is not None and ctx.now >= job.completed_at + JOB_TTL_S
    if job is None or job.action != ctx.call.path["action"] or gone:
        raise DifyError("invalid_param", jobs.missing)
    ctx.bound["job"] = job


def _status(job: AnnotationJob) -> str:
    """`waiting` while polls are left (or forever, for a disable that found no setting), then `completed`."""
    if job.status == "waiting" and job.effective and job.polls_left <= 0:
        return "completed"
    return job.status


def reply_status(ctx: ActContext) -> dict[str, Any]:
    job: AnnotationJob = ctx.bound["job"]
    status = _status(job)
    found = {"job_id": job.id, "job_status": status, "error_msg": job.error_msg if status == "error" else ""}
    return {"result": body(ctx, found)}


def _commit_poll(ctx: ActContext, _body: Any) -> None:
    job: AnnotationJob = ctx.bound["job"]
    if job.status != "waiting" or not job.effective:
        return
    if job.polls_left > 0:
        job.polls_left -= 1
    else:
        job.status, job.completed_at = "completed", ctx.now


ACTIONS = (
    Action("annotation.list", list_annotations),
    Action("annotation.create", create, _commit_create),
    Action("annotation.update", update, _commit_update, checks=(("annotation", _the_annotation),)),
    Action("annotation.delete", delete, _commit_delete, checks=(("annotation", _the_annotation),)),
    Action("annotation.reply", reply, _commit_reply, checks=(("action", _reply_action),)),
    Action("annotation.reply_status", reply_status, _commit_poll, checks=(("job", _the_job),)),
)
