"""DifyError and Dify's error-code catalogue (REFERENCE §11); FixtureError for broken fixture files."""

from __future__ import annotations

from typing import Final

from msgspec import Struct


class CodeSpec(Struct, eq=False):
    """A Dify error code's HTTP status and default message."""

    status: Final[int]
    message: Final[str]


_INTERNAL = (
    "The server encountered an internal error and was unable to complete your request. "
    "Either the server is overloaded or there is an error in the application."
)

# Dify's own codes at Dify's statuses, with the class texts of api/controllers/service_api/app/error.py
# and werkzeug's defaults for the plain HTTP exceptions.
CODES: Final[dict[str, CodeSpec]] = {
    "bad_request": CodeSpec(400, "The browser (or proxy) sent a request that this server could not understand."),
    # Werkzeug's KeyError of request.files["file"] (1.12/1.14 audio-to-text): BadRequest's text.
    "bad_request_key_error": CodeSpec(
        400, "The browser (or proxy) sent a request that this server could not understand."
    ),
    "invalid_param": CodeSpec(400, "Invalid parameter."),
    "unauthorized": CodeSpec(401, "Access token is invalid"),
    "forbidden": CodeSpec(
        403,
        "You don't have the permission to access the requested resource. It is either read-protected or not "
        "readable by the server.",
    ),
    "not_found": CodeSpec(
        404,
        "The requested URL was not found on the server. If you entered the URL manually "
        "please check your spelling and try again.",
    ),
    "method_not_allowed": CodeSpec(405, "The method is not allowed for the requested URL."),
    "request_entity_too_large": CodeSpec(413, "The data value transmitted exceeds the capacity limit."),
    "unsupported_media_type": CodeSpec(
        415,
        "Did not attempt to load JSON data because the request Content-Type was not 'application/json'.",
    ),
    "app_unavailable": CodeSpec(400, "App unavailable, please check your app configurations."),
    "not_completion_app": CodeSpec(400, "Please check if your Completion app mode matches the right API route."),
    "not_chat_app": CodeSpec(400, "Please check if your app mode matches the right API route."),
    "not_workflow_app": CodeSpec(400, "Please check if your app mode matches the right API route."),
    "conversation_completed": CodeSpec(400, "The conversation has ended. Please start a new conversation."),
    "provider_not_initialize": CodeSpec(
        400,
        "No valid model provider credentials found. Please go to Settings -> Model Provider to "
        "complete your provider credentials.",
    ),
    "provider_quota_exceeded": CodeSpec(
        400,
        "Your quota for Dify Hosted OpenAI has been exhausted. Please go to Settings -> Model "
        "Provider to complete your own provider credentials.",
    ),
    "model_currently_not_support": CodeSpec(400, "Dify Hosted OpenAI trial currently not support the GPT-4 model."),
    "completion_request_error": CodeSpec(400, "Completion request failed."),
    "too_many_requests": CodeSpec(429, "Too many requests. Please try again later."),
    "rate_limit_error": CodeSpec(429, "Rate Limit Error"),
    "workflow_version_execution_not_allowed": CodeSpec(
        403,
        "Workflow version execution is not available on your current plan. Please upgrade to a paid plan.",
    ),
    "agent_not_published": CodeSpec(
        400, "Agent has not been published. Please publish the Agent before using the API."
    ),
    "internal_server_error": CodeSpec(500, _INTERNAL),
    # What Dify's generic handler answers for an exception outside a controller's try (a JSON body that
    # is not an object, a non-string conversation_id): api/libs/external_api.py, dify 1.16.1 :119-134.
    "unknown": CodeSpec(500, "Internal Server Error"),
    # Files, audio and end users (REFERENCE §6; api/controllers/common/errors.py, app/error.py).
    "no_file_uploaded": CodeSpec(400, "Please upload your file."),
    "too_many_files": CodeSpec(400, "Only one file is allowed."),
    "filename_not_exists_error": CodeSpec(400, "The specified filename does not exist."),
    "file_too_large": CodeSpec(413, "File size exceeded."),
    "unsupported_file_type": CodeSpec(415, "File type not allowed."),
    "file_access_denied": CodeSpec(403, "Access to the requested file is denied."),
    "file_not_found": CodeSpec(404, "The requested file was not found."),
    "end_user_not_found": CodeSpec(404, "End user not found."),
    "no_audio_uploaded": CodeSpec(400, "Please upload your audio."),
    "audio_too_large": CodeSpec(413, "Audio size exceeded."),
    "unsupported_audio_type": CodeSpec(415, "Audio type not allowed."),
    "provider_not_support_speech_to_text": CodeSpec(400, "Provider not support speech to text."),
    "speech_to_text_disabled": CodeSpec(400, "Speech to text is disabled."),
    # Human input forms (REFERENCE §9.4).
    "human_input_form_submitted": CodeSpec(412, "This form has already been submitted by another user."),
    "human_input_form_expired": CodeSpec(412, "This form has expired."),
    "invalid_form_data": CodeSpec(400, "Invalid form data."),
    # Knowledge API (REFERENCE §11.3, api/controllers/service_api/dataset/error.py).
    "dataset_not_initialized": CodeSpec(
        400, "The dataset is still being initialized or indexing. Please wait a moment."
    ),
    "archived_document_immutable": CodeSpec(403, "The archived document is not editable."),
    "dataset_name_duplicate": CodeSpec(409, "The dataset name already exists. Please modify your dataset name."),
    "invalid_action": CodeSpec(400, "Invalid action."),
    "document_already_finished": CodeSpec(
        400, "The document has been processed. Please refresh the page or go to the document details."
    ),
    "document_indexing": CodeSpec(400, "The document is being processed and cannot be edited."),
    "invalid_metadata": CodeSpec(400, "The metadata content is incorrect. Please check and verify."),
    "dataset_in_use": CodeSpec(
        409, "The dataset is being used by some apps. Please remove the dataset from the apps before deleting it."
    ),
    "dataset_indexing_in_progress": CodeSpec(
        409,
        "Some documents in this dataset are still being indexed. Wait for indexing to finish or pause the "
        "documents before deleting the dataset.",
    ),
    "pipeline_run_error": CodeSpec(500, "An error occurred while running the pipeline."),
    # Seed-reference codes that Dify itself never sends; their status is the seed's (REFERENCE §16.1).
    "invalid_api_key": CodeSpec(401, "API key invalid or expired."),
    "rate_limit_exceeded": CodeSpec(429, "Request rate limit exceeded."),
    "quota_exceeded": CodeSpec(429, "Quota exceeded."),
    # The mock's own errors (never Dify's).
    "mock_invalid_fault": CodeSpec(400, "Invalid mock fault."),
    "mock_unknown_scenario": CodeSpec(400, "Unknown mock scenario."),
    "mock_invalid_scenario": CodeSpec(400, "Invalid mock scenario."),
    "mock_admin_token_required": CodeSpec(401, "The /_mock/ control plane needs header X-Mock-Admin-Token."),
    "mock_forbidden": CodeSpec(403, "The /_mock/ control plane only answers its own origin."),
    "mock_schema_violation": CodeSpec(500, "The mock produced a response that breaks its schema."),
}

