"""infusionsoft-python 0.1.6 (PyPI `infusionsoft-python`, package `infusionsoft`) against keapsake.

Driven only through its public API: `Client.oauth_access`, `exchange_code`, `refresh_token`,
`set_token` and the REST helpers (`create_contact`, `retrieve_contact`, `get_contacts`,
`update_contact`, `delete_contact`, `create_data`, `get_data`, `list_tags`, `apply_tag`,
`remove_tag`). It sends `Authorization: Bearer` and returns `True` instead of the body for any 201 or
204, so keapsake's status codes must be Keap's exactly. REST base: `Client.api_base_url` patched;
the authorize and token URLs are literals inside its methods and reach keapsake via `wire.reroute`.
"""

from urllib.parse import parse_qs, urlsplit

import infusionsoft
from infusionsoft import Client

from keapcompat import browser, patches, server, wire
from keapcompat.testing import ClientTestCase, unique


def _form(ex):
    return {k: v[0] for k, v in parse_qs(ex.request_body, keep_blank_values=True).items()}


class InfusionsoftPython(ClientTestCase):
    LIBRARY = "infusionsoft-python"
    client = None
    code = None
    first = None  # token JSON of the code exchange
    current = None  # token JSON in use

    @classmethod
    def prepare(cls):
        patches.infusionsoft_python(cls.base)
        cls.client = Client(client_id=cls.app.client_id, client_secret=cls.app.client_secret)

    # --- helpers --------------------------------------------------------------------------------

    @property
    def api(self):
        """The client with the current access token set. If the OAuth steps did not run (e.g.
        `-k test_2`), get a token the same way they do, through the library."""
        if not type(self).current:
            res = browser.authorize(self.client.oauth_access(self.app.redirect_uri),
                                    server.DEMO_USER, server.DEMO_PASSWORD)
            type(self).current = self.call("exchange_code", self.client.exchange_code, self.app.redirect_uri, res.code)
        self.client.set_token(type(self).current["access_token"])
        return self.client

    def new_contact(self):
        """create_contact returns True (201, no body), so the id is looked up by e-mail."""
        email = unique("grace") + "@example.com"
        created = self.call("create_contact", self.api.create_contact, given_name="Grace", family_name="Hopper",
                            email_addresses=[{"email": email, "field": "EMAIL1"}])
        ex = self.wire_exchange("POST", "/crm/rest/v1/contacts")
        self.assertEqual(ex.status, 201, ex.response_body)
        self.assertIs(created, True, "infusionsoft-python returns True for a 201")
        page = self.call("get_contacts(email=...)", self.api.get_contacts, email=email)
        self.assertEqual(len(page.get("contacts", [])), 1, f"contact not found by e-mail: {page!r}")
        return page["contacts"][0]

    def new_tag(self):
        cat = self.call("create_data(tags/categories)", self.api.create_data, "tags/categories",
                        name=unique("compat-cat"))
        self.assertIsInstance(cat, dict, f"POST /tags/categories answers 200 with the category, got {cat!r}")
        name = unique("compat-tag")
        tag = self.call("create_data(tags)", self.api.create_data, "tags", name=name,
                        description="from infusionsoft-python", category={"id": cat["id"]})
        self.assertIsInstance(tag, dict, f"POST /tags answers 200 with the tag (a 201 would be True): {tag!r}")
        return cat, tag

    # --- OAuth ----------------------------------------------------------------------------------

    def test_01_authorization_url_login_and_consent(self):
        url = self.client.oauth_access(self.app.redirect_uri)
        # The library writes Keap's host into the URL; the browser follows it to keapsake (reroute).
        self.assertTrue(url.startswith("https://signin.infusionsoft.com/app/oauth/authorize?"), url)
        res = browser.authorize(url, server.DEMO_USER, server.DEMO_PASSWORD)
        self.assertTrue(res.location.startswith(self.app.redirect_uri + "?"), res.location)
        self.assertIsNone(res.error, res.location)
        self.assertTrue(res.code, res.location)
        self.assertNotIn("state", res.query, "no state was sent, none may come back")
        type(self).code = res.code

    def test_02_exchange_code(self):
        code = self.require("code", "test_01_authorization_url_login_and_consent")
        tok = self.call("exchange_code", self.client.exchange_code, self.app.redirect_uri, code)
        ex = self.wire_exchange("POST", "/token")
        self.assertEqual(ex.rerouted_from, "https://api.infusionsoft.com")
        self.assertEqual(ex.status, 200, ex.response_body)
        self.assertEqual(_form(ex), {"client_id": self.app.client_id, "client_secret": "…",
                                     "redirect_uri": self.app.redirect_uri, "code": "…",
                                     "grant_type": "authorization_code"})
        self.assertIsInstance(tok, dict)
        self.assertEqual(list(tok)[:5], ["access_token", "token_type", "expires_in", "refresh_token", "scope"],
                         "field order as observed on Keap (oauth.md §4.4)")
        self.assertEqual(tok["token_type"], "bearer")
        self.assertEqual(tok["expires_in"], 3600)
        self.assertEqual(tok["scope"], "full|demo1.infusionsoft.com")
        self.assertTrue(tok["access_token"] and tok["refresh_token"])
        type(self).first = type(self).current = tok

    def test_03_rest_call_sends_bearer(self):
        info = self.call("get_data(oauth/connect/userinfo)", self.api.get_data, "oauth/connect/userinfo")
        ex = self.wire_exchange("GET", "/crm/rest/v1/oauth/connect/userinfo")
        self.assertIn("Authorization", ex.request_headers)
        self.assertNotIn("access_token", ex.url)
        self.assertEqual(info.get("email"), server.DEMO_USER)
        profile = self.call("get_data(account/profile)", self.api.get_data, "account/profile")
        self.assertIsInstance(profile, dict)

    def test_04_refresh_rotates(self):
        first = self.require("first", "test_02_exchange_code")
        new = self.call("refresh_token", self.client.refresh_token, first["refresh_token"])
        ex = self.wire_exchange("POST", "/token")
        self.assertEqual(ex.rerouted_from, "https://api.infusionsoft.com")
        self.assertEqual(ex.status, 200, ex.response_body)
        self.assertEqual(_form(ex), {"grant_type": "refresh_token", "refresh_token": "…"})
        self.assertIn("Authorization", ex.request_headers, "infusionsoft-python refreshes with HTTP Basic")
        self.assertNotEqual(new["refresh_token"], first["refresh_token"], "refresh token must rotate")
        self.assertNotEqual(new["access_token"], first["access_token"])
        self.assertEqual(new["token_type"], "bearer")
        type(self).current = new
        info = self.call("userinfo with the refreshed token", self.api.get_data, "oauth/connect/userinfo")
        self.assertEqual(info.get("email"), server.DEMO_USER)

    def test_05_rotated_refresh_token_is_refused(self):
        first = self.require("first", "test_02_exchange_code")
        current = self.require("current", "test_04_refresh_rotates")
        self.assertNotEqual(first["refresh_token"], current["refresh_token"], "precondition: test_04 rotated")
        # The library raises DataError exactly for a 400 (AuthError for 401/403).
        with self.assertRaises(infusionsoft.DataError):
            self.client.refresh_token(first["refresh_token"])
        ex = self.wire_exchange("POST", "/token")
        self.assertEqual(ex.status, 400)
        self.assertEqual(ex.json().get("error"), "invalid_grant")
        # Within the reuse grace window the family survives (oauth.md §4.3): current still refreshes.
        again = self.call("refresh_token after a refused replay", self.client.refresh_token, current["refresh_token"])
        self.assertNotEqual(again["refresh_token"], current["refresh_token"])
        type(self).current = again

    def test_06_unknown_access_token_raises_auth_error(self):
        self.require("current", "test_02_exchange_code")
        self.client.set_token("not-a-real-token")
        # the library raises AuthError exactly for 401/403
        with self.assertRaises(infusionsoft.AuthError):
            self.client.get_data("oauth/connect/userinfo")
        ex = self.wire_exchange("GET", "/crm/rest/v1/oauth/connect/userinfo")
        self.assertEqual(ex.status, 401)
        self.assertIn("fault", ex.json())

    # --- contacts -------------------------------------------------------------------------------

    def test_10_contact_create(self):
        c = self.new_contact()
        self.assertEqual((c["given_name"], c["family_name"]), ("Grace", "Hopper"))
        self.assertEqual(c["email_addresses"][0]["field"], "EMAIL1")

    def test_11_contact_get(self):
        c = self.new_contact()
        got = self.call("retrieve_contact", self.api.retrieve_contact, c["id"])
        self.assertEqual(got["id"], c["id"])
        self.assertEqual(got["email_addresses"], c["email_addresses"])
        self.assertEqual(got["given_name"], "Grace")
        # keyword arguments become query parameters as given: a comma-separated optional_properties
        got = self.call("retrieve_contact(optional_properties=CSV)", self.api.retrieve_contact, c["id"],
                        optional_properties="job_title,custom_fields")
        self.assertIn("optional_properties=job_title%2Ccustom_fields",
                      self.wire_exchange("GET", f"/crm/rest/v1/contacts/{c['id']}").url)
        self.assertIn("job_title", got)
        self.assertIn("custom_fields", got)

    def test_12_contact_update(self):
        c = self.new_contact()
        up = self.call("update_contact", self.api.update_contact, c["id"], family_name="Murray",
                       phone_numbers=[{"number": "555-0199", "field": "PHONE1", "type": "Mobile"}])
        self.assertEqual(self.wire_exchange("PATCH", f"/crm/rest/v1/contacts/{c['id']}").status, 200)
        self.assertIsInstance(up, dict)
        self.assertEqual((up["given_name"], up["family_name"]), ("Grace", "Murray"))
        self.assertEqual([p["number"] for p in up["phone_numbers"]], ["555-0199"])
        got = self.call("retrieve_contact", self.api.retrieve_contact, c["id"])
        self.assertEqual(got["family_name"], "Murray")

    def test_13_contact_list(self):
        a = self.new_contact()
        b = self.new_contact()
        page = self.call("get_contacts(order=id, order_direction=DESCENDING)", self.api.get_contacts,
                         order="id", order_direction="DESCENDING", limit=2)
        self.assertV1ListEnvelope(page, "contacts")
        self.assertEqual([x["id"] for x in page["contacts"]], [b["id"], a["id"]])
        self.assertGreaterEqual(page["count"], 2)
        page = self.call("get_contacts(given_name, family_name)", self.api.get_contacts,
                         given_name="grace", family_name="HOPPER", limit=1000)
        ids = {x["id"] for x in page["contacts"]}
        self.assertTrue({a["id"], b["id"]} <= ids, "name filters match case-insensitively")

    def test_14_contact_delete(self):
        c = self.new_contact()
        self.assertIs(self.call("delete_contact", self.api.delete_contact, c["id"]), True)
        self.assertEqual(self.wire_exchange("DELETE", f"/crm/rest/v1/contacts/{c['id']}").status, 204)
        # the library raises its ConnectionError exactly for a 404
        with self.assertRaises(infusionsoft.ConnectionError):
            self.api.retrieve_contact(c["id"])

    # --- tags -----------------------------------------------------------------------------------

    def test_20_tag_create_and_list(self):
        cat, tag = self.new_tag()
        self.assertEqual(self.wire_exchange("POST", "/crm/rest/v1/tags").status, 200)
        self.assertEqual(tag["category"]["id"], cat["id"])
        page = self.call("list_tags(name=...)", self.api.list_tags, name=tag["name"])
        self.assertV1ListEnvelope(page, "tags")
        self.assertEqual([t["id"] for t in page["tags"]], [tag["id"]])
        self.assertEqual(page["tags"][0]["category"], tag["category"])

    def test_21_tag_apply(self):
        a, b = self.new_contact(), self.new_contact()
        _, tag = self.new_tag()
        res = self.call("apply_tag", self.api.apply_tag, tag["id"], [a["id"], b["id"]])
        self.assertEqual(self.wire_exchange("POST", f"/crm/rest/v1/tags/{tag['id']}/contacts").status, 200)
        self.assertEqual(res, {str(a["id"]): "SUCCESS", str(b["id"]): "SUCCESS"})
        res = self.call("apply_tag (single id, again)", self.api.apply_tag, tag["id"], a["id"])
        self.assertEqual(res, {str(a["id"]): "DUPLICATE"})
        self.assertIn(tag["id"], self.call("retrieve_contact", self.api.retrieve_contact, a["id"])["tag_ids"])
        page = self.call("get_data(tags/{id}/contacts)", self.api.get_data, f"tags/{tag['id']}/contacts")
        self.assertV1ListEnvelope(page, "contacts")
        self.assertEqual(sorted(x["contact"]["id"] for x in page["contacts"]), sorted([a["id"], b["id"]]))

    def test_22_tag_remove(self):
        c = self.new_contact()
        _, tag = self.new_tag()
        self.call("apply_tag", self.api.apply_tag, tag["id"], c["id"])
        self.assertIs(self.call("remove_tag", self.api.remove_tag, tag["id"], c["id"]), True)
        self.assertEqual(
            self.wire_exchange("DELETE", f"/crm/rest/v1/tags/{tag['id']}/contacts/{c['id']}").status, 204)
        self.assertNotIn(tag["id"], self.call("retrieve_contact", self.api.retrieve_contact, c["id"])["tag_ids"])
