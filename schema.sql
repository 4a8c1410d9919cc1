-- possync schema.
--
-- Each "-- step N" block is applied once, in order, in one transaction, and then sets
-- PRAGMA user_version = N. Never edit a step that has shipped: add a new one.
-- Times are Unix milliseconds (INTEGER). Ids are UUID text. Every enum has a CHECK.

-- step 1
CREATE TABLE sellers (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,          -- trimmed and lower-cased
    name          TEXT,
    password_hash TEXT NOT NULL,                 -- argon2id PHC string
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE api_tokens (
    id         TEXT PRIMARY KEY,
    seller_id  TEXT NOT NULL REFERENCES sellers(id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,             -- SHA-256 of the token; the token is never stored
    kind       TEXT NOT NULL CHECK (kind IN ('session', 'api')),
    name       TEXT,
    created_at INTEGER NOT NULL,
    expires_at INTEGER,                          -- NULL: does not expire
    revoked_at INTEGER
) STRICT;
CREATE INDEX api_tokens_by_seller ON api_tokens (seller_id);

CREATE TABLE businesses (
    id                 TEXT PRIMARY KEY,
    seller_id          TEXT NOT NULL REFERENCES sellers(id),
    name               TEXT NOT NULL,
    currency           TEXT NOT NULL CHECK (length(currency) = 3 AND currency = upper(currency)),
    timezone           TEXT NOT NULL,
    notification_email TEXT,
    whatsapp_number    TEXT,
    whatsapp_enabled   INTEGER NOT NULL DEFAULT 0 CHECK (whatsapp_enabled IN (0, 1)),
    created_at         INTEGER NOT NULL
) STRICT;
CREATE INDEX businesses_by_seller ON businesses (seller_id, created_at, id);

CREATE TABLE dishes (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    name        TEXT NOT NULL,
    price       INTEGER NOT NULL CHECK (price >= 0),   -- minor units of the business currency
    created_at  INTEGER NOT NULL
) STRICT;
CREATE INDEX dishes_by_business ON dishes (business_id, created_at, id);

CREATE TABLE orders (
    id                   TEXT PRIMARY KEY,
    business_id          TEXT NOT NULL REFERENCES businesses(id),
    customer_name        TEXT NOT NULL,
    customer_phone       TEXT,
    special_instructions TEXT,
    currency             TEXT NOT NULL,
    total                INTEGER NOT NULL CHECK (total >= 0),
    created_at           INTEGER NOT NULL
) STRICT;
CREATE INDEX orders_by_business ON orders (business_id, created_at, id);

-- Names and prices are copied from the dishes when the order is made.
CREATE TABLE order_items (
    order_id   TEXT NOT NULL REFERENCES orders(id) ON DELETE CASCADE,
    position   INTEGER NOT NULL,
    dish_id    TEXT NOT NULL REFERENCES dishes(id),
    name       TEXT NOT NULL,
    quantity   INTEGER NOT NULL CHECK (quantity BETWEEN 1 AND 999),
    unit_price INTEGER NOT NULL CHECK (unit_price >= 0),
    note       TEXT,
    PRIMARY KEY (order_id, position)
) STRICT;

CREATE TABLE pos_integrations (
    id                  TEXT PRIMARY KEY,
    business_id         TEXT NOT NULL UNIQUE REFERENCES businesses(id),
    provider            TEXT NOT NULL CHECK (provider IN ('square', 'zoho', 'dine')),
    is_active           INTEGER NOT NULL CHECK (is_active IN (0, 1)),
    access_token        TEXT,                    -- sealed (AES-256-GCM); NULL once disconnected
    refresh_token       TEXT,                    -- sealed
    token_expires_at    INTEGER,
    token_refreshed_at  INTEGER,
    location_id         TEXT,
    merchant_id         TEXT,
    default_customer_id TEXT,
    auto_sync_orders    INTEGER NOT NULL CHECK (auto_sync_orders IN (0, 1)),
    sync_customer_info  INTEGER NOT NULL CHECK (sync_customer_info IN (0, 1)),
    item_mapping        TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(item_mapping)),
    last_sync_at        INTEGER,
    error_count         INTEGER NOT NULL DEFAULT 0 CHECK (error_count >= 0),
    last_error          TEXT,
    paused_until        INTEGER,                 -- a 429 pauses the integration until then
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
) STRICT;

-- The outbox: one row per push of one order to one integration.
CREATE TABLE sync_logs (
    id             TEXT PRIMARY KEY,
    order_id       TEXT NOT NULL REFERENCES orders(id),
    business_id    TEXT NOT NULL REFERENCES businesses(id),
    integration_id TEXT NOT NULL REFERENCES pos_integrations(id),
    provider       TEXT NOT NULL CHECK (provider IN ('square', 'zoho', 'dine')),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'syncing', 'retry', 'success', 'failed')),
    pos_order_id   TEXT,
    retry_count    INTEGER NOT NULL DEFAULT 0 CHECK (retry_count >= 0),
    max_retries    INTEGER NOT NULL CHECK (max_retries >= 0),
    next_retry_at  INTEGER,                      -- when a pending/retry log falls due
    lease_until    INTEGER,                      -- while syncing: when the claim runs out
    error_message  TEXT,
    duration_ms    INTEGER,
    completed_at   INTEGER,
    created_at     INTEGER NOT NULL
) STRICT;
CREATE INDEX sync_logs_history ON sync_logs (business_id, created_at DESC, id DESC);
CREATE INDEX sync_logs_history_by_status ON sync_logs (business_id, status, created_at DESC, id DESC);
CREATE INDEX sync_logs_by_order ON sync_logs (order_id, created_at DESC, id DESC);
CREATE INDEX sync_logs_due ON sync_logs (next_retry_at) WHERE status IN ('pending', 'retry');
CREATE INDEX sync_logs_leased ON sync_logs (lease_until) WHERE status = 'syncing';
CREATE INDEX sync_logs_queued_by_integration ON sync_logs (integration_id)
    WHERE status IN ('pending', 'retry');

