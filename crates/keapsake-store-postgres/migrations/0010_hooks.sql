-- REST hooks (keapsake_core::hooks, docs/schema.md "Hook outbox"): every change to tenant data
-- that a verified subscription listens for becomes an outbox row IN THE SAME TRANSACTION as the
-- change, written by the triggers below. Same tables, columns and event rules as the SQLite
-- migration 0010_hooks.sql (see there for the column contracts).

CREATE TABLE hook_event_map (
    kind      TEXT NOT NULL,
    op        TEXT NOT NULL,
    event_key TEXT NOT NULL,
    PRIMARY KEY (kind, op, event_key)
);

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

CREATE TABLE hook_outbox (
    seq         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id  BIGINT  NOT NULL,
    hook_id     BIGINT  NOT NULL,
    event_key   TEXT    NOT NULL,
    object_id   BIGINT  NOT NULL,
    contact_id  BIGINT,
    changed_at  BIGINT  NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    next_at     BIGINT  NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX hook_outbox_group ON hook_outbox (account_id, hook_id, event_key, seq);

CREATE FUNCTION keapsake_now_ms() RETURNS BIGINT LANGUAGE sql VOLATILE AS
$$ SELECT (extract(epoch FROM clock_timestamp()) * 1000)::BIGINT $$;

CREATE FUNCTION records_hook_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, changed_at)
        SELECT NEW.account_id, h.id, m.event_key, NEW.id, NEW.updated_at
        FROM hook_event_map m
        JOIN records h ON h.account_id = NEW.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
        WHERE m.kind = NEW.kind AND m.op = 'add' AND h.k1 = 'Verified';
        RETURN NULL;
    ELSIF TG_OP = 'UPDATE' THEN
        INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, changed_at)
        SELECT NEW.account_id, h.id, m.event_key, NEW.id, NEW.updated_at
        FROM hook_event_map m
        JOIN records h ON h.account_id = NEW.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
        WHERE m.kind = NEW.kind AND h.k1 = 'Verified'
          AND (m.op = 'edit'
               OR (m.op = 'payment' AND NEW.kind = 'order'
                   AND coalesce(jsonb_array_length(
                         CASE WHEN jsonb_typeof(NEW.data::jsonb -> 'payments') = 'array'
                              THEN NEW.data::jsonb -> 'payments' END), 0)
                     > coalesce(jsonb_array_length(
                         CASE WHEN jsonb_typeof(OLD.data::jsonb -> 'payments') = 'array'
                              THEN OLD.data::jsonb -> 'payments' END), 0)));
        RETURN NULL;
    ELSE
        INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, changed_at)
        SELECT OLD.account_id, h.id, m.event_key, OLD.id, keapsake_now_ms()
        FROM hook_event_map m
        JOIN records h ON h.account_id = OLD.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
        WHERE m.kind = OLD.kind AND m.op = 'delete' AND h.k1 = 'Verified';
        RETURN NULL;
    END IF;
END $$;

CREATE TRIGGER records_hook AFTER INSERT OR UPDATE OR DELETE ON records
    FOR EACH ROW EXECUTE FUNCTION records_hook_event();

CREATE FUNCTION links_hook_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, contact_id, changed_at)
        SELECT NEW.account_id, h.id, m.event_key, NEW.b, NEW.a, NEW.created_at
        FROM hook_event_map m
        JOIN records h ON h.account_id = NEW.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
        WHERE m.kind = NEW.kind AND m.op = 'add' AND h.k1 = 'Verified';
    ELSE
        INSERT INTO hook_outbox (account_id, hook_id, event_key, object_id, contact_id, changed_at)
        SELECT OLD.account_id, h.id, m.event_key, OLD.b, OLD.a, keapsake_now_ms()
        FROM hook_event_map m
        JOIN records h ON h.account_id = OLD.account_id AND h.kind = 'hook' AND h.k0 = m.event_key
        WHERE m.kind = OLD.kind AND m.op = 'delete' AND h.k1 = 'Verified';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER links_hook AFTER INSERT OR DELETE ON links
    FOR EACH ROW EXECUTE FUNCTION links_hook_event();
