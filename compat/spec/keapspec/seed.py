"""Records the generated requests can hit: made through keapsake's own v1 API before the run.

Generated path ids are mostly drawn from these pools (a run that only ever hits 404s proves
little); DELETE operations draw from disposable pools so they never remove what other
operations use. Seeding requests are not counted as generated requests, but each must succeed.
"""

import requests


class SeedError(RuntimeError):
    pass


class Seeder:
    def __init__(self, base, token):
        self.base = base.rstrip("/") + "/v1"
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.requests = 0

    def call(self, method, path, body=None, expect=(200, 201, 204)):
        r = self.http.request(method, self.base + path, json=body, timeout=30)
        self.requests += 1
        if r.status_code not in expect:
            raise SeedError(f"seeding {method} {path} {body!r}: {r.status_code} {r.text[:300]}")
        return r.json() if r.content else None


def seed(base, token):
    """Creates the records and returns the pools: name -> list of ids (or codes)."""
    s = Seeder(base, token)
    pools = {}

    users = s.call("GET", "/users")["users"]
    pools["user"] = [u["id"] for u in users]

    cats = [s.call("POST", "/tags/categories", {"name": f"Seed category {i}", "description": "seeded"})["id"]
            for i in range(2)]
    pools["tag_category"] = cats
    tags = []
    for i in range(6):
        body = {"name": f"Seed tag {i}", "description": f"seeded tag {i}"}
        if i % 2 == 0:
            body["category"] = {"id": cats[i % 2]}
        tags.append(s.call("POST", "/tags", body)["id"])
    pools["tag"] = tags

    companies = []
    for i in range(3):
        companies.append(s.call("POST", "/companies", {
            "company_name": f"Seed Company {i}",
            "email_address": f"office{i}@seed.example",
            "phone_number": {"number": f"555-010{i}", "type": "Work"},
            "address": {"line1": f"{i} Main St", "locality": "Springfield", "region": "US-IL",
                        "zip_code": "62701", "country_code": "USA"},
            "website": f"https://seed{i}.example",
            "notes": "seeded",
            "fax_number": {"number": f"555-019{i}", "type": "Work"},
            "opt_in_reason": "seeded",
        })["id"])
    pools["company"] = companies

    field = s.call("POST", "/contacts/model/customFields", {"label": "Seed Text", "field_type": "Text"})
    pools["contact_custom_field"] = [field["id"]]

    def contact(i, prefix):
        body = {
            "given_name": f"{prefix}{i}",
            "family_name": "Seed",
            "email_addresses": [{"email": f"{prefix.lower()}{i}@seed.example", "field": "EMAIL1"}],
            "phone_numbers": [{"number": f"555-02{i:02d}", "field": "PHONE1", "type": "Work"}],
            "addresses": [{"field": "BILLING", "line1": f"{i} Elm St", "locality": "Springfield",
                           "region": "US-IL", "zip_code": "62701", "country_code": "USA"}],
            "company": {"id": companies[i % len(companies)]},
            "owner_id": pools["user"][0],
            "custom_fields": [{"id": field["id"], "content": f"value {i}"}],
            "opt_in_reason": "seeded",
        }
        if i % 2 == 0 and prefix == "Ada":
            # Every other seeded contact fills every writable member, so optional_properties
            # reads return each of them with a value.
            body.update({
                "middle_name": "K", "prefix": "Dr.", "suffix": "PhD", "preferred_name": f"Ada{i}",
                "spouse_name": "Bob", "website": f"https://ada{i}.example", "time_zone": "America/New_York",
                "preferred_locale": "en_US", "job_title": "Engineer", "contact_type": "Lead",
                "source_type": "WEBFORM", "birthday": "1990-01-02T00:00:00.000Z", "anniversary": "2015-06-07",
                "lead_source_id": 1,
                "fax_numbers": [{"number": f"555-03{i:02d}", "type": "Work", "field": "FAX1"}],
                "social_accounts": [{"name": f"ada{i}", "type": "Twitter"}],
                "origin": {"ip_address": "192.0.2.10"},
            })
            body["email_addresses"].append({"email": f"ada{i}.work@seed.example", "field": "EMAIL2"})
            body["phone_numbers"].append({"number": f"555-04{i:02d}", "extension": "12", "field": "PHONE2",
                                          "type": "Mobile"})
        return s.call("POST", "/contacts", body)["id"]

    contacts = [contact(i, "Ada") for i in range(8)]
    pools["contact"] = contacts
    pools["contact_email"] = [f"ada{i}@seed.example" for i in range(8)]
    for i, c in enumerate(contacts):
        s.call("POST", f"/contacts/{c}/tags", {"tagIds": tags[: 1 + i % len(tags)]})
    # Credit cards on file (test gateway numbers: approved, then a decline number) of the
    # contacts the seeded orders belong to, so generated charges meet the approved, the
    # declined and another contact's card.
    pools["credit_card"] = [
        s.call("POST", f"/contacts/{contacts[i]}/creditCards",
               {"card_number": number, "expiration_month": "12", "expiration_year": "2099",
                "verification_code": "123", "name_on_card": f"Ada{i} Seed",
                "address": {"field": "BILLING", "line1": f"{i} Elm St", "zip_code": "62701",
                            "country_code": "USA"}})["id"]
        for i in range(4) for number in ("4111111111111111", "4000000000000002")]
    # Companies are tagged through their contacts' tags in v1 reads; nothing else to link.

    notes = [s.call("POST", "/notes", {"contact_id": contacts[i % len(contacts)], "title": f"Seed note {i}",
                                       "body": "seeded", "type": "Call", "user_id": pools["user"][0]})["id"]
             for i in range(4)]
    pools["note"] = notes
    tasks = [s.call("POST", "/tasks", {"title": f"Seed task {i}", "description": "seeded",
                                       "due_date": "2030-01-0%dT10:00:00.000Z" % (i + 1),
                                       "contact": {"id": contacts[i % len(contacts)]},
                                       "user_id": pools["user"][0], "priority": 1, "remind_time": 15})["id"]
             for i in range(4)]
    pools["task"] = tasks
    s.call("PATCH", f"/tasks/{tasks[0]}", {"completed": True})
    stages = [st["stage_id"] for st in s.call("GET", "/opportunity/stage_pipeline")]
    pools["stage"] = stages
    pools["opportunity"] = [
        s.call("POST", "/opportunities", {"opportunity_title": f"Seed opportunity {i}",
                                          "contact": {"id": contacts[i % len(contacts)]},
                                          "stage": {"id": stages[i % len(stages)]},
                                          "user": {"id": pools["user"][0]},
                                          "projected_revenue_low": 100.0, "projected_revenue_high": 200.0,
                                          "estimated_close_date": "2030-06-01T00:00:00.000Z"})["id"]
        for i in range(3)]

    # Products with plans; orders of several items with room for many small payments, and a
    # payment each (so transactions exist).
    def product(i, prefix="Seed"):
        return s.call("POST", "/products", {"product_name": f"{prefix} product {i}", "product_price": "250.00",
                                            "product_desc": "seeded", "product_short_desc": "seeded",
                                            "sku": f"{prefix.upper()}-{i}"})["id"]

    def plan(p, i):
        return s.call("POST", f"/products/{p}/subscriptions",
                      {"cycle_type": ["MONTH", "YEAR", "WEEK", "DAY"][i % 4], "plan_price": "9.99",
                       "frequency": 1 + i % 3, "number_of_cycles": i % 5})["id"]

    products = [product(i) for i in range(4)]
    pools["product"] = products
    pools["plan_pair"] = [[p, plan(p, i)] for i, p in enumerate(products)]

    def order(i, items=3):
        body = {"contact_id": contacts[i % len(contacts)], "order_date": "2024-05-21T14:30:00.000Z",
                "order_title": f"Seed order {i}", "order_type": "Online" if i % 2 else "Offline",
                "order_items": [{"product_id": products[(i + k) % len(products)], "quantity": 1 + k,
                                 "description": "seeded"} for k in range(items)],
                "shipping_address": {"first_name": "Ada", "line1": f"{i} Elm St", "locality": "Springfield",
                                     "region": "US-IL", "zip_code": "62701", "country_code": "USA"}}
        return s.call("POST", "/orders", body)

    orders = [order(i) for i in range(4)]
    pools["order"] = [o["id"] for o in orders]
    pools["transaction"] = [
        s.call("POST", f"/orders/{o['id']}/payments",
               {"payment_amount": "10.00", "payment_method_type": "CASH", "notes": "seeded"})["id"]
        for o in orders]
    pools["subscription"] = [
        s.call("POST", "/subscriptions", {"contact_id": contacts[i], "subscription_plan_id": pair[1],
                                          "quantity": 1 + i, "first_bill_date": "2030-03-01"})["id"]
        for i, pair in enumerate(pools["plan_pair"])]
    s.call("PUT", f"/orders/{orders[0]['id']}/paymentPlan",
           {"days_between_payments": 30, "number_of_payments": 3, "plan_start_date": "2030-01-01"})

    # Disposable records for the DELETE operations (run last, each from its own pool).
    pools["product_disposable"] = [product(i, "Tmp") for i in range(40)]
    tmp_product = product(99, "Tmp plans")
    pools["plan_pair_disposable"] = [[tmp_product, plan(tmp_product, i)] for i in range(40)]
    # Unpaid orders: deletable, and their items too (40 items over 10 orders).
    tmp_orders = [order(100 + i, items=4) for i in range(10)]
    pools["order_disposable"] = [o["id"] for o in tmp_orders[:5]] + [order(200 + i, 1)["id"] for i in range(35)]
    pools["item_pair_disposable"] = [[o["id"], it["id"]] for o in tmp_orders[5:] for it in o["order_items"]]

    # (contacts, notes, tasks)

    pools["contact_disposable"] = [contact(i, "Tmp") for i in range(40)]
    pools["note_disposable"] = [s.call("POST", "/notes", {"contact_id": contacts[0], "title": f"tmp {i}"})["id"]
                                for i in range(40)]
    pools["task_disposable"] = [s.call("POST", "/tasks", {"title": f"tmp {i}",
                                                          "due_date": "2030-02-01T00:00:00.000Z"})["id"]
                                for i in range(40)]

    seed_emails(s, pools)
    # REST hooks: subscriptions whose receiver refuses (so they stay Unverified), some to keep
    # and some for the DELETE operation.
    def hook(i):
        return s.call("POST", "/hooks", {"eventKey": ["contact.add", "order.add", "task.edit"][i % 3],
                                         "hookUrl": "http://127.0.0.1:9/hook"})["key"]
    pools["hook"] = [hook(i) for i in range(6)]
    pools["hook_disposable"] = [hook(i) for i in range(40)]

    countries = s.call("GET", "/locales/countries")["countries"]
    pools["country"] = [c for c in ("USA", "CAN", "GBR", "AUS") if c in countries] or sorted(countries)[:3]
    pools["_seed_requests"] = s.requests
    return pools


