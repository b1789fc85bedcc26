"""The only changes the conformance run makes to Keap's v1 OpenAPI document.

Each function below is one entry of `compat/SPEC-DEVIATIONS.md` (its number is in the function
name and docstring): a place where Keap's live API, which real clients were written against,
differs from Keap's own document, or where the document cannot be used as written. Nothing else
in the document is changed. `apply(spec)` runs them all, in order, on a deep copy and returns
the copy plus one line per change made, so a run can print exactly what it excluded.

Where a deviation replaces a schema, the replacement is *stricter* than what it replaces when the
live behaviour is known exactly (error bodies, dates), so the validator checks keapsake against
the live contract instead of merely loosening the spec.
"""

import copy
import re

METHODS = ("get", "post", "put", "patch", "delete")

# `{"message": "..."}`: every v1 error body keapsake (and Keap, rest-v1.md §0.4) sends below 500.
MESSAGE = {
    "title": "Message",
    "type": "object",
    "required": ["message"],
    "properties": {"message": {"type": "string"}},
}

# Keap's observed date-time form: `2024-11-07T20:35:13.000+0000` (millis, UTC, offset without colon).
KEAP_DATE_TIME = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}\+0000$"

# Members #14 leaves non-nullable: an object's id and the list envelope.
NEVER_NULL = {"id", "count", "next", "previous"}

APPLY_RESULT_VALUES = ["SUCCESS", "DUPLICATE", "CONTACT_NOT_FOUND", "TAG_ID_NOT_FOUND", "FAILURE", "NO_PERMISSION"]


def operations(spec):
    for path, item in spec["paths"].items():
        for method in METHODS:
            if method in item:
                yield path, method, item[method]


def json_schema(response):
    """The application/json schema of a response object, or None."""
    return response.get("content", {}).get("application/json", {}).get("schema")


def _walk_schemas(schema, fn, seen=None):
    """Calls fn on every schema object reachable inside `schema` (properties, items, combinators)."""
    if not isinstance(schema, dict):
        return
    fn(schema)
    for prop in schema.get("properties", {}).values():
        _walk_schemas(prop, fn)
    if isinstance(schema.get("items"), dict):
        _walk_schemas(schema["items"], fn)
    if isinstance(schema.get("additionalProperties"), dict):
        _walk_schemas(schema["additionalProperties"], fn)
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key, []):
            _walk_schemas(sub, fn)


def _success_schemas(spec):
    """(label, schema) of every 2xx JSON response schema, document components included."""
    for path, method, op in operations(spec):
        for code, response in op.get("responses", {}).items():
            schema = json_schema(response)
            if code.startswith("2") and schema is not None:
                yield f"{method.upper()} {path}", schema
    for name, schema in spec.get("components", {}).get("schemas", {}).items():
        yield f"components.schemas.{name}", schema


def d02_apply_tag_result_is_an_object(spec, log):
    """#2: the apply-tag result is a JSON object keyed by id, not an array of Map.Entry objects."""
    for path in ("/v1/contacts/{contactId}/tags", "/v1/tags/{tagId}/contacts"):
        op = spec["paths"].get(path, {}).get("post")
        if op is None:
            continue
        op["responses"]["200"]["content"]["application/json"]["schema"] = {
            "title": "ApplyResult",
            "type": "object",
            "additionalProperties": {"type": "string", "enum": APPLY_RESULT_VALUES},
        }
        log.append(f"#2  POST {path} 200: array of Entry«long,string» -> object {{\"<id>\": <status>}}")


def d06_keap_date_time_form(spec, log):
    """#6: response date-times are `2024-11-07T20:35:13.000+0000`, not RFC 3339 `date-time`.

    Only response schemas change (requests are generated as RFC 3339, which keapsake accepts).
    The replacement is exact: millis and `+0000` are required, so a response in any other form fails.
    """
    count = 0

    def fix(schema):
        nonlocal count
        if schema.get("format") == "date-time":
            del schema["format"]
            schema["pattern"] = KEAP_DATE_TIME
            count += 1

    for _, schema in _success_schemas(spec):
        _walk_schemas(schema, fix)
    log.append(f"#6  {count} response date-time schemas: format date-time -> pattern {KEAP_DATE_TIME}")


def d07_error_bodies_are_message_objects(spec, log):
    """#7: 4xx bodies (other than Apigee's 401) are `{"message": "..."}`, not the Throwable dump.

    Stricter than the spec: `message` is required.
    """
    count = 0
    for _, _, op in operations(spec):
        for code, response in op.get("responses", {}).items():
            if code in ("403", "404") and json_schema(response) is not None:
                response["content"]["application/json"]["schema"] = copy.deepcopy(MESSAGE)
                count += 1
    log.append(f"#7  {count} 403/404 responses: Error (Throwable dump) -> {{\"message\": string}} (required)")


