"""The suite's view of the wire: a guard, a recorder and one narrow host reroute.

Installed once, around `requests.adapters.HTTPAdapter.send` (the transport every `requests` call
ends in, whichever client library made it). It never changes what a client builds: method, path,
query, headers and body reach keapsake exactly as the library produced them.

* **Reroute** — a request whose origin is one of Keap's public origins (`KEAP_ORIGINS`) goes to the
  keapsake under test instead, with path and query unchanged. This stands in for what an operator
  does for a library that offers no base-URL setting at all (a hosts-file entry plus TLS
  termination): it is only needed where a library writes Keap's URL as a string literal inside a
  method body, so there is no constant to patch (see compat/README.md, "Patches and reroutes").
  Every rerouted request is counted per origin so the README's claims can be checked.
* **Guard** — any other non-loopback destination raises, so no request of the suite can ever reach
  the real Keap (or anything else) by accident.
* **Timeout** — requests made without a timeout (all of the libraries') get 30 s, so a hung
  server fails the test instead of hanging the suite.
* **Recorder** — every exchange is kept (credentials redacted) so tests can assert what a client
  put on the wire when the library itself hides it (e.g. keap-python swallows /token statuses), and
  so failures print the exchanges of the failing test.
"""

import re
from urllib.parse import urlsplit, urlunsplit

import requests.adapters

KEAP_ORIGINS = (
    "https://api.infusionsoft.com",
    "https://signin.infusionsoft.com",
    "https://accounts.infusionsoft.com",
    "https://api.keap.com",
)
_LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}

DEFAULT_TIMEOUT = 30  # seconds, for requests made without a timeout
_target = None  # origin of the keapsake under test
exchanges = []  # Exchange records, in order
rerouted = {}  # Keap origin -> number of requests rerouted from it

_original_send = requests.adapters.HTTPAdapter.send


class Exchange:
    def __init__(self, method, url, request_headers, request_body, rerouted_from):
        self.method = method
        self.url = url
        self.request_headers = request_headers
        self.request_body = request_body
        self.rerouted_from = rerouted_from
        self.status = None
        self.response_headers = {}
        self.response_body = ""

    @property
    def path(self):
        return urlsplit(self.url).path

    def json(self):
        import json
        return json.loads(self.response_body)

    def __str__(self):
        via = f" (rerouted from {self.rerouted_from})" if self.rerouted_from else ""
        body = f"\n      > {self.request_body}" if self.request_body else ""
        return (f"    {self.method} {self.url}{via}{body}\n"
                f"      < {self.status} {self.response_body[:400]}")


_SECRET_PARAMS = re.compile(
    r"((?:access_token|refresh_token|code|client_secret|password|csrf_token)=)[^&\s]+")


def redact(text):
    return _SECRET_PARAMS.sub(lambda m: m.group(1) + "…", text)


def reroute(url):
    """The URL a request for `url` is sent to: Keap origins map onto keapsake, all else unchanged."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if _target and origin in KEAP_ORIGINS:
        t = urlsplit(_target)
        return urlunsplit((t.scheme, t.netloc, parts.path, parts.query, parts.fragment)), origin
    return url, None


def _send(self, request, stream=False, timeout=None, *args, **kwargs):
    # None of the libraries sets a timeout; a hung server must fail a test, not hang the suite.
    if timeout is None:
        timeout = DEFAULT_TIMEOUT
    url, from_origin = reroute(request.url)
    if from_origin:
        rerouted[from_origin] = rerouted.get(from_origin, 0) + 1
        request.url = url
    host = urlsplit(request.url).hostname or ""
    if host not in _LOCAL_HOSTS:
        raise RuntimeError(f"compat guard: refusing a request to {host!r} (only the local keapsake is allowed)")
    body = request.body
    if isinstance(body, bytes):
        body = body.decode("utf-8", "replace")
    ex = Exchange(request.method, redact(request.url),
                  {k: ("…" if k.lower() == "authorization" else v) for k, v in request.headers.items()},
                  redact(body or ""), from_origin)
    exchanges.append(ex)
    response = _original_send(self, request, stream, timeout, *args, **kwargs)
    ex.status = response.status_code
    ex.response_headers = dict(response.headers)
    try:
        ex.response_body = response.content.decode("utf-8", "replace")
    except Exception as e:  # noqa: BLE001 - recorder must never break a request
        ex.response_body = f"(unreadable: {e})"
    return response


def install(target_origin):
    global _target
    _target = target_origin.rstrip("/")
    requests.adapters.HTTPAdapter.send = _send


def uninstall():
    global _target
    _target = None
    requests.adapters.HTTPAdapter.send = _original_send


def mark():
    """A position in the exchange log; `since(mark)` returns the exchanges made after it."""
    return len(exchanges)


def since(position):
    return exchanges[position:]


def last(method=None, path=None):
    """The most recent exchange matching method and path (path compared without a trailing slash)."""
    for ex in reversed(exchanges):
        if method and ex.method != method:
            continue
        if path and ex.path.rstrip("/") != path.rstrip("/"):
            continue
        return ex
    return None