# The seed reference's statuses for codes Dify also has; used when such a code is injected as a fault.
SEED_STATUS: Final[dict[str, int]] = {
    "invalid_api_key": 401,
    "rate_limit_exceeded": 429,
    "quota_exceeded": 429,
    "app_unavailable": 503,
    "provider_not_initialize": 503,
    "model_currently_not_support": 503,
    "completion_request_error": 500,
    "internal_server_error": 500,
}

# Header problems of the Service API's bearer parsing (api/controllers/service_api/wraps.py).
MSG_NO_BEARER: Final = "Authorization header must be provided and start with 'Bearer'"
MSG_BAD_SCHEME: Final = "Authorization scheme must be 'Bearer'"
MSG_BAD_TOKEN: Final = "Access token is invalid"
MSG_USER_REQUIRED: Final = "Arg user must be provided."
MSG_BAD_JSON: Final = "Invalid JSON payload received or JSON payload is empty."  # Dify in debug mode only
# Flask's default 404 page: Dify's Service API has no catch-all 404 handler, so an unknown route is HTML.
NOT_FOUND_HTML: Final = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please check your "
    "spelling and try again.</p>\n"
)


class DifyError(Exception):
    """An error answered as Dify's `{"code", "message", "status"}` body."""

    def __init__(
        self,
        code: str,
        message: str | None = None,
        *,
        status: int | None = None,
        headers: dict[str, str] | None = None,
        note: str | None = None,
        raw: dict[str, object] | None = None,
    ) -> None:
        spec = CODES.get(code)
        self.code = code
        # A handler's own error body in place of {code, message, status}: the segment create's
        # `return {"error": str(e)}, 400` (controllers/service_api/dataset/segment.py).
        self.raw = raw
        self.note = note  # for the journal and the log only: what the mock knows beyond Dify's text
        self.status = status or (spec.status if spec else 400)
        self.message = message if message is not None else (spec.message if spec else code)
        self.headers = headers or {}
        if self.status == 401:
            # Every 401 of Dify's API carries the challenge, injected ones included (REFERENCE §1.3).
            self.headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
        super().__init__(f"{self.status} {code}: {self.message}")

    def body(self) -> dict[str, object]:
        if self.raw is not None:
            return self.raw
        if self.code == "unknown":  # the generic handler builds {"message"} first, then sets the rest
            return {"message": self.message, "code": self.code, "status": self.status}
        return {"code": self.code, "message": self.message, "status": self.status}


class Problem(Struct, frozen=True):
    """One fixture problem, located at FILE:LINE:COLUMN (1-based)."""

    file: str
    line: int
    column: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}: {self.message}"


class FixtureError(Exception):
    """All the problems found while loading fixtures; never reaches a client."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))
