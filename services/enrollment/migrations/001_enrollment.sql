-- The regional policies enrollment needs (programmes offered, base ranges, frequencies),
-- projected from PolicyPublished; one row per version.
CREATE TABLE policies (
    region          text NOT NULL,
    programme       text NOT NULL,
    effective_from  date NOT NULL,
    base_floor      numeric(14, 2),
    base_ceiling    numeric(14, 2),
    frequencies     text[] NOT NULL,
    published_by    uuid NOT NULL,           -- id of the PolicyPublished event
    received_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region, programme, effective_from)
);

-- One row per resident ID number (person_id is derived from it).
CREATE TABLE persons (
    person_id            uuid PRIMARY KEY,
    id_number            text NOT NULL UNIQUE,
    name                 text NOT NULL,
    birth_date           date NOT NULL,
    sex                  text NOT NULL CHECK (sex IN ('male', 'female')),
    retirement_category  text NOT NULL,
    region               text NOT NULL,
    phone                text NOT NULL,
    email                text,
    language             text NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE applications (
    application_id       uuid PRIMARY KEY,
    person_id            uuid NOT NULL REFERENCES persons,
    region               text NOT NULL,
    programmes           text[] NOT NULL,
    declared_base        numeric(14, 2) NOT NULL,
    medical_base         numeric(14, 2),
    frequency            text NOT NULL,
    retirement_category  text NOT NULL,
    phone                text NOT NULL,
    email                text,
    language             text NOT NULL,
    status               text NOT NULL
        CHECK (status IN ('submitted', 'awaiting_documents', 'approved', 'rejected', 'withdrawn')),
    rejected_materials   jsonb NOT NULL DEFAULT '[]',  -- the latest DocumentsRejected, for the resident
    rejection_reasons    text[] NOT NULL DEFAULT '{}', -- why the application itself was refused
    submitted_at         timestamptz NOT NULL DEFAULT now(),
    decided_at           timestamptz
);
CREATE INDEX applications_by_person ON applications (person_id);

CREATE TABLE enrollments (
    enrollment_id    uuid PRIMARY KEY,
    person_id        uuid NOT NULL REFERENCES persons,
    application_id   uuid NOT NULL REFERENCES applications,
    region           text NOT NULL,
    programme        text NOT NULL,
    base             numeric(14, 2) NOT NULL,
    frequency        text NOT NULL,
    start_month      text NOT NULL,
    terms_from       text NOT NULL,   -- the month the current base and frequency apply from
    status           text NOT NULL CHECK (status IN ('active', 'suspended', 'terminated')),
    waiting_until    date,
    suspended_since  date,
    last_month       text,
    activated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (application_id, programme)
);
-- DOMAIN.md: one active enrolment per person per programme.
CREATE UNIQUE INDEX one_open_enrollment_per_programme ON enrollments (person_id, programme)
    WHERE status <> 'terminated';

-- Every step in the life of an application or an enrolment, with its time and cause.
CREATE TABLE transitions (
    seq             bigserial PRIMARY KEY,
    aggregate       text NOT NULL CHECK (aggregate IN ('application', 'enrollment')),
    aggregate_id    uuid NOT NULL,
    from_status     text,
    to_status       text NOT NULL,
    event_type      text,            -- the event this step emitted, if any
    event_id        uuid,
    cause_event_id  uuid,            -- the consumed event that caused it ...
    cause_request   text,            -- ... or the request that asked for it
    detail          jsonb NOT NULL DEFAULT '{}',
    at              timestamptz NOT NULL DEFAULT now(),
    CHECK (cause_event_id IS NOT NULL OR cause_request IS NOT NULL)
);
CREATE INDEX transitions_by_aggregate ON transitions (aggregate_id, seq);
