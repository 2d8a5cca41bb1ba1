"""API operations: request validation with Pydantic, and the OpenAPI 3.1 document.

A view declares what it takes and returns with `@operation(...)`; the decorator parses and
validates the JSON body and the query string with the declared Pydantic models, hands them
to the view as `body=` and `query=`, serialises the model the view returns, and keeps the
declaration on the view. `build_document` walks the app's URL map and turns those
declarations into the OpenAPI document: the schemas come from Pydantic, whose JSON Schema
(draft 2020-12) is the schema dialect of OpenAPI 3.1, so nothing is translated or written
by hand.
"""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps

from flask import Flask, Response, current_app, request
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema

from careteam.api import idempotency
from careteam.api.problems import PROBLEM_JSON, ApiProblem, Problem, pydantic_errors

OPENAPI_VERSION = "3.1.0"
API_VERSION = "1.0.0"
REF_TEMPLATE = "#/components/schemas/{model}"
# Problems any operation may answer with; operations with a body add those of bodies.
COMMON_PROBLEMS = {
    400: "The request is malformed (e.g. a bad query value or Idempotency-Key).",
    401: "No token, or the token is unknown, revoked, expired or its account deactivated.",
    403: "The token is read-only, or your role on this team does not allow this.",
    404: "No such resource, or it is not yours to see (other clients' records look missing).",
    422: "A field was refused; `errors` lists each field with a JSON Pointer.",
    429: "Too many requests with this token; wait `Retry-After` seconds.",
}
BODY_PROBLEMS = {
    409: "A conflict: the record changed meanwhile (reload, then send `version` again), "
    "or a request with this Idempotency-Key is still running.",
    413: "The request body is too large.",
    415: "The body is not JSON (send Content-Type: application/json).",
}
PUBLIC_PROBLEMS = {429: COMMON_PROBLEMS[429]}
TAG_DESCRIPTIONS = {
    "Me": "The user the token belongs to, and their settings.",
    "Clients": "The clients whose care team you are on (a client: their own record).",
    "Record": "The shared care record: the timeline and its entries.",
    "API": "This document and its reference page.",
}


@dataclass(frozen=True)
class Operation:
    """What one API view takes and answers, for validation and for the document."""

    summary: str
    responses: dict[int, type[BaseModel] | None]
    description: str = ""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    tags: tuple[str, ...] = ()
    public: bool = False
    extra_problems: dict[int, str] = field(default_factory=dict)


def operation(
    *,
    summary: str,
    responses: dict[int, type[BaseModel] | None],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    tags: tuple[str, ...] | list[str] = ("Record",),
    description: str = "",
    public: bool = False,
) -> Callable:
    """Declare an API view's input and output models (see the module docstring)."""
    op = Operation(
        summary=summary,
        responses=responses,
        description=description,
        body=body,
        query=query,
        tags=tuple(tags),
        public=public,
    )

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapped(**kwargs):
            if op.query is not None:
                kwargs["query"] = _parse_query(op.query)
            if request.method == "POST":
                # Validation happens inside, so that a replay answers before it.
                return idempotency.once(lambda: _call(view, op, kwargs))
            return _call(view, op, kwargs)

        wrapped.api_operation = op
        return wrapped

    return decorator


def _call(view: Callable, op: Operation, kwargs: dict) -> Response:
    if op.body is not None:
        kwargs["body"] = parse_body(op.body)
    return to_response(view(**kwargs))


def parse_body(model: type[BaseModel]) -> BaseModel:
    """The JSON body validated by `model`, or the problem that says what is wrong."""
    limit = current_app.config["API_MAX_BODY_BYTES"]
    if request.content_length is not None and request.content_length > limit:
        raise ApiProblem(413, f"Send at most {limit} bytes in one request.")
    if not request.is_json:
        raise ApiProblem(415, "Send a JSON body with Content-Type: application/json.")
    data = request.get_json(silent=True)
    if data is None:
        raise ApiProblem(400, "The body is not valid JSON.")
    if len(request.get_data(cache=True)) > limit:
        raise ApiProblem(413, f"Send at most {limit} bytes in one request.")
    if not isinstance(data, dict):
        raise ApiProblem(422, "The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiProblem(
            422, "Some fields were refused; see errors.", errors=pydantic_errors(error)
        ) from None


def _is_list(annotation) -> bool:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return typing.get_origin(annotation) is list


def _parse_query(model: type[BaseModel]) -> BaseModel:
    data = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        values = request.args.getlist(key)
        if values:
            data[key] = values if _is_list(info.annotation) else values[-1]
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise ApiProblem(
            422,
            "Some query parameters were refused; see errors.",
            errors=pydantic_errors(error, prefix="/query"),
        ) from None


