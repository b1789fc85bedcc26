"""keapsake's own response rules that the OpenAPI document cannot express, checked on every
generated request next to schemathesis' checks."""

import json


class ExtraCheckFailed(AssertionError):
    title = "keapsake rule"


def _short(text, n):
    return text if len(text) <= n else text[: n - 1] + "…"


def no_body_on_204(response):
    """A 204 carries no body (RFC 9110 §15.3.5); infusionsoft-python returns True without reading it."""
    if response.status_code == 204 and response.content:
        raise ExtraCheckFailed(f"204 with a body: {_short(response.content.decode('utf-8', 'replace'), 200)}")


def no_credentials_in_links(response):
    """List envelopes' next/previous never echo `access_token` (SPEC-DEVIATIONS #1, rest-v1.md §0.3)."""
    if response.status_code != 200 or not response.content.startswith(b"{"):
        return
    try:
        body = json.loads(response.content)
    except ValueError:
        return
    for key in ("next", "previous"):
        link = body.get(key) if isinstance(body, dict) else None
        if isinstance(link, str) and "access_token" in link:
            raise ExtraCheckFailed(f"{key} link carries the credential: {_short(link, 200)}")


EXTRA_CHECKS = [no_body_on_204, no_credentials_in_links]
