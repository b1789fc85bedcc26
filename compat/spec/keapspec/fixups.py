"""Steering generated cases toward records that exist.

Schemathesis generates each case from the (deviation-applied) document. Left alone, nearly every
path id would be a random integer that answers 404 and every reference inside a body (a contact
id, a stage id, a tag id) would be one too, so writes would never get past validation. Here a
generated case is adjusted *with values the document also allows* before it is sent:

* path ids come from the seeded pools most of the time (DELETEs from disposable pools);
* in positive cases, some query filters and body references are replaced by seeded ids, paging
  parameters are sometimes set to ordinary values, and `optional_properties` sometimes lists the
  names the model endpoint advertises;
* request bodies of writes get the members whose validity the document cannot express
  (rest-v1.md rules: a contact needs an e-mail or phone, a region needs a country code, ...)
  replaced by valid values in part of the cases, so both the accepted and the refused paths run.

Nothing here touches a response or a check. Every choice is drawn through Hypothesis, so a run is
reproducible from its seed.
"""

import copy
import itertools
import re

from hypothesis import strategies as st

_unique = itertools.count(1)

# (method or None, path, parameter) -> pool name. None matches any method.
PATH_POOLS = {
    ("DELETE", "/v1/contacts/{contactId}", "contactId"): "contact_disposable",
    ("DELETE", "/v1/notes/{noteId}", "noteId"): "note_disposable",
    ("DELETE", "/v1/tasks/{taskId}", "taskId"): "task_disposable",
    (None, "/v1/contacts/{id}", "id"): "contact",
    (None, "/v1/tags/{id}", "id"): "tag",
    ("DELETE", "/v1/hooks/{key}", "key"): "hook_disposable",
    (None, "/v1/hooks/{key}", "key"): "hook",
    (None, "/v1/hooks/{key}/verify", "key"): "hook",
    (None, "/v1/hooks/{key}/delayedVerify", "key"): "hook",
    ("DELETE", "/v1/products/{productId}", "productId"): "product_disposable",
    ("DELETE", "/v1/orders/{orderId}", "orderId"): "order_disposable",
    ("DELETE", "/v1/emails/{id}", "id"): "email_disposable",
    (None, "/v1/emails/{id}", "id"): "email",
    (None, "/v1/emailAddresses/{email}", "email"): "email_address",
}
# Operations whose two path ids must belong together: (method, path) -> (pool of [a, b], names).
PAIR_POOLS = {
    ("GET", "/v1/products/{productId}/subscriptions/{subscriptionId}"):
        ("plan_pair", ("productId", "subscriptionId")),
    ("DELETE", "/v1/products/{productId}/subscriptions/{subscriptionId}"):
        ("plan_pair_disposable", ("productId", "subscriptionId")),
    ("DELETE", "/v1/orders/{orderId}/items/{orderItemId}"):
        ("item_pair_disposable", ("orderId", "orderItemId")),
}
PARAM_POOLS = {
    "contactId": "contact",
    "tagId": "tag",
    "companyId": "company",
    "noteId": "note",
    "taskId": "task",
    "opportunityId": "opportunity",
    "userId": "user",
    "countryCode": "country",
    "productId": "product",
    "orderId": "order",
    "transactionId": "transaction",
}
QUERY_POOLS = {
    "contact_id": "contact",
    "user_id": "user",
    "category": "tag_category",
    "stage_id": "stage",
    "email": "contact_email",
    "product_id": "product",
}
OPTIONAL_PROPERTIES = {
    "/v1/contacts": ["job_title", "lead_source_id", "custom_fields", "social_accounts", "origin",
                     "relationships", "fax_numbers", "birthday", "anniversary", "contact_type",
                     "prefix", "suffix", "preferred_name", "spouse_name", "website", "time_zone",
                     "preferred_locale", "source_type", "company_name", "notes"],
    "/v1/companies": ["notes", "fax_number", "custom_fields"],
    "/v1/opportunities": ["custom_fields"],
}