-- Counts of sync logs per business and status, kept by triggers so stats and history totals
-- cost one indexed read at any size.
CREATE TABLE sync_log_counts (
    business_id TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('pending', 'syncing', 'retry', 'success', 'failed')),
    n           INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (business_id, status)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER sync_logs_count_insert AFTER INSERT ON sync_logs
BEGIN
    INSERT INTO sync_log_counts (business_id, status, n) VALUES (NEW.business_id, NEW.status, 1)
    ON CONFLICT (business_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_logs_count_update AFTER UPDATE OF status ON sync_logs
WHEN OLD.status <> NEW.status
BEGIN
    UPDATE sync_log_counts SET n = n - 1 WHERE business_id = OLD.business_id AND status = OLD.status;
    INSERT INTO sync_log_counts (business_id, status, n) VALUES (NEW.business_id, NEW.status, 1)
    ON CONFLICT (business_id, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_logs_count_delete AFTER DELETE ON sync_logs
BEGIN
    UPDATE sync_log_counts SET n = n - 1 WHERE business_id = OLD.business_id AND status = OLD.status;
END;

-- The audit trail: one row per HTTP attempt.
CREATE TABLE sync_attempts (
    id             TEXT PRIMARY KEY,
    sync_log_id    TEXT NOT NULL REFERENCES sync_logs(id),
    attempt_number INTEGER NOT NULL CHECK (attempt_number >= 1),
    started_at     INTEGER NOT NULL,
    duration_ms    INTEGER NOT NULL CHECK (duration_ms >= 0),
    http_status    INTEGER,                      -- NULL when no response came
    outcome        TEXT NOT NULL CHECK (outcome IN
                       ('success', 'retry', 'rate_limited', 'auth_failed', 'failed', 'ambiguous')),
    error_message  TEXT,
    pos_order_id   TEXT,
    UNIQUE (sync_log_id, attempt_number)
) STRICT;

CREATE TABLE notifications (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    kind        TEXT NOT NULL CHECK (kind IN ('sync_failing', 'sync_failed', 'reconnect_required',
                                              'token_expiring', 'possible_duplicate')),
    title       TEXT NOT NULL,
    message     TEXT NOT NULL,
    order_id    TEXT REFERENCES orders(id),
    sync_log_id TEXT REFERENCES sync_logs(id),
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
) STRICT;
CREATE INDEX notifications_by_business ON notifications (business_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (business_id) WHERE read_at IS NULL;

-- The notification outbox: one row per channel delivery.
CREATE TABLE notification_deliveries (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER,
    last_error      TEXT,
    UNIQUE (notification_id, channel)
) STRICT;
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';

-- OAuth "state" values: single use, stored hashed, short-lived.
CREATE TABLE oauth_states (
    state_hash  BLOB PRIMARY KEY,
    seller_id   TEXT NOT NULL REFERENCES sellers(id),
    business_id TEXT NOT NULL REFERENCES businesses(id),
    provider    TEXT NOT NULL CHECK (provider IN ('square', 'zoho', 'dine')),
    location_id TEXT,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
) STRICT;

-- step 2
-- Zoho contacts possync made or found, per integration and customer key (phone or name), so
-- concurrent orders from one customer do not create two contacts.
CREATE TABLE zoho_contacts (
    integration_id TEXT NOT NULL REFERENCES pos_integrations(id),
    customer_key   TEXT NOT NULL,
    contact_id     TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    PRIMARY KEY (integration_id, customer_key)
) STRICT, WITHOUT ROWID;
-- The API host Zoho's token exchange named for this integration (its data centre).
ALTER TABLE pos_integrations ADD COLUMN api_domain TEXT;
-- The exact body a provider with idempotency keys was sent for this push; retries and forced
-- re-syncs resend it unchanged, so the POS answers with the order it already made.
ALTER TABLE sync_logs ADD COLUMN request_body TEXT;

-- step 3
-- One row that `/readyz` changes and changes back in a tiny write transaction: the cheapest
-- write that must reach the disk, so a full or read-only disk makes the service not ready.
CREATE TABLE heartbeat (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    beat INTEGER NOT NULL
) STRICT;
INSERT INTO heartbeat (id, beat) VALUES (1, 0);

-- step 4
-- Lanes: each integration's queue in the order its orders were created (the FIFO a worker
-- takes from), when its earliest queued log falls due, and what is in flight to it. The first
-- replaces the plain per-integration index, which is its prefix.
DROP INDEX sync_logs_queued_by_integration;
CREATE INDEX sync_logs_lane ON sync_logs (integration_id, created_at)
    WHERE status IN ('pending', 'retry');
CREATE INDEX sync_logs_lane_due ON sync_logs (integration_id, next_retry_at)
    WHERE status IN ('pending', 'retry');
CREATE INDEX sync_logs_in_flight ON sync_logs (integration_id) WHERE status = 'syncing';

-- step 5
-- An order's life after it is placed: canceled (by the seller through possync), and the state
-- its POS reports for it (read back by the POS-state job; NULL until known).
ALTER TABLE orders ADD COLUMN status TEXT NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'canceled'));
ALTER TABLE orders ADD COLUMN canceled_at INTEGER;
ALTER TABLE orders ADD COLUMN cancel_reason TEXT;
ALTER TABLE orders ADD COLUMN pos_state TEXT;
ALTER TABLE orders ADD COLUMN pos_state_at INTEGER;
-- A sync log creates the order in the POS or cancels it there; both go through the outbox.
ALTER TABLE sync_logs ADD COLUMN action TEXT NOT NULL DEFAULT 'create'
    CHECK (action IN ('create', 'cancel'));
