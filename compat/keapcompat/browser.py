"""The browser step of the authorization-code flow, done the way a user does it.

Starting from the authorization URL a client library produced: GET it (login page), submit the
login form (`form=login`, its hidden `csrf_token`, `email`, `password`, with the `Origin` header a
browser sends), follow the 303 back to the authorize URL (consent page), submit the consent form
(`form=consent`, `csrf_token`, `account_id`, `decision=allow`), and read the code from the 302
`Location`. A plain `requests.Session` keeps the cookies, like a browser's jar.
"""

import html.parser
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

from . import wire


class Form:
    def __init__(self, action, method):
        self.action = action
        self.method = method
        self.fields = {}  # name -> value of <input>s (hidden, text, ...)
        self.buttons = []  # (name, value) of submit buttons


class _FormParser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms = []
        self._current = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self._current = Form(a.get("action") or "", (a.get("method") or "get").lower())
            self.forms.append(self._current)
        elif self._current is not None and tag == "input" and a.get("name"):
            self._current.fields[a["name"]] = a.get("value") or ""
        elif self._current is not None and tag == "button" and a.get("name"):
            self._current.buttons.append((a["name"], a.get("value") or ""))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def forms(page_html):
    p = _FormParser()
    p.feed(page_html)
    return p.forms


def find_form(page_html, kind):
    """The form whose hidden `form` input equals `kind` (`login` or `consent`)."""
    for f in forms(page_html):
        if f.fields.get("form") == kind:
            return f
    return None


class AuthorizationError(AssertionError):
    pass


class Result:
    def __init__(self, location):
        self.location = location
        q = parse_qs(urlsplit(location).query, keep_blank_values=True)
        self.query = {k: v[0] for k, v in q.items()}
        self.raw_query = urlsplit(location).query
        self.code = self.query.get("code")
        self.state = self.query.get("state")
        self.error = self.query.get("error")


def authorize(authorization_url, email, password, decision="allow"):
    """Logs in and answers the consent page; returns the redirect (`Result`) the server sent back.

    `authorization_url` is used exactly as the client built it; if it names one of Keap's own hosts
    (a library that hard-codes them), the browser is pointed at keapsake the same way as the
    library's API calls (`wire.reroute`): same path and query, keapsake's origin.
    """
    url, _ = wire.reroute(authorization_url)
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}"
    s = requests.Session()
    s.headers["User-Agent"] = "keapsake-compat-browser"

    r = s.get(url, allow_redirects=False)
    if r.status_code != 200:
        raise AuthorizationError(f"GET authorize: expected 200 login page, got {r.status_code}: {r.text[:300]}")
    login = find_form(r.text, "login")
    if login is None:
        raise AuthorizationError(f"GET authorize: no login form on the page: {r.text[:300]}")
    if "csrf_token" not in login.fields:
        raise AuthorizationError("login form has no hidden csrf_token input")
    r = s.post(urljoin(r.url, login.action),
               data={"form": "login", "csrf_token": login.fields["csrf_token"],
                     "email": email, "password": password},
               headers={"Origin": origin}, allow_redirects=False)
    if r.status_code != 303:
        raise AuthorizationError(f"POST login: expected 303, got {r.status_code}: {r.text[:300]}")
    r = s.get(urljoin(r.url, r.headers["Location"]), allow_redirects=False)
    if r.status_code != 200:
        raise AuthorizationError(f"GET consent: expected 200, got {r.status_code}: {r.text[:300]}")
    consent = find_form(r.text, "consent")
    if consent is None:
        raise AuthorizationError(f"after login: no consent form on the page: {r.text[:300]}")
    if decision not in {v for n, v in consent.buttons if n == "decision"}:
        raise AuthorizationError(f"consent form has no decision={decision} button: {consent.buttons}")
    r = s.post(urljoin(r.url, consent.action),
               data={"form": "consent", "csrf_token": consent.fields.get("csrf_token", ""),
                     "account_id": consent.fields.get("account_id", ""), "decision": decision},
               headers={"Origin": origin}, allow_redirects=False)
    if r.status_code != 302:
        raise AuthorizationError(f"POST consent: expected 302, got {r.status_code}: {r.text[:300]}")
    return Result(r.headers["Location"])