class Context:
    def __init__(self, pools, token, rng):
        self.pools = pools
        self.token = token
        self.rng = rng
        self.calls = 0
        self.next_disposable = {}

    def disposable(self, name):
        i = self.next_disposable.get(name, 0)
        self.next_disposable[name] = i + 1
        pool = self.pools[name]
        return pool[i] if i < len(pool) else pool[-1]


def strategy(op, mode, ctx):
    try:
        return op.as_strategy(generation_mode=mode)
    except Exception:  # noqa: BLE001 - e.g. nothing to negate
        return None


def auth(ctx, data):
    """Credentials: Bearer mostly; every fourth request as `?access_token=` (SPEC-DEVIATIONS #1)."""
    ctx.calls += 1
    if ctx.calls % 4 == 0:
        return {"params": {"access_token": ctx.token}}
    return {"headers": {"Authorization": f"Bearer {ctx.token}"}}


def _pool_for(op, name):
    method = op.method.upper()
    return PATH_POOLS.get((method, op.path, name)) or PATH_POOLS.get((None, op.path, name)) or PARAM_POOLS.get(name)


def fix_case(case, mode, ctx, data):
    op = case.operation
    positive = mode.is_positive
    # Path ids: from the pools (85% of positive cases, half of negative ones).
    paired = PAIR_POOLS.get((op.method.upper(), op.path))
    if paired is not None and case.path_parameters and ctx.pools.get(paired[0]):
        pool, names = paired
        if data.draw(st.floats(0, 1)) < (0.85 if positive else 0.5):
            if pool.endswith("_disposable"):
                pair = ctx.disposable(pool)
            else:
                pair = data.draw(st.sampled_from(ctx.pools[pool]))
            for name, value in zip(names, pair):
                case.path_parameters[name] = value
        return _fix_rest(case, mode, ctx, data, skip=names)
    return _fix_rest(case, mode, ctx, data, skip=())


def _fix_rest(case, mode, ctx, data, skip):
    op = case.operation
    positive = mode.is_positive
    for name in list(case.path_parameters or {}):
        if name in skip:
            continue
        pool = _pool_for(op, name)
        if pool is None or not ctx.pools.get(pool):
            continue
        if data.draw(st.floats(0, 1)) < (0.85 if positive else 0.5):
            if pool.endswith("_disposable"):
                case.path_parameters[name] = ctx.disposable(pool)
            else:
                case.path_parameters[name] = data.draw(st.sampled_from(ctx.pools[pool]))
    if not positive:
        return
    query = case.query if case.query is not None else None
    if query is not None:
        for name, pool in QUERY_POOLS.items():
            if name in query and ctx.pools.get(pool) and data.draw(st.booleans()):
                query[name] = data.draw(st.sampled_from(ctx.pools[pool]))
        if "limit" in query and data.draw(st.booleans()):
            query["limit"] = data.draw(st.sampled_from([1, 2, 5, 1000]))
        if "offset" in query and data.draw(st.booleans()):
            query["offset"] = data.draw(st.sampled_from([0, 1, 3]))
        for key in ("since", "until"):
            if key in query and data.draw(st.booleans()):
                query[key] = data.draw(st.sampled_from(["2017-01-01T22:17:59.039Z", "2030-12-31T00:00:00Z",
                                                        "2024-11-07T20:35:13.000+0000"]))
        if "ids" in query and data.draw(st.floats(0, 1)) < 0.7:
            # DELETE /contacts/{id}/tags?ids=1,2 (a string) and DELETE /tags/{id}/contacts?ids=1&ids=2
            # (an array): seeded ids, in the form the document declares for each.
            pool = ctx.pools["tag"] if op.path.startswith("/v1/contacts/") else ctx.pools["contact"]
            ids = data.draw(st.lists(st.sampled_from(pool), min_size=1, max_size=3, unique=True))
            query["ids"] = ",".join(map(str, ids)) if isinstance(query["ids"], str) else ids
        names = OPTIONAL_PROPERTIES.get(re.sub(r"/\{[^}]+\}$", "", op.path))
        if "optional_properties" in query and names and data.draw(st.booleans()):
            query["optional_properties"] = data.draw(st.lists(st.sampled_from(names), min_size=1, max_size=6,
                                                              unique=True))
    qfix = QUERY_FIXUPS.get((op.method.upper(), op.path))
    if qfix is not None and query is not None:
        qfix(query, ctx, data)
    fix = BODY_FIXUPS.get((op.method.upper(), op.path))
    if fix is not None and isinstance(case.body, dict) and data.draw(st.floats(0, 1)) < 0.7:
        body = copy.deepcopy(case.body)
        fix(body, ctx, data)
        case.body = body



