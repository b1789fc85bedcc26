"""The validator's own test: fabricated responses it must reject, and ones it must accept.

Run before any request is generated, against the same deviation-applied document, so a run
that reports 0 violations is known to be able to report some: each deviation is held to its
exact form (a date with `Z`, a null array, a Throwable-shaped 404, an array apply-result all
fail), and the four checks each catch what they are for.
"""

import json

import requests

from schemathesis import Response
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as oa_checks

from .rules import ExtraCheckFailed, no_body_on_204, no_credentials_in_links

GOOD_CONTACT = {
    "id": 7, "given_name": "Ada", "family_name": None, "middle_name": None,
    "email_addresses": [{"email": "ada@example.com", "field": "EMAIL1"}],
    "phone_numbers": [], "addresses": [], "company": None, "owner_id": None, "tag_ids": [3],
    "email_opted_in": False, "email_status": "NonMarketable", "ScoreValue": None,
    "date_created": "2024-11-07T20:35:13.000+0000", "last_updated": "2024-11-07T20:35:13.000+0000",
    "last_updated_utc_millis": 1731011713000,
}


def _response(case, status, body, content_type="application/json"):
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    prepared = requests.Request(case.method, case.operation.base_url + case.formatted_path).prepare()
    return Response(status_code=status, headers={"content-type": [content_type]} if content_type else {},
                    content=content, request=prepared, elapsed=0.0, message="", encoding="utf-8",
                    http_version="1.1", verify=True)


def _failures(case, response, check):
    """Class names of the failures `check` reports for `response`."""
    try:
        case.validate_response(response, checks=[check])
    except BaseExceptionGroup as group:  # FailureGroup
        return {type(e).__name__ for e in group.exceptions}
    except Exception as exc:  # noqa: BLE001 - a single failure
        return {type(exc).__name__}
    return set()


# The failure each check must report when it fails.
EXPECTED = {
    "response_schema_conformance": "JsonSchemaError",
    "status_code_conformance": "UndefinedStatusCode",
    "content_type_conformance": "UndefinedContentType",
    "not_a_server_error": "ServerError",
}


def run(schema):
    """[(description, ok)] for every self-test case."""
    def op(method, path):
        return schema[path][method]

    get_contact = op("GET", "/v1/contacts/{id}").Case(path_parameters={"id": 7})
    create_contact = op("POST", "/v1/contacts").Case(body={"given_name": "Ada"})
    apply_tags = op("POST", "/v1/contacts/{contactId}/tags").Case(path_parameters={"contactId": 7},
                                                                 body={"tagIds": [3]})
    schema_check = oa_checks.response_schema_conformance
    status_check = oa_checks.status_code_conformance
    type_check = oa_checks.content_type_conformance
    server_check = st_checks.not_a_server_error

    def with_(**changes):
        return {**GOOD_CONTACT, **changes}

    cases = [
        # (description, case, status, body, content type, check, must fail)
        ("a contact as Keap sends it passes", get_contact, 200, GOOD_CONTACT, "application/json", schema_check, False),
        ("a string id fails", get_contact, 200, with_(id="7"), "application/json", schema_check, True),
        ("a null id fails (#14 spares ids)", get_contact, 200, with_(id=None), "application/json", schema_check, True),
        ("an RFC 3339 `Z` date fails (#6 is exact)", get_contact, 200,
         with_(date_created="2024-11-07T20:35:13Z"), "application/json", schema_check, True),
        ("a date without millis fails (#6)", get_contact, 200,
         with_(last_updated="2024-11-07T20:35:13+0000"), "application/json", schema_check, True),
        ("a null array fails (#14 covers scalars and objects only)", get_contact, 200,
         with_(tag_ids=None), "application/json", schema_check, True),
        ("an unknown email_status fails", get_contact, 200, with_(email_status="Nope"), "application/json",
         schema_check, True),
        ("a 404 {message} passes (#7)", get_contact, 404, {"message": "Unable to find this Contact"},
         "application/json", schema_check, False),
        ("a 404 without message fails (#7 is exact)", get_contact, 404, {"error": "not found"},
         "application/json", schema_check, True),
        ("a 400 {message} passes (#12)", create_contact, 400, {"message": "bad"}, "application/json",
         status_check, False),
        ("a 200 for POST /contacts fails (spec: 201)", create_contact, 200, GOOD_CONTACT, "application/json",
         status_check, True),
        ("a 202 fails (undocumented)", get_contact, 202, GOOD_CONTACT, "application/json", status_check, True),
        ("an apply-result object passes (#2)", apply_tags, 200, {"3": "SUCCESS"}, "application/json",
         schema_check, False),
        ("an apply-result array fails (#2 is exact)", apply_tags, 200, [{"key": "SUCCESS"}], "application/json",
         schema_check, True),
        ("an unknown apply status fails", apply_tags, 200, {"3": "OK"}, "application/json", schema_check, True),
        ("a 404 for an apply on a missing contact passes (#13)", apply_tags, 404, {"message": "x"},
         "application/json", status_check, False),
        ("text/html fails the content type check", get_contact, 200, b"<html></html>", "text/html", type_check,
         True),
        ("a 500 fails not_a_server_error", get_contact, 500, {"message": "x"}, "application/json", server_check,
         True),
    ]
    results = []
    list_contacts = op("GET", "/v1/contacts").Case()
    envelope = {"contacts": [], "count": 0, "next": "http://x/crm/rest/v1/contacts/?limit=1&offset=1",
                "previous": "http://x/crm/rest/v1/contacts/?limit=1&offset=0"}
    leaky = {**envelope, "next": envelope["next"] + "&access_token=abc"}
    delete = op("DELETE", "/v1/contacts/{contactId}").Case(path_parameters={"contactId": 7})
    for description, case, status, body, rule, must_fail in [
        ("list links without credentials pass", list_contacts, 200, envelope, no_credentials_in_links, False),
        ("a next link with access_token fails", list_contacts, 200, leaky, no_credentials_in_links, True),
        ("an empty 204 passes", delete, 204, b"", no_body_on_204, False),
        ("a 204 with a body fails", delete, 204, b"{}", no_body_on_204, True),
    ]:
        try:
            rule(_response(case, status, body, None if status == 204 else "application/json"))
            failed = False
        except ExtraCheckFailed:
            failed = True
        results.append((description, failed == must_fail))
    for description, case, status, body, content_type, check, must_fail in cases:
        got = _failures(case, _response(case, status, body, content_type), check)
        ok = got == {EXPECTED[check.__name__]} if must_fail else not got
        results.append((f"{description} [{', '.join(sorted(got)) or 'no failure'}]", ok))
    return results