def d12_validation_failures_answer_400(spec, log):
    """#12: Keap answers 400 `{"message"}` for invalid input; the spec declares no 400 anywhere."""
    count = 0
    for _, _, op in operations(spec):
        op.setdefault("responses", {}).setdefault(
            "400",
            {"description": "Bad Request", "content": {"application/json": {"schema": copy.deepcopy(MESSAGE)}}},
        )
        count += 1
    log.append(f"#12 400 {{\"message\"}} added to {count} operations")


def d13_missing_path_record_answers_404(spec, log):
    """#13: a POST whose path names a record answers 404 `{"message"}` when it does not exist.

    The spec declares 404 for every GET, PUT, PATCH and DELETE and for no POST; among the POSTs
    keapsake implements under a record path are `POST /contacts/{contactId}/tags`,
    `POST /tags/{tagId}/contacts` and `POST /contacts/{contactId}/creditCards`.
    """
    for path, method, op in operations(spec):
        if method == "post" and "{" in path and "404" not in op.get("responses", {}):
            op["responses"]["404"] = {
                "description": "Not Found",
                "content": {"application/json": {"schema": copy.deepcopy(MESSAGE)}},
            }
            log.append(f"#13 POST {path}: 404 {{\"message\"}} added")


def d14_null_for_absent_values(spec, log):
    """#14: response members that have no value are `null` (arrays are `[]`, never null).

    Applied to every non-array property of every 2xx response schema (`nullable: true`), except
    the members that always carry a value: `id` (of any object) and the list envelope's `count`,
    `next` and `previous`.
    """
    count = 0

    def fix(schema):
        nonlocal count
        for name, prop in schema.get("properties", {}).items():
            if name in NEVER_NULL:
                continue
            if isinstance(prop, dict) and prop.get("type") != "array" and not prop.get("nullable"):
                prop["nullable"] = True
                count += 1

    for _, schema in _success_schemas(spec):
        _walk_schemas(schema, fix)
    log.append(f"#14 {count} non-array response properties made nullable")


def d15_custom_field_content_is_any_json(spec, log):
    """#15: `CustomFieldValue.content` is any JSON value (string, number, bool, list), not an object.

    Responses only; requests keep the spec's object so generated bodies stay as the spec has them.
    """
    count = 0

    def fix(schema):
        nonlocal count
        if schema.get("title") == "CustomFieldValue" and "content" in schema.get("properties", {}):
            schema["properties"]["content"] = {"description": "any JSON value (SPEC-DEVIATIONS #15)"}
            count += 1

    for _, schema in _success_schemas(spec):
        _walk_schemas(schema, fix)
    log.append(f"#15 {count} CustomFieldValue.content response schemas: object -> any JSON")


def d16_put_note_path_parameter_name(spec, log):
    """#16: `PUT /v1/notes/{noteId}` names its path parameter `note`, which is not the template's name."""
    op = spec["paths"].get("/v1/notes/{noteId}", {}).get("put")
    if op is None:
        return
    for param in op.get("parameters", []):
        if param.get("in") == "path" and param.get("name") == "note":
            param["name"] = "noteId"
            param["description"] = "noteId"
            log.append("#16 PUT /v1/notes/{noteId}: path parameter `note` -> `noteId`")


def d17_patch_opportunity_has_a_body(spec, log):
    """#17: `PATCH /v1/opportunities/{opportunityId}` declares no request body; its description says
    the payload is the one of `PUT /v1/opportunities`, so the run sends that operation's body."""
    op = spec["paths"].get("/v1/opportunities/{opportunityId}", {}).get("patch")
    put = spec["paths"].get("/v1/opportunities", {}).get("put")
    if op is None or put is None or "requestBody" in op:
        return
    op["requestBody"] = copy.deepcopy(put["requestBody"])
    log.append("#17 PATCH /v1/opportunities/{opportunityId}: request body of PUT /v1/opportunities added")


DEVIATIONS = [
    d02_apply_tag_result_is_an_object,
    d16_put_note_path_parameter_name,
    d17_patch_opportunity_has_a_body,
    d15_custom_field_content_is_any_json,
    d06_keap_date_time_form,
    d14_null_for_absent_values,
    d07_error_bodies_are_message_objects,
    d12_validation_failures_answer_400,
    d13_missing_path_record_answers_404,
]


def apply(spec):
    """A deep copy of `spec` with every deviation applied, and the log of what changed."""
    spec = copy.deepcopy(spec)
    log = []
    for fn in DEVIATIONS:
        fn(spec, log)
    return spec, log


def path_regex(path):
    """`/v1/contacts/{id}` -> a regex matching `/v1/contacts/123`."""
    return re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