def _contact_body(body, ctx, data):
    n = next(_unique)
    body["email_addresses"] = [{"email": f"gen{n}@spec.example", "field": "EMAIL1"}]
    for key in ("company",):
        if key in body:
            body[key] = {"id": data.draw(st.sampled_from(ctx.pools["company"]))}
    if "owner_id" in body:
        body["owner_id"] = data.draw(st.sampled_from(ctx.pools["user"]))
    if "custom_fields" in body:
        body["custom_fields"] = [{"id": ctx.pools["contact_custom_field"][0], "content": f"generated {n}"}]
    # Rules of rest-v1.md §1 the document does not state: one item per slot, known zones and
    # locales, an IP origin, a yyyy-MM-dd anniversary, an alpha-3 country wherever there is a region.
    for key in ("phone_numbers", "fax_numbers", "addresses"):
        if isinstance(body.get(key), list):
            seen, kept = set(), []
            for item in body[key]:
                if isinstance(item, dict) and item.get("field") not in seen:
                    seen.add(item.get("field"))
                    kept.append(item)
            body[key] = kept
    for item in body.get("addresses") or []:
        if isinstance(item, dict):
            item["country_code"] = "USA"
    for key, value in (("time_zone", "America/Chicago"), ("preferred_locale", "en_US"),
                       ("anniversary", "2016-02-29"), ("origin", {"ip_address": "2001:db8::1"})):
        if key in body:
            body[key] = value


def _apply_tags(body, ctx, data):
    body["tagIds"] = data.draw(st.lists(st.sampled_from(ctx.pools["tag"] + [987654321]), min_size=1, max_size=4,
                                        unique=True))


def _tag_contacts(body, ctx, data):
    body["ids"] = data.draw(st.lists(st.sampled_from(ctx.pools["contact"] + [987654321]), min_size=1, max_size=4,
                                     unique=True))


def _tag(body, ctx, data):
    body["name"] = f"generated tag {next(_unique)}"
    if "category" in body:
        body["category"] = {"id": data.draw(st.sampled_from(ctx.pools["tag_category"]))}


def _note(body, ctx, data):
    body["contact_id"] = data.draw(st.sampled_from(ctx.pools["contact"]))
    if "user_id" in body:
        body["user_id"] = data.draw(st.sampled_from(ctx.pools["user"]))
    body.setdefault("title", "generated")


def _task(body, ctx, data):
    body.setdefault("title", "generated")
    body.setdefault("due_date", "2031-03-04T05:06:07.000Z")
    if "contact" in body:
        body["contact"] = {"id": data.draw(st.sampled_from(ctx.pools["contact"]))}
    if "user_id" in body:
        body["user_id"] = data.draw(st.sampled_from(ctx.pools["user"]))
    if "remind_time" in body:
        body["remind_time"] = data.draw(st.sampled_from([5, 10, 15, 30, 60, 120, 240, 480, 1440, 2880]))


def _opportunity(body, ctx, data):
    body["opportunity_title"] = f"Generated opportunity {next(_unique)}"
    for key in ("estimated_close_date", "next_action_date"):
        if key in body:
            body[key] = "2031-07-08T09:10:11.000Z"
    body["contact"] = {"id": data.draw(st.sampled_from(ctx.pools["contact"]))}
    body["stage"] = {"id": data.draw(st.sampled_from(ctx.pools["stage"]))}
    if "user" in body:
        body["user"] = {"id": data.draw(st.sampled_from(ctx.pools["user"]))}
    if "custom_fields" in body:
        del body["custom_fields"]