def seed_emails(s, pools):
    """E-mail records (each seeded contact's address as recipient, so `?email=` and
    `?contact_id=` filters hit), disposable ones for `DELETE /emails/{id}` and for
    `POST /emails/unsync`, and one queued send so the outbox is not empty."""
    contacts = pools["contact"]

    def record(i, tag):
        return s.call("POST", "/emails", {
            "contact_id": contacts[i % len(contacts)],
            "subject": f"Seed {tag} e-mail {i}",
            "sent_to_address": pools["contact_email"][i % len(contacts)],
            "sent_from_address": "sender@seed.example",
            "sent_date": "2024-0%d-10T10:00:00.000Z" % (1 + i % 9),
            "received_date": "2024-0%d-10T10:00:05.000Z" % (1 + i % 9),
            "original_provider": ("GOOGLE", "MICROSOFT", "UNKNOWN")[i % 3],
            "original_provider_id": f"seed-{tag}-{i}",
            "html_content": "PGI+c2VlZGVkPC9iPg==",
            "plain_content": "c2VlZGVk",
        })["id"]

    pools["email"] = [record(i, "kept") for i in range(8)]
    pools["email_disposable"] = [record(i, "tmp") for i in range(40)]
    pools["email_unsync"] = [record(i, "unsync") for i in range(40)]
    # Addresses for PUT /emailAddresses/{email}: those of the disposable contacts, which no
    # generated PATCH rewrites (PATCH draws from the kept pool) and which are deleted only at the end.
    pools["email_address"] = [f"tmp{i}@seed.example" for i in range(len(pools["contact_disposable"]))]
    s.call("POST", "/emails/queue", {"contacts": contacts[:2], "user_id": pools["user"][0],
                                     "subject": "Seeded ~Contact.FirstName~", "plain_content": "aGk="},
           expect=(202,))
