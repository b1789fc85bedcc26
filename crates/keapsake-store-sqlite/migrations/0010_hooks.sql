-- REST hooks (keapsake_core::hooks, docs/schema.md "Hook outbox"): every change to tenant data
-- that a verified subscription listens for becomes an outbox row IN THE SAME TRANSACTION as the
-- change, written by the triggers below, so no API (REST v1, XML-RPC, admin) can change a record
-- without its event, and no event exists for a change that rolled back. The delivery worker
-- (keapsake-server src/webhooks/) claims rows with a lease, POSTs them, and deletes them.
-- Same tables, columns and event rules as the PostgreSQL migration 0010_hooks.sql.

-- Which event keys a change of a record kind (or a link kind) raises. `op` is add, edit, delete,
-- or payment (an order whose "payments" array grew). Data, not code: both backends' triggers
-- read it, and the conformance suite checks the rows through the store.
CREATE TABLE hook_event_map (
    kind      TEXT NOT NULL,
    op        TEXT NOT NULL,
    event_key TEXT NOT NULL,
    PRIMARY KEY (kind, op, event_key)
) STRICT, WITHOUT ROWID;

INSERT INTO hook_event_map (kind, op, event_key) VALUES
    ('contact', 'add', 'contact.add'), ('contact', 'edit', 'contact.edit'),
    ('contact', 'delete', 'contact.delete'),
    ('tag', 'add', 'contactGroup.add'), ('tag', 'edit', 'contactGroup.edit'),
    ('tag', 'delete', 'contactGroup.delete'),
    ('contact_tag', 'add', 'contactGroup.applied'), ('contact_tag', 'delete', 'contactGroup.removed'),
    ('company', 'add', 'company.add'), ('company', 'edit', 'company.edit'),
    ('company', 'delete', 'company.delete'),
    ('note', 'add', 'note.add'), ('note', 'edit', 'note.edit'), ('note', 'delete', 'note.delete'),
    ('task', 'add', 'task.add'), ('task', 'edit', 'task.edit'), ('task', 'delete', 'task.delete'),
    ('opportunity', 'add', 'opportunity.add'), ('opportunity', 'edit', 'opportunity.edit'),
    ('opportunity', 'delete', 'opportunity.delete'),
    ('product', 'add', 'product.add'), ('product', 'edit', 'product.edit'),
    ('product', 'delete', 'product.delete'),
    ('order', 'add', 'order.add'), ('order', 'edit', 'order.edit'), ('order', 'delete', 'order.delete'),
    ('order', 'add', 'invoice.add'), ('order', 'edit', 'invoice.edit'),
    ('order', 'delete', 'invoice.delete'),
    ('order', 'payment', 'invoice.payment.add');

-- One row per (change, subscription). `contact_id` is set for tag application events
-- (object = tag, contact = the contact tagged). `changed_at` is the change's time in ms (the
-- record's updated_at; for deletes, which carry no application time, the database's clock).
-- `attempts` counts failed deliveries; a row with attempts > 0 is due at `next_at`. A claimed
-- row carries its claimer's `lease_owner` until `lease_until`; an expired lease (a crashed node)
-- makes the row claimable again.
CREATE TABLE hook_outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- No foreign key: deleting an account cascades into records, whose delete triggers may
    -- still write here; the worker drops rows whose subscription is gone.
    account_id  INTEGER NOT NULL,
    hook_id     INTEGER NOT NULL,
    event_key   TEXT    NOT NULL,
    object_id   INTEGER NOT NULL,
    contact_id  INTEGER,
    changed_at  INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     INTEGER NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until INTEGER
) STRICT;
CREATE INDEX hook_outbox_group ON hook_outbox (account_id, hook_id, event_key, seq);

CREATE TRIGGER records_hook_add AFTER INSERT ON records
BEGIN
    INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, changed_at)
    SELECT NEW.account_id, h.id, m.event_key, NEW.id, NEW.updated_at
    FROM hook_event_map m
    JOIN records h ON h.account_id = NEW.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
    WHERE m.kind = NEW.kind AND m.op = 'add' AND h.k1 = 'Verified';
END;

CREATE TRIGGER records_hook_edit AFTER UPDATE ON records
BEGIN
    INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, changed_at)
    SELECT NEW.account_id, h.id, m.event_key, NEW.id, NEW.updated_at
    FROM hook_event_map m
    JOIN records h ON h.account_id = NEW.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
    WHERE m.kind = NEW.kind AND h.k1 = 'Verified'
      AND (m.op = 'edit'
           OR (m.op = 'payment'
               AND coalesce(json_array_length(NEW.data, '$.payments'), 0)
                   > coalesce(json_array_length(OLD.data, '$.payments'), 0)));
END;

CREATE TRIGGER records_hook_delete AFTER DELETE ON records
BEGIN
    INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, changed_at)
    SELECT OLD.account_id, h.id, m.event_key, OLD.id, CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM hook_event_map m
    JOIN records h ON h.account_id = OLD.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
    WHERE m.kind = OLD.kind AND m.op = 'delete' AND h.k1 = 'Verified';
END;

CREATE TRIGGER links_hook_add AFTER INSERT ON links
BEGIN
    INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, contact_id, changed_at)
    SELECT NEW.account_id, h.id, m.event_key, NEW.b, NEW.a, NEW.created_at
    FROM hook_event_map m
    JOIN records h ON h.account_id = NEW.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
    WHERE m.kind = NEW.kind AND m.op = 'add' AND h.k1 = 'Verified';
END;

CREATE TRIGGER links_hook_delete AFTER DELETE ON links
BEGIN
    INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, contact_id, changed_at)
    SELECT OLD.account_id, h.id, m.event_key, OLD.b, OLD.a, CAST(unixepoch('subsec') * 1000 AS INTEGER)
    FROM hook_event_map m
    JOIN records h ON h.account_id = OLD.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
    WHERE m.kind = OLD.kind AND m.op = 'delete' AND h.k1 = 'Verified';
END;