-- Orders whose state the POS-state job reads back: pushed successfully, newest first.
CREATE INDEX sync_logs_pushed ON sync_logs (completed_at)
    WHERE status = 'success' AND action = 'create';

-- The counters are kept per action too: stats count creates and cancellations apart.
DROP TRIGGER sync_logs_count_insert;
DROP TRIGGER sync_logs_count_update;
DROP TRIGGER sync_logs_count_delete;
DROP TABLE sync_log_counts;
CREATE TABLE sync_log_counts (
    business_id TEXT NOT NULL,
    action      TEXT NOT NULL CHECK (action IN ('create', 'cancel')),
    status      TEXT NOT NULL CHECK (status IN ('pending', 'syncing', 'retry', 'success', 'failed')),
    n           INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (business_id, action, status)
) STRICT, WITHOUT ROWID;
INSERT INTO sync_log_counts (business_id, action, status, n)
    SELECT business_id, action, status, count(*) FROM sync_logs GROUP BY business_id, action, status;

CREATE TRIGGER sync_logs_count_insert AFTER INSERT ON sync_logs
BEGIN
    INSERT INTO sync_log_counts (business_id, action, status, n)
    VALUES (NEW.business_id, NEW.action, NEW.status, 1)
    ON CONFLICT (business_id, action, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_logs_count_update AFTER UPDATE OF status ON sync_logs
WHEN OLD.status <> NEW.status
BEGIN
    UPDATE sync_log_counts SET n = n - 1
    WHERE business_id = OLD.business_id AND action = OLD.action AND status = OLD.status;
    INSERT INTO sync_log_counts (business_id, action, status, n)
    VALUES (NEW.business_id, NEW.action, NEW.status, 1)
    ON CONFLICT (business_id, action, status) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER sync_logs_count_delete AFTER DELETE ON sync_logs
BEGIN
    UPDATE sync_log_counts SET n = n - 1
    WHERE business_id = OLD.business_id AND action = OLD.action AND status = OLD.status;
END;

-- Two new notification kinds: a cancellation the seller must make on the POS by hand, and a
-- cancellation made in the POS that possync did not ask for. SQLite cannot change a CHECK, so
-- the table is rebuilt, and its deliveries (which point at it) are set aside and put back, so
-- no foreign key is ever left dangling.
CREATE TABLE notifications_new (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    kind        TEXT NOT NULL CHECK (kind IN ('sync_failing', 'sync_failed', 'reconnect_required',
                                              'token_expiring', 'possible_duplicate',
                                              'cancel_by_hand', 'canceled_in_pos')),
    title       TEXT NOT NULL,
    message     TEXT NOT NULL,
    order_id    TEXT REFERENCES orders(id),
    sync_log_id TEXT REFERENCES sync_logs(id),
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
) STRICT;
INSERT INTO notifications_new SELECT id, business_id, kind, title, message, order_id, sync_log_id,
    created_at, read_at FROM notifications;
CREATE TABLE notification_deliveries_saved AS SELECT * FROM notification_deliveries;
DROP TABLE notification_deliveries;
DROP TABLE notifications;
ALTER TABLE notifications_new RENAME TO notifications;
CREATE INDEX notifications_by_business ON notifications (business_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (business_id) WHERE read_at IS NULL;
CREATE TABLE notification_deliveries (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications(id),
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER,
    last_error      TEXT,
    UNIQUE (notification_id, channel)
) STRICT;
INSERT INTO notification_deliveries SELECT id, notification_id, channel, status, attempts,
    next_attempt_at, last_error FROM notification_deliveries_saved;
DROP TABLE notification_deliveries_saved;
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';

-- step 6
-- The POS catalog possync last read for an integration (providers/README.md §F7), as JSON
-- entries; served while it is younger than --catalog-ttl, and while the POS cannot be read.
CREATE TABLE pos_catalogs (
    integration_id TEXT PRIMARY KEY REFERENCES pos_integrations(id),
    items          TEXT NOT NULL CHECK (json_valid(items)),
    fetched_at     INTEGER NOT NULL
) STRICT, WITHOUT ROWID;

-- step 7
-- Each lane's circuit breaker: attempts in a row that got no answer from the POS (network,
-- timeout, 5xx), when the circuit opened (NULL while closed), and when the open lane may send
-- its next probe.
ALTER TABLE pos_integrations ADD COLUMN lane_failures INTEGER NOT NULL DEFAULT 0
    CHECK (lane_failures >= 0);
ALTER TABLE pos_integrations ADD COLUMN circuit_open_since INTEGER;
ALTER TABLE pos_integrations ADD COLUMN next_probe_at INTEGER;
CREATE INDEX pos_integrations_open_lanes ON pos_integrations (next_probe_at)
    WHERE circuit_open_since IS NOT NULL;
-- A new notification kind, `pos_unreachable` (a lane's circuit opened). A CHECK cannot be
-- altered, so the table is rebuilt, and its deliveries with it: each copy references the other
-- copy before both are renamed, so no foreign key is ever left pointing at a dropped table.
CREATE TABLE notifications_next (
    id          TEXT PRIMARY KEY,
    business_id TEXT NOT NULL REFERENCES businesses(id),
    kind        TEXT NOT NULL CHECK (kind IN ('sync_failing', 'sync_failed', 'reconnect_required',
                                              'token_expiring', 'possible_duplicate',
                                              'cancel_by_hand', 'canceled_in_pos',
                                              'pos_unreachable')),
    title       TEXT NOT NULL,
    message     TEXT NOT NULL,
    order_id    TEXT REFERENCES orders(id),
    sync_log_id TEXT REFERENCES sync_logs(id),
    created_at  INTEGER NOT NULL,
    read_at     INTEGER
) STRICT;
INSERT INTO notifications_next SELECT * FROM notifications;
CREATE TABLE notification_deliveries_next (
    id              TEXT PRIMARY KEY,
    notification_id TEXT NOT NULL REFERENCES notifications_next(id),
    channel         TEXT NOT NULL CHECK (channel IN ('email', 'whatsapp')),
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at INTEGER,
    last_error      TEXT,
    UNIQUE (notification_id, channel)
) STRICT;
INSERT INTO notification_deliveries_next SELECT * FROM notification_deliveries;
DROP TABLE notification_deliveries;
DROP TABLE notifications;
ALTER TABLE notifications_next RENAME TO notifications;
ALTER TABLE notification_deliveries_next RENAME TO notification_deliveries;
CREATE INDEX notifications_by_business ON notifications (business_id, created_at DESC, id DESC);
CREATE INDEX notifications_unread ON notifications (business_id) WHERE read_at IS NULL;
CREATE INDEX notification_deliveries_due ON notification_deliveries (next_attempt_at)
    WHERE status = 'pending';

-- step 8
-- A Square push is two calls (CreateOrder, then CreatePayment, providers §F3b): each call's
-- result is kept the moment it is known, so a retry or a restart resumes at the first call not
-- yet done. Whether Square shows the order (it does once it is paid).
ALTER TABLE sync_logs ADD COLUMN pos_payment_id TEXT;
ALTER TABLE sync_logs ADD COLUMN pos_visible INTEGER CHECK (pos_visible IN (0, 1));
-- Which step each call took (NULL for calls made before steps, and for a stop mid-attempt).
-- No CHECK: steps grow with the pushes (cancellations add their own), and SQLite cannot widen
-- a column's CHECK without rebuilding the table; only `Step` (domain/enums.rs) writes it.
ALTER TABLE sync_attempts ADD COLUMN step TEXT;
-- Square: record each order's payment (on by default; off leaves orders unpaid and unseen).
ALTER TABLE pos_integrations ADD COLUMN record_payment INTEGER NOT NULL DEFAULT 1
    CHECK (record_payment IN (0, 1));

-- step 9
-- What the kitchen needs beside the lines (API.md "Orders the kitchen sees"). Orders made
-- before this step were pickups as soon as possible, paid, without order-level money: the
-- defaults say so, and their subtotal is the total they already had.
ALTER TABLE orders ADD COLUMN subtotal INTEGER NOT NULL DEFAULT 0 CHECK (subtotal >= 0);
UPDATE orders SET subtotal = total;
ALTER TABLE orders ADD COLUMN discount INTEGER NOT NULL DEFAULT 0 CHECK (discount >= 0);
ALTER TABLE orders ADD COLUMN delivery_fee INTEGER NOT NULL DEFAULT 0 CHECK (delivery_fee >= 0);
ALTER TABLE orders ADD COLUMN tip INTEGER NOT NULL DEFAULT 0 CHECK (tip >= 0);
ALTER TABLE orders ADD COLUMN fulfillment_type TEXT NOT NULL DEFAULT 'pickup'
    CHECK (fulfillment_type IN ('pickup', 'delivery', 'dine_in'));
ALTER TABLE orders ADD COLUMN pickup_at INTEGER;            -- NULL: as soon as possible
ALTER TABLE orders ADD COLUMN delivery_address TEXT;
ALTER TABLE orders ADD COLUMN dine_in_table TEXT;           -- `table` is an SQL keyword
ALTER TABLE orders ADD COLUMN payment_status TEXT NOT NULL DEFAULT 'paid'
    CHECK (payment_status IN ('paid', 'unpaid'));
ALTER TABLE orders ADD COLUMN payment_method TEXT NOT NULL DEFAULT 'other'
    CHECK (payment_method IN ('card', 'upi', 'wallet', 'cash', 'other'));

-- step 10
-- A Square cancellation refunds the payment possync recorded (providers §F6): the refund's id
-- is kept on the cancellation log the moment Square gives it, so a retry or a restart never
-- refunds twice and goes on to cancel the order.
ALTER TABLE sync_logs ADD COLUMN pos_refund_id TEXT;

-- step 11
-- Test orders (POST /pos/test-order): marked on the order and on each of its sync logs, so
-- history shows them and stats leave them out (their logs are few: a partial index finds them
-- to subtract from the counters). Their one line points at a hidden test dish, one per business
-- and made on the first test order: order_items.dish_id keeps its NOT NULL and its foreign key
-- (no table rebuild), and no dish list, mapping or suggestion ever shows it.
ALTER TABLE orders ADD COLUMN is_test INTEGER NOT NULL DEFAULT 0 CHECK (is_test IN (0, 1));
ALTER TABLE sync_logs ADD COLUMN is_test INTEGER NOT NULL DEFAULT 0 CHECK (is_test IN (0, 1));
ALTER TABLE dishes ADD COLUMN is_test INTEGER NOT NULL DEFAULT 0 CHECK (is_test IN (0, 1));
CREATE UNIQUE INDEX dishes_test ON dishes (business_id) WHERE is_test = 1;
CREATE INDEX sync_logs_test ON sync_logs (business_id, action) WHERE is_test = 1;

-- step 12
-- A cancellation that succeeded: whether the order itself stays OPEN in the POS (providers §F6:
-- Square refused CANCELED on it, so only its fulfillments are canceled), or not (the POS holds
-- it canceled). NULL for create logs and until a cancellation succeeds.
ALTER TABLE sync_logs ADD COLUMN pos_order_open INTEGER CHECK (pos_order_open IN (0, 1));
