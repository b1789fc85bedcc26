"""keap-python 1.3.0 (PyPI `keap-python`, package `keap`) against keapsake.

Driven only through its public API: `Keap.get_authorization_url`, `request_access_token`,
`refresh_access_token`, and `Keap.REST_V1.<Service>` methods. The library sends the access token
as `?access_token=` on every REST call, form-posts the code exchange with body credentials and
refreshes with HTTP Basic. Base URLs: class constants patched by `keapcompat.patches.keap_python`.
"""

import base64
import hashlib
from datetime import date, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit

from keap import Keap
from keap.KeapToken import KeapToken
from keap.exceptions import KeapUnauthorizedException
from keap.REST.BaseService import RecordNotFoundError
from keap.REST.models import CustomField, CustomFieldType, DuplicateOption, EmailAddress, PhoneNumber

from keapcompat import browser, patches, server, wire
from keapcompat.testing import ClientTestCase, unique


# keap-python URL-encodes the state; it must come back unchanged, reserved characters included.
STATE = "compat kp/1&x=ü+%"


def _form(ex):
    return {k: v[0] for k, v in parse_qs(ex.request_body, keep_blank_values=True).items()}


def _query(ex):
    return parse_qs(urlsplit(ex.url).query, keep_blank_values=True)


class KeapPython(ClientTestCase):
    LIBRARY = "keap-python"
    keap = None
    code = None
    first_token = None  # KeapToken from the code exchange
    token = None  # current KeapToken

    @classmethod
    def prepare(cls):
        patches.keap_python(cls.base)
        cls.keap = Keap(config={
            "CLIENT_ID": cls.app.client_id,
            "CLIENT_SECRET": cls.app.client_secret,
            "REDIRECT_URL": cls.app.redirect_uri,
            "STORAGE_CLASS": "keap.storages.InMemoryStorage",
            "APP_NAME": "keapsake-compat",
        })

    # --- helpers --------------------------------------------------------------------------------

    @property
    def rest(self):
        """The REST services, with a token. If the OAuth steps did not run (e.g. `-k test_2`), get
        one the same way they do, through the library."""
        if not type(self).token:
            res = browser.authorize(self.keap.get_authorization_url(), server.DEMO_USER, server.DEMO_PASSWORD)
            token = self.call("request_access_token", self.keap.request_access_token, res.code)
            self.assertTrue(token.access_token, "code exchange gave no access token")
            type(self).token = token
        return self.keap.REST_V1

    def new_contact(self, **extra):
        email = EmailAddress(1)
        email.email = unique("ada") + "@example.com"
        phone = PhoneNumber(1)
        phone.number = "555-0100"
        phone.type = "Work"
        c = self.call("ContactService.create", self.rest.ContactService.create,
                      given_name="Ada", family_name="Lovelace",
                      email_addresses=[email], phone_numbers=[phone], **extra)
        self.assertIsInstance(c, dict, f"create should return the contact, got {c!r}")
        self.assertIsInstance(c.get("id"), int, f"contact id should be an integer: {c!r}")
        return c

    def new_tags(self, n):
        svc = self.rest.TagService
        cat = self.call("TagService.create_category", svc.create_category, unique("compat-cat"))
        tags = [self.call("TagService.create", svc.create, cat["id"], unique("compat-tag")) for _ in range(n)]
        return cat, tags

    # --- OAuth ----------------------------------------------------------------------------------

    def test_01_authorization_url_login_and_consent(self):
        url = self.keap.get_authorization_url(state=STATE)
        parts = urlsplit(url)
        self.assertEqual(f"{parts.scheme}://{parts.netloc}{parts.path}", self.base + "/app/oauth/authorize")
        q = {k: v[0] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self.assertEqual(q, {"client_id": self.app.client_id, "redirect_uri": self.app.redirect_uri,
                             "response_type": "code", "scope": "full", "state": STATE})
        res = browser.authorize(url, server.DEMO_USER, server.DEMO_PASSWORD)
        self.assertTrue(res.location.startswith(self.app.redirect_uri + "?"), res.location)
        self.assertIsNone(res.error, res.location)
        self.assertTrue(res.code, f"no code in {res.location}")
        self.assertEqual(res.state, STATE, "state comes back byte for byte")
        type(self).code = res.code

    def test_02_default_empty_state_is_echoed(self):
        # keap-python always sends `state=`, empty unless given (oauth.md §3.1: echo it, even empty).
        url = self.keap.get_authorization_url()
        self.assertIn("state=", url)
        res = browser.authorize(url, server.DEMO_USER, server.DEMO_PASSWORD)
        self.assertTrue(res.code, res.location)
        self.assertIn("state", res.query, f"empty state not echoed: {res.location}")
        self.assertEqual(res.state, "")

    def test_03_exchange_code(self):
        code = self.require("code", "test_01_authorization_url_login_and_consent")
        token = self.call("request_access_token", self.keap.request_access_token, code)
        ex = self.wire_exchange("POST", "/token")
        self.assertEqual(ex.status, 200, ex.response_body)
        self.assertEqual(_form(ex), {"client_id": self.app.client_id, "client_secret": "…",
                                     "redirect_uri": self.app.redirect_uri, "code": "…",
                                     "grant_type": "authorization_code"})
        self.assertNotIn("Authorization", ex.request_headers)
        self.assertEqual(ex.response_headers.get("cache-control"), "no-store")
        self.assertEqual(ex.response_headers.get("pragma"), "no-cache")
        self.assertTrue(ex.response_headers.get("content-type", "").startswith("application/json"))
        self.assertEqual(ex.json()["token_type"], "bearer")
        self.assertTrue(token.access_token)
        self.assertTrue(token.refresh_token)
        self.assertIsInstance(token.expires_in, int)
        self.assertEqual(token.expires_in, 3600)
        self.assertEqual(token.scope, "full|demo1.infusionsoft.com")
        self.assertFalse(token.is_expired)
        self.assertIs(self.keap.token, token, "the library stores the token it built")
        type(self).first_token = type(self).token = token

    def test_04_rest_call_sends_access_token_query(self):
        info = self.call("UserService.get_logged_in_user_info",
                         self.rest.UserService.get_logged_in_user_info)
        ex = self.wire_exchange("GET", "/crm/rest/v1/oauth/connect/userinfo")
        self.assertEqual(_query(ex).get("access_token"), ["…"], "keap-python authenticates by query")
        self.assertNotIn("Authorization", ex.request_headers)
        self.assertEqual(info.get("email"), server.DEMO_USER)
        self.assertEqual(info.get("infusionsoft_id"), server.DEMO_USER)
        self.assertIsInstance(info.get("global_user_id"), int)

    def test_05_refresh_rotates(self):
        old = self.require("first_token", "test_03_exchange_code")
        new = self.call("refresh_access_token", self.keap.refresh_access_token)
        ex = self.wire_exchange("POST", "/token")
        self.assertEqual(ex.status, 200, ex.response_body)
        self.assertEqual(_form(ex), {"grant_type": "refresh_token", "refresh_token": "…"})
        self.assertIn("Authorization", ex.request_headers, "keap-python refreshes with HTTP Basic")
        self.assertTrue(new.access_token)
        self.assertTrue(new.refresh_token)
        self.assertNotEqual(new.refresh_token, old.refresh_token, "refresh token must rotate")
        self.assertNotEqual(new.access_token, old.access_token)
        self.assertEqual(new.scope, "full|demo1.infusionsoft.com")
        type(self).token = new
        info = self.call("userinfo with the refreshed token", self.rest.UserService.get_logged_in_user_info)
        self.assertEqual(info.get("email"), server.DEMO_USER)

    def test_06_rotated_refresh_token_is_refused(self):
        old = self.require("first_token", "test_03_exchange_code")
        current = self.require("token", "test_05_refresh_rotates")
        self.assertNotEqual(old.refresh_token, current.refresh_token, "precondition: test_05 rotated")
        self.keap.save_token(KeapToken(access_token=current.access_token, refresh_token=old.refresh_token,
                                       expires_in=current.expires_in, scope=current.scope))
        # keap-python builds a token from whatever JSON /token returns; an error body yields a token
        # without access_token, and saving it raises "No token set for client ..." (its XML-RPC
        # services refuse a missing token). The refusal itself is asserted on the wire.
        with self.assertRaises(Exception):
            self.keap.refresh_access_token()
        ex = self.wire_exchange("POST", "/token")
        self.assertEqual(ex.status, 400, ex.response_body)
        self.assertEqual(ex.json().get("error"), "invalid_grant", ex.response_body)
        self.assertEqual(ex.response_headers.get("cache-control"), "no-store")
        # Put the good token back: within the reuse grace window the family is not revoked
        # (oauth.md §4.3), so the current refresh token still works.
        self.keap.save_token(current)
        again = self.call("refresh_access_token after a refused replay", self.keap.refresh_access_token)
        self.assertTrue(again.access_token)
        self.assertNotEqual(again.refresh_token, current.refresh_token)
        type(self).token = again

    def test_07_unknown_access_token_raises_unauthorized(self):
        # keap-python parses every non-204 body as JSON before looking at the status, so a 401 must
        # carry a JSON body (Apigee's fault envelope, oauth.md §6) for its typed exception to fire.
        current = self.require("token", "test_03_exchange_code")
        self.keap.save_token(KeapToken(access_token="not-a-real-token", refresh_token=current.refresh_token,
                                       expires_in=current.expires_in, scope=current.scope))
        try:
            with self.assertRaises(KeapUnauthorizedException):
                self.keap.REST_V1.UserService.get_logged_in_user_info()
        finally:
            self.keap.save_token(current)
        ex = self.wire_exchange("GET", "/crm/rest/v1/oauth/connect/userinfo")
        self.assertEqual(ex.status, 401)
        self.assertEqual(ex.json()["fault"]["detail"]["errorcode"], "keymanagement.service.invalid_access_token")

    # --- contacts -------------------------------------------------------------------------------

    def test_10_contact_create(self):
        c = self.new_contact(opt_in_reason="compat suite")
        ex = self.wire_exchange("POST", "/crm/rest/v1/contacts")
        self.assertEqual(ex.status, 201, "POST /contacts answers 201 (rest-v1.md §1.2)")
        self.assertEqual(c["given_name"], "Ada")
        self.assertEqual(c["family_name"], "Lovelace")
        self.assertEqual([(e["field"], e["email"].endswith("@example.com")) for e in c["email_addresses"]],
                         [("EMAIL1", True)])
        self.assertEqual([(p["field"], p["number"]) for p in c["phone_numbers"]], [("PHONE1", "555-0100")])
        self.assertEqual(c.get("tag_ids"), [])
        self.assertV1Date(c.get("date_created"), "date_created")
        self.assertV1Date(c.get("last_updated"), "last_updated")

    def test_11_contact_get(self):
        c = self.new_contact()
        got = self.call("ContactService.get", self.rest.ContactService.get, c["id"])
        self.assertEqual(got["id"], c["id"])
        self.assertEqual(got["given_name"], "Ada")
        self.assertEqual(got["email_addresses"], c["email_addresses"])
        # optional_properties as a list: requests repeats the key (rest-v1.md §0.1 accepts both forms)
        got = self.call("ContactService.get(optional_properties=[...])", self.rest.ContactService.get,
                        c["id"], optional_properties=["job_title", "custom_fields"])
        self.assertEqual(_query(self.wire_exchange("GET", f"/crm/rest/v1/contacts/{c['id']}"))
                         .get("optional_properties"), ["job_title", "custom_fields"])
        self.assertIn("job_title", got)
        self.assertIn("custom_fields", got)

    def test_12_contact_update(self):
        c = self.new_contact()
        up = self.call("ContactService.update", self.rest.ContactService.update, c["id"],
                       given_name="Augusta", job_title="Analyst")
        ex = self.wire_exchange("PATCH", f"/crm/rest/v1/contacts/{c['id']}")
        self.assertEqual(ex.status, 200, ex.response_body)
        # keap-python puts the path id into the PATCH body too; it must be ignored (read-only field)
        self.assertIn('"id":', ex.request_body)
        self.assertEqual(up["id"], c["id"])
        self.assertEqual(up["given_name"], "Augusta")
        self.assertEqual(up["family_name"], "Lovelace")
        self.assertEqual(up["email_addresses"], c["email_addresses"], "slots not sent must stay")
        got = self.call("ContactService.get", self.rest.ContactService.get, c["id"],
                        optional_properties="job_title")
        self.assertEqual(got["given_name"], "Augusta")
        self.assertEqual(got.get("job_title"), "Analyst")
        # update_mask: only the named field is applied
        up = self.call("ContactService.update(update_mask=...)", self.rest.ContactService.update, c["id"],
                       update_mask=["family_name"], given_name="Ignored", family_name="King")
        self.assertEqual((up["given_name"], up["family_name"]), ("Augusta", "King"))

    def test_13_contact_list(self):
        c = self.new_contact()
        email = c["email_addresses"][0]["email"]
        page = self.call("ContactService.list(email=...)", self.rest.ContactService.list, email=email)
        ex = self.wire_exchange("GET", "/crm/rest/v1/contacts")
        q = _query(ex)
        # what keap-python sends by default: order=id, limit=1000, no offset (0 is dropped)
        self.assertEqual((q.get("order"), q.get("limit"), q.get("offset")), (["id"], ["1000"], None))
        self.assertV1ListEnvelope(page, "contacts")
        self.assertEqual([x["id"] for x in page["contacts"]], [c["id"]])
        self.assertEqual(page["count"], 1)
        self.new_contact()
        # ascending=True is sent as `ascending=True`, a parameter v1 does not define: ignored
        page = self.call("ContactService.list(ascending=True)", self.rest.ContactService.list,
                         email=email, ascending=True)
        self.assertEqual(_query(self.wire_exchange("GET", "/crm/rest/v1/contacts")).get("ascending"), ["True"])
        self.assertEqual([x["id"] for x in page["contacts"]], [c["id"]])
        page = self.call("ContactService.list(limit=1)", self.rest.ContactService.list, limit=1)
        self.assertV1ListEnvelope(page, "contacts")
        self.assertEqual(len(page["contacts"]), 1)
        self.assertGreaterEqual(page["count"], 2, "count is the total, not the page size")
        self.assertIn("offset=1", page["next"])
        self.assertIn("limit=1", page["next"])

    def test_14_contact_upsert(self):
        c = self.new_contact()
        email = EmailAddress(1)
        email.email = c["email_addresses"][0]["email"]
        up = self.call("ContactService.create(duplicate_option=Email)", self.rest.ContactService.create,
                       duplicate_option=DuplicateOption.EMAIL, email_addresses=[email], given_name="Ada B.")
        ex = self.wire_exchange("PUT", "/crm/rest/v1/contacts")
        self.assertEqual(ex.status, 200, ex.response_body)
        self.assertEqual(up["id"], c["id"], "matched by e-mail, so updated in place")
        self.assertEqual(up["given_name"], "Ada B.")
        self.assertEqual(up["family_name"], "Lovelace")

    def test_15_contact_dates_in_keap_python_form(self):
        # keap-python serialises datetimes as `2024-01-02T03:04:05.123456Z` (six fractional digits)
        # and dates as `yyyy-MM-dd`, in bodies and in the since/until query alike.
        before = datetime.now(timezone.utc).replace(tzinfo=None) - timedelta(seconds=5)
        c = self.new_contact(birthday=datetime(1815, 12, 10, 8, 30, 0, 250000), anniversary=date(1835, 7, 8))
        sent = self.wire_exchange("POST", "/crm/rest/v1/contacts").request_body
        self.assertIn('"birthday": "1815-12-10T08:30:00.250000Z"', sent)
        self.assertIn('"anniversary": "1835-07-08"', sent)
        got = self.call("ContactService.get", self.rest.ContactService.get, c["id"])
        self.assertEqual(got.get("birthday"), "1815-12-10T08:30:00.250+0000")
        self.assertEqual(got.get("anniversary"), "1835-07-08")
        email = c["email_addresses"][0]["email"]
        page = self.call("ContactService.list(since=...)", self.rest.ContactService.list, email=email, since=before)
        self.assertIn("Z", _query(self.wire_exchange("GET", "/crm/rest/v1/contacts"))["since"][0])
        self.assertEqual([x["id"] for x in page["contacts"]], [c["id"]])
        page = self.call("ContactService.list(until=...)", self.rest.ContactService.list, email=email, until=before)
        self.assertEqual(page["contacts"], [])
        self.assertEqual(page["count"], 0)

    def test_17_contact_model_and_custom_fields(self):
        svc = self.rest.ContactService
        model = self.call("ContactService.model", svc.model)
        self.assertIsInstance(model.get("custom_fields"), list)
        self.assertTrue({"job_title", "lead_source_id", "custom_fields"} <= set(model.get("optional_properties", [])),
                        model.get("optional_properties"))
        label = unique("Favourite language")
        # create_custom_field drops group_id=0 (its default) and None values before sending
        field = self.call("ContactService.create_custom_field", svc.create_custom_field, CustomFieldType.TEXT, label)
        ex = self.wire_exchange("POST", "/crm/rest/v1/contacts/model/customFields")
        self.assertEqual(ex.status, 201, ex.response_body)
        self.assertIsInstance(field.get("id"), int, field)
        self.assertEqual(field.get("label"), label)
        self.assertEqual(field.get("field_type"), "Text")
        model = self.call("ContactService.model", svc.model)
        self.assertIn(field["id"], [f.get("id") for f in model["custom_fields"]])
        c = self.new_contact(custom_fields=[CustomField(field["id"], "Python")])
        got = self.call("ContactService.get", svc.get, c["id"], optional_properties="custom_fields")
        values = {v["id"]: v["content"] for v in got.get("custom_fields") or []}
        self.assertEqual(values.get(field["id"]), "Python", got.get("custom_fields"))
        self.call("ContactService.update", svc.update, c["id"], custom_fields=[CustomField(field["id"], "Rust")])
        got = self.call("ContactService.get", svc.get, c["id"], optional_properties="custom_fields")
        values = {v["id"]: v["content"] for v in got.get("custom_fields") or []}
        self.assertEqual(values.get(field["id"]), "Rust")

    def test_16_contact_delete(self):
        c = self.new_contact()
        self.assertIs(self.call("ContactService.delete", self.rest.ContactService.delete, c["id"]), True)
        self.assertEqual(self.wire_exchange("DELETE", f"/crm/rest/v1/contacts/{c['id']}").status, 204)
        with self.assertRaises(RecordNotFoundError):
            self.rest.ContactService.get(c["id"])
        ex = self.wire_exchange("GET", f"/crm/rest/v1/contacts/{c['id']}")
        self.assertIsInstance(ex.json().get("message"), str, ex.response_body)

    # --- tags -----------------------------------------------------------------------------------

    def test_20_tag_category_and_tag_create(self):
        svc = self.rest.TagService
        cat_name = unique("compat-cat")
        cat = self.call("TagService.create_category", svc.create_category, cat_name, "made by the compat suite")
        self.assertEqual(self.wire_exchange("POST", "/crm/rest/v1/tags/categories").status, 200)
        self.assertIsInstance(cat.get("id"), int)
        self.assertEqual(cat.get("name"), cat_name)
        name = unique("compat-tag")
        tag = self.call("TagService.create", svc.create, cat["id"], name, "a tag")
        self.assertEqual(self.wire_exchange("POST", "/crm/rest/v1/tags").status, 200,
                         "POST /tags answers 200 (rest-v1.md §2.2)")
        self.assertIsInstance(tag.get("id"), int)
        self.assertEqual(tag.get("name"), name)
        self.assertEqual(tag.get("description"), "a tag")
        self.assertEqual((tag.get("category") or {}).get("id"), cat["id"])
        self.assertEqual((tag.get("category") or {}).get("name"), cat_name)
        got = self.call("TagService.get", svc.get, tag["id"])
        self.assertEqual(got, tag)
        page = self.call("TagService.list(name=...)", svc.list, name=name)
        self.assertV1ListEnvelope(page, "tags")
        self.assertEqual([t["id"] for t in page["tags"]], [tag["id"]])
        page = self.call("TagService.list(category=...)", svc.list, category=cat["id"])
        self.assertEqual([t["id"] for t in page["tags"]], [tag["id"]])

    def test_21_tag_apply(self):
        c = self.new_contact()
        _, tags = self.new_tags(3)
        t1, t2, t3 = (t["id"] for t in tags)
        svc = self.rest.ContactService
        res = self.call("ContactService.add_tags", svc.add_tags, c["id"], [t1, t2])
        self.assertEqual(self.wire_exchange("POST", f"/crm/rest/v1/contacts/{c['id']}/tags").status, 200)
        self.assertEqual(res, {str(t1): "SUCCESS", str(t2): "SUCCESS"})
        res = self.call("ContactService.add_tags (again)", svc.add_tags, c["id"], [t1])
        self.assertEqual(res, {str(t1): "DUPLICATE"})
        res = self.call("TagService.add_contacts", self.rest.TagService.add_contacts, t3, [c["id"]])
        self.assertEqual(res, {str(c["id"]): "SUCCESS"})
        page = self.call("ContactService.get_tags", svc.get_tags, c["id"])
        self.assertV1ListEnvelope(page, "tags")
        self.assertEqual(sorted(t["tag"]["id"] for t in page["tags"]), sorted([t1, t2, t3]))
        for t in page["tags"]:
            self.assertIsInstance(t["tag"].get("category"), str, "SimpleTag.category is the category name")
            self.assertV1Date(t.get("date_applied"), "date_applied")
        self.assertEqual(sorted(self.call("ContactService.get", svc.get, c["id"])["tag_ids"]), sorted([t1, t2, t3]))
        page = self.call("TagService.get_tagged_contacts", self.rest.TagService.get_tagged_contacts, t3)
        self.assertV1ListEnvelope(page, "contacts")
        self.assertEqual([x["contact"]["id"] for x in page["contacts"]], [c["id"]])
        self.assertEqual(page["contacts"][0]["contact"].get("first_name"), "Ada")

    def test_22_tag_remove(self):
        c = self.new_contact()
        _, tags = self.new_tags(5)
        ids = [t["id"] for t in tags]
        svc, tsvc = self.rest.ContactService, self.rest.TagService
        self.call("ContactService.add_tags", svc.add_tags, c["id"], ids)
        cid = c["id"]
        steps = [
            ("ContactService.remove_tag", svc.remove_tag, (cid, ids[0]), f"/crm/rest/v1/contacts/{cid}/tags/{ids[0]}"),
            # a list of ids goes out as repeated keys: ?ids=a&ids=b
            ("ContactService.remove_tags", svc.remove_tags, (cid, ids[1:3]), f"/crm/rest/v1/contacts/{cid}/tags"),
            ("TagService.remove_contact", tsvc.remove_contact, (ids[3], cid), f"/crm/rest/v1/tags/{ids[3]}/contacts/{cid}"),
            # comma-separated: ?ids=a,b
            ("TagService.remove_contacts", tsvc.remove_contacts, (ids[4], [cid]), f"/crm/rest/v1/tags/{ids[4]}/contacts"),
        ]
        for what, fn, args, path in steps:
            self.assertIs(self.call(what, fn, *args), True, what)
            self.assertEqual(self.wire_exchange("DELETE", path).status, 204, what)
        self.assertEqual(_query(wire.last("DELETE", f"/crm/rest/v1/contacts/{cid}/tags")).get("ids"),
                         [str(ids[1]), str(ids[2])])
        page = self.call("ContactService.get_tags", svc.get_tags, cid)
        self.assertEqual(page["tags"], [])
        self.assertEqual(page["count"], 0)
        self.assertEqual(self.call("ContactService.get", svc.get, cid)["tag_ids"], [])

    # --- XML-RPC (`Keap.XML.*`: stdlib xmlrpc.client, token as `?access_token=` and as the first
    # parameter) ----------------------------------------------------------------------------------

    @property
    def xml(self):
        self.rest  # a token, through the library
        return self.keap.XML

    def test_50_xmlrpc_contact_add_load_query(self):
        x = self.xml
        email = unique("xml") + "@example.com"
        cid = self.call("XML ContactService.add", x.ContactService.add,
                        {"FirstName": "Grace", "LastName": "Hopper", "Email": email, "Phone1": "555-0101"})
        self.assertIsInstance(cid, int)
        row = self.call("XML ContactService.load", x.ContactService.load, cid, ["Id", "FirstName", "Email", "Phone1"])
        self.assertEqual(row, {"Id": cid, "FirstName": "Grace", "Email": email, "Phone1": "555-0101"})
        self.assertEqual(self.call("XML ContactService.find_by_email", x.ContactService.find_by_email, email, ["Id"]),
                         [{"Id": cid}])
        rows = self.call("XML DataService.query", x.DataService.query,
                         "Contact", 10, 0, {"Email": email}, ["Id", "LastName"], "Id", True)
        self.assertEqual(rows, [{"Id": cid, "LastName": "Hopper"}])
        self.assertEqual(self.call("XML DataService.count", x.DataService.count, "Contact", {"Email": email}), 1)
        self.assertEqual(self.call("XML ContactService.update", x.ContactService.update, cid, {"LastName": "Murray Hopper"}), cid)
        # The same contact through REST.
        c = self.call("ContactService.get", self.rest.ContactService.get, cid)
        self.assertEqual((c["given_name"], c["family_name"]), ("Grace", "Murray Hopper"))
        self.assertEqual([e["email"] for e in c["email_addresses"]], [email])
        self.assertEqual(self.call("XML DataService.get_app_setting", x.test_connection), "yes")

    def test_51_xmlrpc_tag(self):
        x = self.xml
        cid = x.ContactService.add({"FirstName": "Tagged", "Email": unique("xmltag") + "@example.com"})
        # keap-python's `DataService.create` sends `DataService.create`, a method Keap's
        # DataService does not have: [UnknownMethod] there and here. Its `__getattr__` reaches
        # Keap's `add`.
        from keap.exceptions import KeapXMLRPCException
        with self.assertRaises(KeapXMLRPCException):
            x.DataService.create("ContactGroup", {"GroupName": unique("xml-tag")})
        tag = self.call("XML DataService.add", x.DataService.add, "ContactGroup", {"GroupName": unique("xml-tag")})
        self.assertIsInstance(tag, int)
        self.assertIs(self.call("XML ContactService.add_tag", x.ContactService.add_tag, cid, tag), True)
        self.assertEqual(x.ContactService.load(cid, ["Groups"]), {"Groups": str(tag)})
        self.assertEqual(self.call("ContactService.get", self.rest.ContactService.get, cid)["tag_ids"], [tag])
        assigned = x.DataService.find_by_field("ContactGroupAssign", 10, 0, "ContactId", cid, ["GroupId"])
        self.assertEqual(assigned, [{"GroupId": tag}])
        self.assertIs(x.ContactService.remove_tag(cid, tag), True)
        self.assertEqual(x.ContactService.load(cid, ["Id", "Groups"]), {"Id": cid})

    def test_52_xmlrpc_email_record_and_opt_status(self):
        x = self.xml
        email = unique("xmlmail") + "@example.com"
        cid = x.ContactService.add({"FirstName": "Mail", "Email": email})
        # keap-python's EmailService has no attachEmail method; its __getattr__ forwards any name
        # to `APIEmailService.<name>`, which is how its users reach the rest of the service.
        ok = self.call("XML APIEmailService.attachEmail", x.EmailService.attachEmail,
                       cid, "Compat", "compat@example.com", email, "", "", "Text", "Archived by XML-RPC",
                       "", "plain body", "", "", "", 1)
        self.assertIs(ok, True)
        listed = self.call("EmailService.list_emails", self.rest.EmailService.list_emails, contact_id=cid)
        self.assertEqual([e["subject"] for e in listed["emails"]], ["Archived by XML-RPC"])
        self.assertEqual(x.EmailService.get_optin_status(email), 0)
        self.assertIs(self.call("XML optin_email", x.EmailService.optin_email, email, "compat"), True)
        self.assertEqual(x.EmailService.get_optin_status(email), 1)
        sent = self.call("XML APIEmailService.sendEmail", x.EmailService.sendEmail,
                         [cid], "compat@example.com", "~Contact.Email~", "", "", "Text",
                         "Hello ~Contact.FirstName~", "", "Text body")
        self.assertIs(sent, True)
        listed = self.rest.EmailService.list_emails(contact_id=cid)
        self.assertIn("Hello Mail", [e["subject"] for e in listed["emails"]])

    def test_53_xmlrpc_faults_raise(self):
        from keap.exceptions import KeapXMLRPCException
        x = self.xml
        with self.assertRaises(KeapXMLRPCException) as ctx:
            x.DataService.load("NoSuchTable", 1, ["Id"])
        self.assertIn("[NoTableAccess]", str(ctx.exception.__dict__) + str(ctx.exception))
        with self.assertRaises(KeapXMLRPCException):
            x.ContactService.load(999999, ["Id"])

    def test_54_xmlrpc_order_payment_card_and_inventory(self):
        """An order placed and paid over XML-RPC (`InvoiceService`, `OrderService.placeOrder`,
        `ProductService`), seen through REST by the same library."""
        from keap.exceptions import KeapXMLRPCException
        x = self.xml
        email = unique("xmlorder") + "@example.com"
        cid = x.ContactService.add({"FirstName": "Orderly", "Email": email})
        pid = self.call("XML DataService.add Product", x.DataService.add,
                        "Product", {"ProductName": unique("xml-product"), "ProductPrice": 12.5})
        inv = self.call("XML InvoiceService.createBlankOrder", x.InvoiceService.createBlankOrder,
                        cid, "Compat XML order", datetime(2027, 1, 15, 10, 0, 0), 0, 0)
        self.assertIsInstance(inv, int)
        self.assertIs(self.call("XML InvoiceService.addOrderItem", x.InvoiceService.addOrderItem,
                                inv, pid, 4, 12.5, 2, "two of them", "gift"), True)
        self.assertIs(x.InvoiceService.addOrderItem(inv, 0, 1, 4.99, 1, "Shipping", ""), True)
        self.assertEqual(self.call("XML InvoiceService.calculateAmountOwed",
                                   x.InvoiceService.calculateAmountOwed, inv), 29.99)
        self.assertIs(self.call("XML InvoiceService.addManualPayment", x.InvoiceService.addManualPayment,
                                inv, 9.99, datetime(2027, 1, 15, 11, 0, 0), "Check", "deposit", False), True)
        pays = self.call("XML InvoiceService.getPayments", x.InvoiceService.getPayments, inv)
        self.assertEqual([(p["PayAmt"], p["PayType"], p["PayNote"], p["InvoiceId"]) for p in pays],
                         [(9.99, "Check", "deposit", inv)])
        # The same order through REST.
        order = self.call("OrderService.get", self.rest.OrderService.get, inv)
        self.assertEqual((order["title"], order["total"], order["total_paid"], order["total_due"]),
                         ("Compat XML order", 29.99, 9.99, 20.0))
        self.assertEqual([i["quantity"] for i in order["order_items"]], [2, 1])
        rows = x.DataService.query("OrderItem", 10, 0, {"OrderId": inv}, ["ProductId", "Qty", "PPU", "ItemType"], "Id", True)
        self.assertEqual(rows, [{"ProductId": pid, "Qty": 2, "PPU": 12.5, "ItemType": 4},
                                {"Qty": 1, "PPU": 4.99, "ItemType": 1}])
        # A card on file through the library's REST call, then placeOrder charges it.
        card = self.call("ContactService.create_credit_card", self.rest.ContactService.create_credit_card,
                         cid, None, "4111 1111 1111 1111", "Visa", email, "12", "2030", None, None, None,
                         "Orderly Person", "123")
        self.assertIsInstance(card.get("id"), int, card)
        placed = self.call("XML OrderService.placeOrder", x.OrderService.placeOrder,
                           cid, card["id"], 0, [pid], [], False, [], 0, 0)
        self.assertEqual((placed["Successful"], placed["Code"]), ("true", "APPROVED"), placed)
        self.assertEqual(placed["OrderId"], placed["InvoiceId"])
        paid = self.rest.OrderService.get(int(placed["OrderId"]))
        self.assertEqual((paid["status"], paid["total_paid"]), ("PAID", 12.5))
        # What is still due on the first order, charged to the same card.
        charged = self.call("XML InvoiceService.chargeInvoice", x.InvoiceService.chargeInvoice,
                            inv, "the rest", card["id"], 0, False)
        self.assertEqual((charged["Successful"], charged["Code"]), (True, "APPROVED"), charged)
        self.assertEqual(x.InvoiceService.calculateAmountOwed(inv), 0.0)
        # Inventory never goes below zero.
        self.assertIs(self.call("XML ProductService.increaseInventory", x.ProductService.increaseInventory, pid, 3), True)
        self.assertEqual(x.ProductService.getInventory(pid), 3)
        with self.assertRaises(KeapXMLRPCException) as ctx:
            x.ProductService.decreaseInventory(pid, 5)
        self.assertIn("[InvalidParameter]", str(ctx.exception.__dict__) + str(ctx.exception))
        self.assertEqual(x.ProductService.getInventory(pid), 3)

    # --- products, orders, payments, transactions (rest-v1.md §7–§8) ----------------------------

    def new_product(self, **extra):
        name = unique("compat-product")
        p = self.call("ProductService.create", self.rest.ProductService.create,
                      product_name=name, product_price=19.99, sku=unique("SKU"), **extra)
        self.assertEqual(self.wire_exchange("POST", "/crm/rest/v1/products").status, 201)
        self.assertIsInstance(p.get("id"), int, f"product id should be an integer: {p!r}")
        self.assertEqual(p.get("product_name"), name)
        return p

    def test_30_product_create_get_list_replace(self):
        svc = self.rest.ProductService
        p = self.new_product(product_short_desc="short")
        self.assertEqual(p.get("product_price"), 19.99)
        self.assertIs(p.get("active"), True, "the single shape has `active` (rest-v1.md §7.1)")
        got = self.call("ProductService.get", svc.get, p["id"])
        self.assertEqual(got, p)
        page = self.call("ProductService.list", svc.list, limit=1000)
        self.assertV1ListEnvelope(page, "products")
        listed = [x for x in page["products"] if x["id"] == p["id"]]
        self.assertEqual(len(listed), 1)
        self.assertEqual(listed[0].get("status"), 1, "the list shape has `status` 1/0 (rest-v1.md §7.1)")
        self.assertNotIn("active", listed[0])
        # keap-python's `replace` is the PATCH (its `update` PUTs, which Keap has no endpoint for).
        new = self.call("ProductService.replace", svc.replace, p["id"], data={"product_desc": "long text"})
        self.assertEqual(self.wire_exchange("PATCH", f"/crm/rest/v1/products/{p['id']}").status, 200)
        self.assertEqual(new.get("product_desc"), "long text")
        self.assertEqual(new.get("product_short_desc"), "short")

    def test_31_product_subscription_and_image(self):
        svc = self.rest.ProductService
        p = self.new_product()
        plan = self.call("ProductService.create_product_subscription", svc.create_product_subscription,
                         p["id"], cycle_type="MONTH", plan_price=9.99, frequency=1)
        self.assertEqual(self.wire_exchange("POST", f"/crm/rest/v1/products/{p['id']}/subscriptions").status, 201)
        self.assertEqual((plan.get("cycle_type"), plan.get("plan_price")), ("MONTH", 9.99))
        got = self.call("ProductService.get_product_subscription", svc.get_product_subscription, p["id"], plan["id"])
        self.assertEqual(got, plan)
        png = b"\x89PNG\r\n\x1a\n" + b"\0" * 16
        # The spec's 201 for an image has no body (as keapsake sends it); keap-python parses every
        # non-204 body as JSON and so raises after the upload succeeded (SPEC-DEVIATIONS #20).
        with self.assertRaises(ValueError):
            svc.upload_product_image(p["id"], file_name="pic.png", file_data=base64.b64encode(png).decode(),
                                     checksum=hashlib.sha256(png).hexdigest())
        ex = self.wire_exchange("POST", f"/crm/rest/v1/products/{p['id']}/image")
        self.assertEqual((ex.status, ex.response_body), (201, ""))
        self.assertIs(self.call("ProductService.delete_product_image", svc.delete_product_image, p["id"]), True)
        self.assertIs(self.call("ProductService.delete", svc.delete, p["id"]), True)
        with self.assertRaises(RecordNotFoundError):
            svc.get(p["id"])

    def test_32_order_with_one_item_and_a_payment(self):
        c = self.new_contact()
        p = self.new_product()
        svc = self.rest.OrderService
        order = self.call("OrderService.create", svc.create,
                          contact_id=c["id"], order_date="2024-05-21T14:30:00.000Z",
                          order_title=unique("compat-order"), order_type="Online",
                          order_items=[{"product_id": p["id"], "quantity": 3, "price": "33.335"}])
        self.assertEqual(self.wire_exchange("POST", "/crm/rest/v1/orders").status, 201)
        self.assertIsInstance(order.get("id"), int)
        # 3 × 33.335 = 100.005 exactly, half-up: 100.01.
        self.assertEqual((order.get("total"), order.get("status")), (100.01, "DRAFT"))
        got = self.call("OrderService.get", svc.get, order["id"])
        self.assertEqual(got.get("contact_id"), str(c["id"]), "GET shape: string contact_id (rest-v1.md §8.1)")
        self.assertEqual(got["order_items"][0]["product"]["id"], p["id"])
        page = self.call("OrderService.list", svc.list, contact_id=c["id"])
        self.assertV1ListEnvelope(page, "orders")
        self.assertEqual([o["id"] for o in page["orders"]], [order["id"]])
        pay = self.call("OrderService.create_order_payments", svc.create_order_payments, order["id"],
                        payment_amount="100.01", payment_method_type="CASH", notes="compat")
        self.assertEqual(self.wire_exchange("POST", f"/crm/rest/v1/orders/{order['id']}/payments").status, 201)
        self.assertEqual((pay.get("payment_amount"), pay.get("invoice_id")), (100.01, order["id"]))
        payments = self.call("OrderService.get_order_payments", svc.get_order_payments, order["id"])
        self.assertIsInstance(payments, list, "payments are a bare array (rest-v1.md §0.3)")
        self.assertEqual([x["id"] for x in payments], [pay["id"]])
        got = self.call("OrderService.get", svc.get, order["id"])
        self.assertEqual((got.get("status"), got.get("total_due"), got.get("total_paid")), ("PAID", 0.0, 100.01))
        page = self.call("OrderService.list(paid=True)", svc.list, paid=True, contact_id=c["id"])
        self.assertEqual([o["id"] for o in page["orders"]], [order["id"]])
        txs = self.call("OrderService.get_order_transactions", svc.get_order_transactions, order["id"])
        self.assertV1ListEnvelope(txs, "transactions")
        self.assertEqual([t["id"] for t in txs["transactions"]], [pay["transaction_id"]])
        tsvc = self.rest.TransactionService
        tx = self.call("TransactionService.get", tsvc.get, pay["transaction_id"])
        self.assertEqual((tx.get("amount"), tx.get("order_ids")), (100.01, str(order["id"])))
        page = self.call("TransactionService.list", tsvc.list, contact_id=c["id"])
        self.assertV1ListEnvelope(page, "transactions")
        self.assertEqual([t["id"] for t in page["transactions"]], [pay["transaction_id"]])
        # An order with payments is not deleted (rest-v1.md §8.3); the library returns the 400 body.
        res = self.call("OrderService.delete", svc.delete, order["id"])
        self.assertEqual(self.wire_exchange("DELETE", f"/crm/rest/v1/orders/{order['id']}").status, 400)
        self.assertIn("payments", res.get("message", ""))

    # --- e-mails --------------------------------------------------------------------------------
    #
    # keap-python's EmailService: `create` (returns the record), `create_email` and `send_email`
    # (both POST /emails and return nothing), `get_email`, `list_emails`,
    # `list_emails_by_contact_id`, `sync_email_records` / `unsync_email_records` (return nothing),
    # `update_email_address`, `delete`; and `ContactService.list_emails`. It has no call that
    # reaches `POST /emails/queue`: `send_email` posts to `/emails` (SPEC-DEVIATIONS #23).

    def email_record(self, contact_id, subject):
        return {"contact_id": contact_id, "subject": subject, "sent_to_address": f"{unique('to')}@example.com",
                "sent_from_address": "sender@example.com", "html_content": "PGI+aGk8L2I+",
                "plain_content": "aGk=", "sent_date": datetime(2024, 5, 6, 7, 8, 9, 123000)}

    def test_30_email_record_create_get_list_delete(self):
        c = self.new_contact()
        svc = self.rest.EmailService
        rec = self.call("EmailService.create", svc.create, **self.email_record(c["id"], "first"))
        ex = self.wire_exchange("POST", "/crm/rest/v1/emails")
        self.assertEqual(ex.status, 201, ex.response_body)
        self.assertIsInstance(rec.get("id"), int, rec)
        self.assertEqual((rec["contact_id"], rec["subject"], rec["html_content"]), (c["id"], "first", "PGI+aGk8L2I+"))
        # keap-python sends `…T07:08:09.123000Z`; it comes back in Keap's form
        self.assertIn('"sent_date": "2024-05-06T07:08:09.123000Z"', ex.request_body)
        self.assertEqual(rec.get("sent_date"), "2024-05-06T07:08:09.123+0000")
        # create_email posts the same body and drops the answer
        self.assertIsNone(self.call("EmailService.create_email", svc.create_email,
                                    **self.email_record(c["id"], "second")))
        self.assertEqual(self.wire_exchange("POST", "/crm/rest/v1/emails").status, 201)
        got = self.call("EmailService.get_email", svc.get_email, rec["id"])
        self.assertEqual((got["id"], got["subject"], got["plain_content"]), (rec["id"], "first", "aGk="))
        page = self.call("EmailService.list_emails", svc.list_emails, contact_id=c["id"], ordered=True, limit=10)
        q = _query(self.wire_exchange("GET", "/crm/rest/v1/emails"))
        self.assertEqual((q.get("contact_id"), q.get("ordered"), q.get("limit")), ([str(c["id"])], ["True"], ["10"]))
        self.assertV1ListEnvelope(page, "emails")
        self.assertEqual([e["subject"] for e in page["emails"]], ["first", "second"])
        self.assertEqual(page["count"], 2)
        self.assertNotIn("html_content", page["emails"][0], "list items carry no contents (rest-v1.md §9.1)")
        page = self.call("EmailService.list_emails_by_contact_id", svc.list_emails_by_contact_id, c["id"])
        self.assertEqual(page["count"], 2)
        page = self.call("ContactService.list_emails", self.rest.ContactService.list_emails, c["id"])
        self.assertEqual(self.wire_exchange("GET", f"/crm/rest/v1/contacts/{c['id']}/emails").status, 200)
        self.assertV1ListEnvelope(page, "emails")
        self.assertEqual(sorted(e["subject"] for e in page["emails"]), ["first", "second"])
        self.assertIs(self.call("EmailService.delete", svc.delete, rec["id"]), True)
        self.assertEqual(self.wire_exchange("DELETE", f"/crm/rest/v1/emails/{rec['id']}").status, 204)
        with self.assertRaises(RecordNotFoundError):
            svc.get_email(rec["id"])

    def test_31_email_sync_and_unsync(self):
        c = self.new_contact()
        svc = self.rest.EmailService
        good = self.email_record(c["id"], "synced")
        # keap-python's clean_data converts datetimes only at the top level of a body and inside
        # top-level lists, not inside the dicts of a list: a caller of sync_email_records must
        # pass dates as strings (a datetime raises TypeError in json.dumps before any request).
        good["sent_date"] = "2024-05-06T07:08:09.123Z"
        bad = {"subject": "no recipient"}
        self.assertIsNone(self.call("EmailService.sync_email_records", svc.sync_email_records, emails=[good, bad]))
        ex = self.wire_exchange("POST", "/crm/rest/v1/emails/sync")
        self.assertEqual(ex.status, 201, ex.response_body)
        body = ex.json()
        self.assertEqual([e["subject"] for e in body["emails"]], ["synced"])
        self.assertEqual(body["emails"][0]["sent_date"], "2024-05-06T07:08:09.123+0000")
        # a refused record comes back as the EmailSentCreate it was read into (SPEC-DEVIATIONS, e-mails)
        self.assertEqual([(e["email"]["subject"], e["email"]["sent_to_address"]) for e in body["errors"]],
                         [("no recipient", None)])
        self.assertIsInstance(body["errors"][0]["error_message"], str)
        ids = [e["id"] for e in body["emails"]]
        self.assertIsNone(self.call("EmailService.unsync_email_records", svc.unsync_email_records, ids=ids))
        self.assertEqual(self.wire_exchange("POST", "/crm/rest/v1/emails/unsync").status, 200)
        self.assertEqual(self.call("EmailService.list_emails", svc.list_emails, contact_id=c["id"])["count"], 0)

    def test_32_send_email_posts_to_emails_not_queue(self):
        # What a caller of keap-python's send_email gets: a queue-shaped body posted to /emails,
        # refused (it is not an e-mail record) and the refusal dropped by the library. Nothing is
        # queued and no record is made; keapsake does not guess (rest-v1.md §9.3).
        c = self.new_contact()
        svc = self.rest.EmailService
        start = wire.mark()
        self.assertIsNone(self.call("EmailService.send_email", svc.send_email, contacts=[c["id"]], user_id=1,
                                    subject="Hello ~Contact.FirstName~", plain_content="aGk="))
        sent = wire.since(start)
        self.assertEqual([(e.method, e.path) for e in sent], [("POST", "/crm/rest/v1/emails")])
        self.assertEqual(sent[0].status, 400, sent[0].response_body)
        self.assertIsInstance(sent[0].json().get("message"), str)
        self.assertEqual(self.call("EmailService.list_emails", svc.list_emails, contact_id=c["id"])["count"], 0)

    def test_33_update_email_address(self):
        c = self.new_contact(opt_in_reason="compat suite")
        email = c["email_addresses"][0]["email"]
        svc = self.rest.EmailService
        self.assertIsNone(self.call("EmailService.update_email_address", svc.update_email_address, email))
        ex = self.wire_exchange("PUT", f"/crm/rest/v1/emailAddresses/{email}")
        self.assertEqual(ex.status, 200, ex.response_body)
        self.assertEqual(ex.json()["email"], email)
        self.assertIs(ex.json()["opted_in"], True)
        # opted_in=False is dropped by keap-python's serializer (it removes every falsy value), so
        # the body carries only the reason: refused, and the refusal is dropped (SPEC-DEVIATIONS #22).
        self.assertIsNone(self.call("EmailService.update_email_address(opted_in=False)", svc.update_email_address,
                                    email, opted_in=False, reason="compat opt-out"))
        ex = self.wire_exchange("PUT", f"/crm/rest/v1/emailAddresses/{email}")
        self.assertNotIn("opted_in", ex.request_body)
        self.assertEqual(ex.status, 400, ex.response_body)
        self.assertEqual(ex.json(), {"message": "opted_in is required"})
        got = self.call("ContactService.get", self.rest.ContactService.get, c["id"])
        self.assertIs(got["email_opted_in"], True, "the refused opt-out changed nothing")

    def test_34_queue_through_restful_request(self):
        # keap-python has no send call that reaches POST /emails/queue (#23), but its services'
        # public `restful_request(method, path, data)` is how every one of its calls goes out
        # (access_token query, JSON body). A send through it is queued: 202 with an empty body, as
        # Keap answers (rest-v1.md §9.2) — which keap-python then cannot parse: it calls
        # response.json() on every non-204 answer, so the caller gets a JSONDecodeError although
        # the send was accepted. The e-mail record it made is then read back through the library.
        c = self.new_contact(opt_in_reason="compat suite")
        users = self.call("UserService.list", self.rest.UserService.list)
        user_id = users["users"][0]["id"]
        svc = self.rest.EmailService
        start = wire.mark()
        with self.assertRaises(ValueError):  # requests' JSONDecodeError is a ValueError
            svc.restful_request("POST", "emails/queue", data={
                "contacts": [c["id"]], "user_id": user_id, "subject": "Hello ~Contact.FirstName~",
                "plain_content": "SGkgfkNvbnRhY3QuRmlyc3ROYW1lfiE=",  # "Hi ~Contact.FirstName~!"
            })
        sent = wire.since(start)
        self.assertEqual([(e.method, e.path, e.status) for e in sent], [("POST", "/crm/rest/v1/emails/queue", 202)])
        self.assertEqual(sent[0].response_body, "")
        self.assertIn("access_token", _query(sent[0]))
        page = self.call("EmailService.list_emails", svc.list_emails, contact_id=c["id"])
        self.assertEqual(page["count"], 1, page)
        rec = page["emails"][0]
        self.assertEqual((rec["subject"], rec["original_provider"], rec["sent_to_address"]),
                         ("Hello Ada", "INFUSIONSOFT", c["email_addresses"][0]["email"]))
        got = self.call("EmailService.get_email", svc.get_email, rec["id"])
        self.assertEqual(got["plain_content"], "SGkgQWRhIQ==", "merged: 'Hi Ada!'")

    # --- REST hooks -----------------------------------------------------------------------------

    def test_40_hook_subscribe_verify_deliver_delete(self):
        """HookService: create (keapsake runs the X-Hook-Secret handshake against a local
        receiver that echoes it, as Keap's docs ask), list, event keys, a delivery of a contact
        created through the library, verify, delete."""
        rx = _HookReceiver()
        try:
            svc = self.rest.HookService
            keys = self.call("HookService.list_event_keys", svc.list_event_keys)
            self.assertIn("contact.add", keys)
            hook = self.call("HookService.create", svc.create, eventKey="contact.add", hookUrl=rx.url)
            self.assertEqual(hook.get("status"), "Verified", hook)
            self.assertEqual(hook.get("hookUrl"), rx.url)
            self.assertTrue(rx.wait(lambda r: r["secret"]), "the receiver saw the handshake")
            listed = self.call("HookService.list", svc.list)
            self.assertIn(hook["key"], [h["key"] for h in listed])
            c = self.new_contact()
            # The server's worker delivers within --hook-interval-ms (1 s in the sandbox).
            self.assertTrue(
                rx.wait(lambda r: not r["secret"] and any(k.get("id") == c["id"] for k in r["body"].get("object_keys", []))),
                f"contact {c['id']} was not delivered: {rx.requests}")
            delivery = [r for r in rx.requests if not r["secret"]][-1]["body"]
            self.assertEqual(delivery["event_key"], "contact.add")
            self.assertEqual(delivery["object_type"], "contact")
            again = self.call("HookService.verify", svc.verify, hook["key"])
            self.assertEqual(again.get("status"), "Verified", again)
            self.assertIs(self.call("HookService.delete", svc.delete, hook["key"]), True)
            with self.assertRaises(RecordNotFoundError):
                svc.get(hook["key"])
        finally:
            rx.close()


class _HookReceiver:
    """A local REST hook receiver: echoes X-Hook-Secret, records every request."""

    def __init__(self):
        import json
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        requests = self.requests = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(n) if n else b""
                secret = self.headers.get("X-Hook-Secret")
                try:
                    body = json.loads(raw) if raw else {}
                except ValueError:
                    body = {}
                requests.append({"secret": secret, "body": body})
                self.send_response(200)
                if secret:
                    self.send_header("X-Hook-Secret", secret)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def wait(self, pred, timeout=15.0):
        import time
        end = time.time() + timeout
        while time.time() < end:
            if any(pred(r) for r in list(self.requests)):
                return True
            time.sleep(0.05)
        return False

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