def _opportunity_replace(body, ctx, data):
    _opportunity(body, ctx, data)
    body["id"] = data.draw(st.sampled_from(ctx.pools["opportunity"]))


def _company(body, ctx, data):
    n = next(_unique)
    body["company_name"] = f"Generated company {n}"
    if "email_address" in body:
        body["email_address"] = f"company{n}@spec.example"
    if isinstance(body.get("address"), dict):
        body["address"]["country_code"] = "USA"
    body.pop("custom_fields", None)  # no company custom field exists (v1 cannot create one)


def _upsert_body(body, ctx, data):
    _contact_body(body, ctx, data)
    if data.draw(st.booleans()):
        # Half the upserts match a seeded contact by e-mail, so the update path runs too.
        body["email_addresses"] = [{"email": data.draw(st.sampled_from(ctx.pools["contact_email"])),
                                    "field": "EMAIL1"}]
        body["duplicate_option"] = "Email"


def _custom_field(body, ctx, data):
    body["label"] = f"Generated field {next(_unique)}"
    if isinstance(body.get("options"), list):
        body["options"] = [{"label": f"Option {i}"} for i, _ in enumerate(body["options"][:5])]


def _product(body, ctx, data):
    body["product_name"] = f"Generated product {next(_unique)}"
    if "product_price" in body:
        body["product_price"] = data.draw(st.sampled_from([0, 1.5, 19.99, 250]))


def _plan(body, ctx, data):
    body["plan_price"] = data.draw(st.sampled_from([0, 9.99, 100]))
    if "frequency" in body:
        body["frequency"] = data.draw(st.integers(1, 12))
    if "number_of_cycles" in body:
        body["number_of_cycles"] = data.draw(st.integers(0, 24))


# The smallest PNG signature plus padding, and its SHA-256.
_PNG = "iVBORw0KGgoAAAAAAAAAAA=="


def _image(body, ctx, data):
    import base64
    import hashlib
    body["file_name"] = data.draw(st.sampled_from(["a.png", "b.PNG"]))
    body["file_data"] = _PNG
    if "checksum" in body:
        body["checksum"] = hashlib.sha256(base64.b64decode(_PNG)).hexdigest()


def _order_item(item, ctx, data):
    item["product_id"] = data.draw(st.sampled_from(ctx.pools["product"]))
    item["quantity"] = data.draw(st.integers(1, 5))
    if "price" in item:
        item["price"] = data.draw(st.sampled_from(["0", "19.99", "33.335", "250.00"]))


def _order(body, ctx, data):
    body["contact_id"] = data.draw(st.sampled_from(ctx.pools["contact"]))
    body["order_date"] = "2031-01-02T03:04:05.000Z"
    body["order_title"] = f"Generated order {next(_unique)}"
    items = [i for i in body.get("order_items") or [] if isinstance(i, dict)][:5] or [{}]
    for item in items:
        _order_item(item, ctx, data)
    body["order_items"] = items
    for key in ("lead_affiliate_id", "sales_affiliate_id"):
        body.pop(key, None)


def _item(body, ctx, data):
    _order_item(body, ctx, data)


def _payment(body, ctx, data):
    body["payment_amount"] = data.draw(st.sampled_from(["0.01", "1.00", "2.50"]))
    if "date" in body:
        body["date"] = "2030-05-06T07:08:09.000Z"
    if "credit_card_id" in body or data.draw(st.booleans()):
        # A charge of a seeded card on file: approved, a decline number, another contact's
        # card, or one that does not exist (each refusal a 400).
        body["payment_method_type"] = "CREDIT_CARD"
        body["charge_now"] = True
        body["credit_card_id"] = data.draw(st.sampled_from(ctx.pools["credit_card"] + [987654321]))


# The test gateway's numbers (README "Test gateway"): approved brands, then the decline numbers.
TEST_CARDS = ["4111111111111111", "4111 1111 1111 1111", "5555555555554444", "378282246310005",
              "6011111111111117", "4000000000000002", "4000000000009995", "4000000000000069"]


