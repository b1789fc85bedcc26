"""Shared helpers for the per-client test modules."""

import re
import unittest
import uuid

from . import context, wire

V1_DATE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d{4}$")


def unique(prefix):
    """A name no earlier run or test used (tag names are unique per account)."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class ClientTestCase(unittest.TestCase):
    """Tests of one client library. Steps are numbered; state that later steps need (tokens) lives
    on the class. A step whose precondition failed earlier fails too (never skips), naming the
    earlier step."""

    maxDiff = 4000
    LIBRARY = None  # key into context.apps

    _prepared = None  # True once prepare() succeeded; the exception if it failed

    @classmethod
    def setUpClass(cls):
        cls.server = context.server
        cls.base = context.server.base
        cls.app = context.apps[cls.LIBRARY]

    @classmethod
    def prepare(cls):
        """Per-class setup that can fail (patching, building the client). Run from setUp so that a
        failure fails every test of the class by name instead of one anonymous setUpClass error."""

    def setUp(self):
        cls = type(self)
        if cls._prepared is None:
            try:
                cls.prepare()
                cls._prepared = True
            except Exception as e:  # noqa: BLE001
                cls._prepared = e
        if cls._prepared is not True:
            raise AssertionError(f"{cls.__name__}.prepare() failed: {cls._prepared!r}") from cls._prepared

    def require(self, attr, step):
        value = getattr(type(self), attr, None)
        if not value:
            self.fail(f"precondition missing: {attr} (set by {step}, which failed or did not run)")
        return value

    def call(self, what, fn, *args, **kwargs):
        """Calls the library; if it raises, fail with what went over the wire (libraries often
        raise bare exceptions that hide the status and body)."""
        start = wire.mark()
        try:
            return fn(*args, **kwargs)
        except Exception as e:  # noqa: BLE001
            made = wire.since(start)
            if made:
                ex = made[-1]
                detail = f"{ex.method} {ex.url} -> {ex.status} {ex.response_body[:300]}"
            else:
                detail = "no HTTP request was made"
            raise AssertionError(wire.redact(f"{what}: {type(e).__name__}: {str(e)[:200]} [{detail}]")) from e

    def wire_exchange(self, method, path):
        ex = wire.last(method, path)
        self.assertIsNotNone(ex, f"no {method} {path} on the wire")
        return ex

    def assertV1Date(self, value, field):
        self.assertIsInstance(value, str, f"{field} should be a v1 date string")
        self.assertRegex(value, V1_DATE, f"{field} not in Keap v1 form yyyy-MM-ddTHH:mm:ss.SSS+0000")

    def assertV1ListEnvelope(self, body, key):
        """rest-v1.md §0.3: items key, integer total `count`, absolute `next`/`previous` on every page."""
        self.assertIsInstance(body, dict, f"list response should be an object, got {body!r}")
        self.assertIn(key, body)
        self.assertIsInstance(body[key], list)
        self.assertIsInstance(body.get("count"), int, "count must be an integer")
        for link in ("next", "previous"):
            self.assertIn(link, body)
            self.assertTrue(str(body[link]).startswith(self.base + "/crm/rest/v1/"),
                            f"{link} should be an absolute URL under {self.base}: {body[link]!r}")
            self.assertNotIn("access_token", body[link], f"{link} must not carry credentials")
