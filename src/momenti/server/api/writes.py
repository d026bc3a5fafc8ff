"""POST /api/v1/responses, /events, /feedback: one record or a batch, all or nothing, safe to retry."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from momenti.ingest.specs import KINDS
from momenti.server.deps import JsonBody, TokenDep, WorkspaceDep
from momenti.server.idempotency import check_key, lookup, remember
from momenti.server.records import BodyError, answer_keys, canonical_hash, flatten, import_errors, validate_items
from momenti.server.schemas import CREATE_MODELS, WriteResult
from momenti.store.models import Question
from momenti.workspace import Workspace

router = APIRouter(prefix="/api/v1", tags=["write"])

IdempotencyKeyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", description="Any unique string (e.g. a UUID). A retry with the same key and body "
    "replays the first answer (header `Idempotent-Replay: true`) and writes nothing; another body -> 409.")]


async def ingest(request: Request, ws: Workspace, kind: str, payload: Any,
                 token_id: int) -> tuple[int, dict[str, Any]]:
    """Validate and write; (status, body). Shape errors and value errors alike answer 422, nothing written.

    Runs on the event loop and awaits the writer thread (server/writer.py), which commits concurrent requests
    together: no thread-pool hop on the common path. What asks the store (a new answer key) goes to the pool."""
    models = validate_items(kind, payload, ws.settings.api_max_batch)
    records = flatten(kind, models)
    new: list[str] = []
    if KINDS[kind].answers and not answer_keys(records) <= request.app.state.known_questions:
        new = await run_in_threadpool(check_new_questions, request, ws, records, token_id)
    summary = await request.app.state.writer.write_async(kind, records)
    if summary.rejected:
        raise BodyError(import_errors(kind, summary.errors, records))
    if new:
        await run_in_threadpool(_credit, ws, new, token_id)
        request.app.state.known_questions.update(new)
    # (the writer signals the debounced sync, which carries them to the warehouse)
    body = WriteResult(added=summary.added, duplicates=summary.duplicates,
                       ids=[r[KINDS[kind].id_field] for r in records])
    return (201 if summary.added else 200), body.model_dump()


def check_new_questions(request: Request, ws: Workspace, records: list[dict[str, Any]], token_id: int) -> list[str]:
    """The answer keys of `records` that are new, refused (422) beyond the caps: every new key becomes a
    permanent question, and classifying thousands of them would hold the single writer. A request may create
    at most MOMENTI_API_MAX_NEW_QUESTIONS, a token MOMENTI_API_MAX_NEW_QUESTIONS_PER_TOKEN over its life. The
    keys known are cached per app (questions are only added), so an ordinary write asks the store nothing."""
    keys = answer_keys(records)
    known: set[str] = request.app.state.known_questions
    if keys <= known:
        return []
    with ws.session() as s:
        known |= known_question_keys(ws, s)
        new = sorted(keys - known)
        made = int(s.scalar(select(func.count()).select_from(Question).where(
            Question.created_by_token == token_id)) or 0) if new else 0
    settings = ws.settings
    if len(new) > settings.api_max_new_questions:
        raise BodyError([{"loc": ["body", "answers"], "type": "too_many_new_questions",
                          "msg": f"{len(new):,} new answer keys in one request (e.g. {', '.join(new[:3])}); at most "
                                 f"{settings.api_max_new_questions} (MOMENTI_API_MAX_NEW_QUESTIONS). Declare questions "
                                 "in a survey definition or create them with a file import"}])
    if made + len(new) > settings.api_max_new_questions_per_token:
        raise BodyError([{"loc": ["body", "answers"], "type": "too_many_new_questions",
                          "msg": f"this token has created {made:,} answer keys; {len(new):,} more would pass its "
                                 f"{settings.api_max_new_questions_per_token:,} (MOMENTI_API_MAX_NEW_QUESTIONS_PER_"
                                 f"TOKEN): new keys here are {', '.join(new[:3])}"}])
    return new


def known_question_keys(ws: Workspace, session: Session | None = None) -> set[str]:
    """Every answer key the store has a question for."""
    if session is not None:
        return set(session.scalars(select(Question.key)))
    with ws.session() as s:
        return set(s.scalars(select(Question.key)))


def _credit(ws: Workspace, keys: list[str], token_id: int) -> None:
    """The keys this request created count against its token (a key someone else created first stays theirs)."""
    with ws.session() as s, s.begin():
        s.execute(update(Question).where(Question.key.in_(keys), Question.created_by_token.is_(None))
                  .values(created_by_token=token_id))


def _endpoint(kind: str):  # noqa: ANN202
    async def write(request: Request, ws: WorkspaceDep, token: TokenDep, payload: JsonBody,
                    idempotency_key: IdempotencyKeyHeader = None) -> JSONResponse:
        key = check_key(idempotency_key) if idempotency_key is not None else None
        where = f"POST {request.url.path}"
        if key is not None:
            digest = canonical_hash(payload)
            stored = await run_in_threadpool(lookup, ws.engine, token.id, key, where, digest)
            if stored is not None:
                return JSONResponse(stored.body, stored.status_code, headers={"Idempotent-Replay": "true"})
        status, body = await ingest(request, ws, kind, payload, token.id)
        if key is not None:
            # Only successes are remembered (as Stripe does): a rejected body can be fixed and resent.
            stored = await run_in_threadpool(remember, ws.engine, token.id, key, where, digest, status, body)
            if stored.body != body:  # a concurrent request with this key answered first: say what it said
                return JSONResponse(stored.body, stored.status_code, headers={"Idempotent-Replay": "true"})
        return JSONResponse(body, status)

    model = CREATE_MODELS[kind].__name__
    ref = {"$ref": f"#/components/schemas/{model}"}
    write.__name__ = f"create_{kind}"
    write.__doc__ = (f"Add {kind}: one JSON object or a list (a batch). All or nothing: if any record is "
                     "rejected the answer is 422 with the index and field of each problem, and nothing is "
                     "written. 201 when records were added, 200 when all were already known (same ids).")
    return write, {"requestBody": {"required": True, "content": {"application/json": {
        "schema": {"anyOf": [ref, {"type": "array", "items": ref, "minItems": 1}]}}}}}


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "Missing, unknown or revoked token"},
    409: {"description": "Idempotency-Key reused with a different request"},
    413: {"description": "Body or batch too large"},
    422: {"description": "Rejected records: `detail` lists `{loc: [body, index, field], msg, type}`"},
}

for _kind in CREATE_MODELS:
    _fn, _extra = _endpoint(_kind)
    router.add_api_route(f"/{_kind}", _fn, methods=["POST"], status_code=201, response_model=WriteResult,
                         responses={200: {"model": WriteResult, "description": "All records already known"},
                                    **_ERRORS}, openapi_extra=_extra, summary=f"Add {_kind}")