def _credit_card(body, ctx, data):
    """`POST /contacts/{id}/creditCards`: a Luhn-valid test number and an expiry to come (the
    document types both as plain strings), a 3-4 digit verification code."""
    body["card_number"] = data.draw(st.sampled_from(TEST_CARDS))
    body["expiration_month"] = data.draw(st.sampled_from(["1", "07", "12"]))
    body["expiration_year"] = data.draw(st.sampled_from(["2031", "2040", "2099"]))
    if "verification_code" in body:
        body["verification_code"] = data.draw(st.sampled_from(["123", "1234"]))
    if "card_type" in body and data.draw(st.booleans()):
        del body["card_type"]


def _payment_plan(body, ctx, data):
    body["days_between_payments"] = data.draw(st.integers(1, 90))
    body["number_of_payments"] = data.draw(st.integers(1, 12))
    body["plan_start_date"] = "2031-01-01"
    if "initial_payment_date" in body:
        body["initial_payment_date"] = "2031-01-01"
    if "initial_payment_amount" in body:
        body["initial_payment_amount"] = 5.0


def _subscription(body, ctx, data):
    body["contact_id"] = data.draw(st.sampled_from(ctx.pools["contact"]))
    body["subscription_plan_id"] = data.draw(st.sampled_from(ctx.pools["plan_pair"]))[1]
    body["allow_duplicate"] = True
    if "quantity" in body:
        body["quantity"] = data.draw(st.integers(1, 5))
    if "first_bill_date" in body:
        body["first_bill_date"] = "2031-02-03"
    if "billing_amount" in body:
        body["billing_amount"] = data.draw(st.sampled_from([0, 9.99, 100]))


# Keap's event keys (GET /hooks/event_keys); the document types eventKey as a bare string.
EVENT_KEYS = ["contact.add", "contact.edit", "contact.delete", "contactGroup.applied", "order.add",
              "invoice.payment.add", "product.edit", "note.add", "task.delete", "company.add"]
# Port 9 (discard) refuses at once on loopback: the handshake fails fast, the hook stays
# Unverified, and nothing is ever delivered anywhere.
HOOK_URL = "http://127.0.0.1:9/hook"


def _hook(body, ctx, data):
    body["eventKey"] = data.draw(st.sampled_from(EVENT_KEYS))
    body["hookUrl"] = HOOK_URL


# --- e-mails --------------------------------------------------------------------------------

_DATES = ["2024-03-10T00:00:00.000Z", "2024-01-01T00:00:00Z", "2030-12-31T00:00:00.000+0000"]


def _email_query(query, ctx, data):
    """`GET /emails`: sent-date windows that are dates (the document types them as plain strings)."""
    for key in ("since_sent_date", "until_sent_date"):
        if key in query and data.draw(st.booleans()):
            query[key] = data.draw(st.sampled_from(_DATES))
    if "until_sent_date" in query and "since_sent_date" not in query and data.draw(st.booleans()):
        query["since_sent_date"] = _DATES[1]


def _email_record(body, ctx, data):
    """An e-mail record (`EmailSentCreate`): a recipient address, a seeded contact, base64
    contents, date-times, a fresh provider id (the pair is unique)."""
    n = next(_unique)
    body["sent_to_address"] = f"rcpt{n}@spec.example"
    if "contact_id" in body:
        body["contact_id"] = data.draw(st.sampled_from(ctx.pools["contact"]))
    for key in ("html_content", "plain_content"):
        if key in body:
            body[key] = data.draw(st.sampled_from(["aGk=", "PGI+aGk8L2I+", ""]))
    for key in ("sent_date", "received_date", "opened_date", "clicked_date"):
        if key in body:
            body[key] = data.draw(st.sampled_from(_DATES))
    if "original_provider_id" in body:
        body["original_provider_id"] = f"gen-{n}"
    body.pop("id", None)


def _email_sync(body, ctx, data):
    items = body.get("emails")
    if not isinstance(items, list) or not items:
        items = [{}]
    fixed = []
    for item in items[:5]:
        item = dict(item) if isinstance(item, dict) else {}
        _email_record(item, ctx, data)
        fixed.append(item)
    body["emails"] = fixed


