-- The contact directory: projected from ApplicationSubmitted (contact details, language, region)
CREATE TABLE contacts (
    person_id   uuid PRIMARY KEY,
    region      text NOT NULL,
    phone       text NOT NULL,
    email       text,
    language    text NOT NULL CHECK (language IN ('zh-CN', 'en')),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Enrolments as enrollment announces them (region = the event envelope's region)
CREATE TABLE enrolments (
    enrollment_id  uuid PRIMARY KEY,
    person_id      uuid NOT NULL,
    region         text NOT NULL,
    programme      text NOT NULL,
    base           numeric(14, 2) NOT NULL,
    frequency      text NOT NULL,
    status         text NOT NULL CHECK (status IN ('active', 'suspended', 'terminated')),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX enrolments_by_person ON enrolments (person_id);

-- What the person chose; no row means the defaults (every reachable channel, reminders on)
CREATE TABLE preferences (
    person_id   uuid PRIMARY KEY,
    channels    text[] NOT NULL,
    language    text CHECK (language IN ('zh-CN', 'en')),
    reminders   boolean NOT NULL DEFAULT true,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- Bills from PremiumDue and what PremiumPaid.applied paid on them: what "still unpaid" means
-- for reminders. One row per (payment, bill), so a payment counts once however often it arrives.
CREATE TABLE bills (
    bill_id         uuid PRIMARY KEY,
    person_id       uuid NOT NULL,
    region          text NOT NULL,
    months          text[] NOT NULL,
    total           numeric(14, 2) NOT NULL,
    due_date        date NOT NULL,
    due_event_id    uuid NOT NULL,
    correlation_id  uuid NOT NULL
);
CREATE INDEX bills_by_due_date ON bills (due_date);

CREATE TABLE bill_payments (
    payment_id  uuid NOT NULL,
    bill_id     uuid NOT NULL,
    principal   numeric(14, 2) NOT NULL,
    PRIMARY KEY (payment_id, bill_id)
);
CREATE INDEX bill_payments_by_bill ON bill_payments (bill_id);

-- One notice per (causing event, template): the person's inbox entry, rendered at creation
CREATE TABLE notifications (
    notification_id  uuid PRIMARY KEY,
    person_id        uuid NOT NULL,
    region           text NOT NULL,
    template         text NOT NULL,
    caused_by        uuid NOT NULL,
    correlation_id   uuid NOT NULL,
    language         text NOT NULL,
    title            text NOT NULL,
    body             text NOT NULL,
    created_at       timestamptz NOT NULL,
    UNIQUE (caused_by, template)
);
CREATE INDEX notifications_by_person ON notifications (person_id, created_at DESC);

-- One delivery per notice and channel, hence one per (causing event, template, channel)
CREATE TABLE deliveries (
    notification_id  uuid NOT NULL REFERENCES notifications ON DELETE CASCADE,
    channel          text NOT NULL CHECK (channel IN ('inbox', 'sms', 'email')),
    status           text NOT NULL CHECK (status IN ('pending', 'sending', 'delivered', 'failed')),
    attempts         int NOT NULL DEFAULT 0,
    last_error       text,
    next_attempt_at  timestamptz,
    delivered_at     timestamptz,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (notification_id, channel)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at) WHERE status IN ('pending', 'sending');