def to_response(result) -> Response:
    """A view's return value (a model, optionally with status and headers) as a response."""
    if isinstance(result, Response):
        return result
    if isinstance(result, str):  # a rendered page (the reference)
        return current_app.make_response(result)
    status, headers = 200, {}
    if isinstance(result, tuple):
        result, status, *rest = result
        headers = rest[0] if rest else {}
    if result is None:
        response = current_app.response_class(status=status)
    else:
        response = current_app.response_class(
            result.model_dump_json(), status=status, mimetype="application/json"
        )
    response.headers["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response.headers[name] = value
    return response


# The document


_CONVERTER = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")
_PATH_TYPES = {"int": {"type": "integer", "minimum": 0}, "default": {"type": "string"}}


def _methods(rule) -> list[str]:
    return sorted(rule.methods - {"HEAD", "OPTIONS"})


def _operations(app: Flask, prefixes: tuple[str, ...]):
    # By path, then method: the document's order does not depend on which module
    # registered its routes first.
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: (r.rule, _methods(r))):
        if not rule.rule.startswith(prefixes):
            continue
        view = app.view_functions[rule.endpoint]
        op = getattr(view, "api_operation", None)
        if op is None:
            continue
        for method in _methods(rule):
            yield rule, method, op


def build_document(app: Flask, *, prefixes: tuple[str, ...] = ("/api/v1/",)) -> dict:
    """The OpenAPI 3.1 document of every API view registered on the app."""
    operations = list(_operations(app, prefixes))
    models: list[tuple[type[BaseModel], str]] = [(Problem, "serialization")]
    for _, _, op in operations:
        if op.body is not None:
            models.append((op.body, "validation"))
        if op.query is not None:
            models.append((op.query, "validation"))
        models.extend((m, "serialization") for m in op.responses.values() if m is not None)
    models = list(dict.fromkeys(models))
    refs, defs = models_json_schema(models, ref_template=REF_TEMPLATE)
    schemas = defs.get("$defs", {})

    paths: dict[str, dict] = {}
    for rule, method, op in operations:
        path = _CONVERTER.sub(lambda m: "{" + m.group(2) + "}", rule.rule)
        paths.setdefault(path, {})[method.lower()] = _operation_object(
            rule, method, op, refs, schemas
        )
    # Query models became parameters; as schemas they would describe no body.
    for _, _, op in operations:
        if op.query is not None:
            schemas.pop(_ref_name(refs[(op.query, "validation")]), None)
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": "CareTeam API",
            "version": API_VERSION,
            "description": (
                "The shared care record of CareTeam as JSON. Authenticate with a personal "
                "access token (Settings > API tokens): `Authorization: Bearer ctp_...`. "
                "Errors are RFC 9457 problem details. POST requests accept an "
                "`Idempotency-Key` header: the same key and body within 24 hours returns "
                "the first response and creates nothing new."
            ),
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": name, "description": text} for name, text in TAG_DESCRIPTIONS.items()],
        "security": [{"token": []}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "token": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A personal access token (ctp_...).",
                }
            },
        },
    }


def _operation_object(rule, method: str, op: Operation, refs: dict, schemas: dict) -> dict:
    parameters = []
    for converter, name in _CONVERTER.findall(rule.rule):
        parameters.append(
            {
                "name": name,
                "in": "path",
                "required": True,
                "schema": _PATH_TYPES.get(converter, _PATH_TYPES["default"]),
            }
        )
    if op.query is not None:
        schema = schemas[_ref_name(refs[(op.query, "validation")])]
        required = set(schema.get("required", ()))
        for name, prop in schema.get("properties", {}).items():
            prop = _query_value(prop)
            param = {"name": name, "in": "query", "required": name in required, "schema": prop}
            if "description" in prop:
                param["description"] = prop["description"]
            parameters.append(param)
    if method == "POST":
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "Any unique string (e.g. a UUID). Retrying with the same key "
                "and body within 24 hours returns the first response.",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
    obj: dict = {
        "operationId": rule.endpoint.replace(".", "_") + "_" + method.lower(),
        "summary": op.summary,
        "tags": list(op.tags),
        "responses": {},
    }
    if op.description:
        obj["description"] = op.description
    if parameters:
        obj["parameters"] = parameters
    if op.body is not None:
        obj["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
        }
    for status, model in sorted(op.responses.items()):
        response: dict = {"description": _status_text(status)}
        if model is not None:
            response["content"] = {"application/json": {"schema": refs[(model, "serialization")]}}
        obj["responses"][str(status)] = response
    if op.public:
        obj["security"] = []
        problems = dict(PUBLIC_PROBLEMS)
    else:
        problems = dict(COMMON_PROBLEMS)
        if op.body is not None or method == "POST":
            problems.update(BODY_PROBLEMS)
    problem_ref = refs[(Problem, "serialization")]
    for status, text in sorted(problems.items()):
        obj["responses"].setdefault(
            str(status),
            {"description": text, "content": {PROBLEM_JSON: {"schema": problem_ref}}},
        )
    return obj


def _ref_name(ref: dict) -> str:
    return ref["$ref"].rsplit("/", 1)[-1]


def _query_value(prop: dict) -> dict:
    """A query parameter's schema: a query string cannot carry null, only leave it out."""
    prop = dict(prop)
    if "default" in prop and prop["default"] is None:
        del prop["default"]
    alternatives = [a for a in prop.get("anyOf", ()) if a.get("type") != "null"]
    if "anyOf" in prop and len(alternatives) == 1:
        del prop["anyOf"]
        prop.update(alternatives[0])
    elif "anyOf" in prop:
        prop["anyOf"] = alternatives
    return prop


def _status_text(status: int) -> str:
    from http import HTTPStatus

    return HTTPStatus(status).phrase