def _email_unsync(body, ctx, data):
    body["ids"] = [ctx.disposable("email_unsync") for _ in range(data.draw(st.integers(1, 2)))] + [987654321]


def _email_queue(body, ctx, data):
    body["contacts"] = data.draw(st.lists(st.sampled_from(ctx.pools["contact"]), min_size=1, max_size=3, unique=True))
    body["user_id"] = data.draw(st.sampled_from(ctx.pools["user"]))
    body["subject"] = data.draw(st.sampled_from(["Hello ~Contact.FirstName~", "Plain subject"]))
    body["plain_content"] = "aGkgfkNvbnRhY3QuRmlyc3ROYW1lfg=="
    if "html_content" in body:
        body["html_content"] = "PHA+aGk8L3A+"
    if "address_field" in body:
        body["address_field"] = data.draw(st.sampled_from(["Email", "EmailAddress2", "EmailAddress3", "_Seed Text"]))
    if "attachments" in body:
        body["attachments"] = [{"file_name": "a.txt", "file_data": "aGk="}]


def _address_status(body, ctx, data):
    body.setdefault("opted_in", True)
    if not isinstance(body.get("opted_in"), bool):
        body["opted_in"] = True
    body["reason"] = "generated"


QUERY_FIXUPS = {
    ("GET", "/v1/emails"): _email_query,
}


BODY_FIXUPS = {
    ("POST", "/v1/emails"): _email_record,
    ("POST", "/v1/contacts/{contactId}/emails"): _email_record,
    ("POST", "/v1/emails/sync"): _email_sync,
    ("POST", "/v1/emails/unsync"): _email_unsync,
    ("POST", "/v1/emails/queue"): _email_queue,
    ("PUT", "/v1/emailAddresses/{email}"): _address_status,
    ("POST", "/v1/hooks"): _hook,
    ("PUT", "/v1/hooks/{key}"): _hook,
    ("POST", "/v1/subscriptions"): _subscription,
    ("POST", "/v1/products"): _product,
    ("PATCH", "/v1/products/{productId}"): _product,
    ("POST", "/v1/products/{productId}/subscriptions"): _plan,
    ("POST", "/v1/products/{productId}/image"): _image,
    ("POST", "/v1/orders"): _order,
    ("POST", "/v1/orders/{orderId}/items"): _item,
    ("POST", "/v1/orders/{orderId}/payments"): _payment,
    ("POST", "/v1/contacts/{contactId}/creditCards"): _credit_card,
    ("PUT", "/v1/orders/{orderId}/paymentPlan"): _payment_plan,
    ("POST", "/v1/contacts/model/customFields"): _custom_field,
    ("POST", "/v1/notes/model/customFields"): _custom_field,
    ("POST", "/v1/tasks/model/customFields"): _custom_field,
    ("POST", "/v1/contacts"): _contact_body,
    ("PUT", "/v1/contacts"): _upsert_body,
    ("PATCH", "/v1/contacts/{contactId}"): _contact_body,
    ("POST", "/v1/contacts/{contactId}/tags"): _apply_tags,
    ("POST", "/v1/tags/{tagId}/contacts"): _tag_contacts,
    ("POST", "/v1/tags"): _tag,
    ("POST", "/v1/notes"): _note,
    ("PUT", "/v1/notes/{noteId}"): _note,
    ("PATCH", "/v1/notes/{noteId}"): _note,
    ("POST", "/v1/tasks"): _task,
    ("PUT", "/v1/tasks/{taskId}"): _task,
    ("PATCH", "/v1/tasks/{taskId}"): _task,
    ("POST", "/v1/opportunities"): _opportunity,
    ("PUT", "/v1/opportunities"): _opportunity_replace,
    ("PATCH", "/v1/opportunities/{opportunityId}"): _opportunity,
    ("POST", "/v1/companies"): _company,
    ("PATCH", "/v1/companies/{companyId}"): _company,
}
