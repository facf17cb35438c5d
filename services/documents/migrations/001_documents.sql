-- The documents service: required-materials table, dossiers, uploaded versions, reviews,
-- the audit of content reads, and the record of retention purges.

-- Which material each programme needs (DOMAIN.md, Materials). Region '*' rows are the
-- defaults; a region's own row for a (programme, material) pair overrides the default:
-- required = true adds a material there, required = false drops a default one. A dossier
-- copies its checklist when it opens, so later changes apply to new applications only.
CREATE TABLE material_requirements (
    region    text    NOT NULL CHECK (region = '*' OR region ~ '^\d{6}$'),
    programme text    NOT NULL,
    material  text    NOT NULL,
    required  boolean NOT NULL DEFAULT true,
    PRIMARY KEY (region, programme, material)
);

INSERT INTO material_requirements (region, programme, material)
SELECT '*', programme, material
FROM unnest(ARRAY['pension', 'medical_employee', 'medical_resident', 'unemployment', 'work_injury', 'maternity'])
         AS programme,
     unnest(ARRAY['id_card', 'household_register']) AS material
UNION ALL
SELECT '*', programme, 'social_security_card'
FROM unnest(ARRAY['pension', 'medical_employee', 'medical_resident']) AS programme
UNION ALL
SELECT '*', 'pension', 'work_unit_certificate';

CREATE TABLE dossiers (
    application_id uuid        PRIMARY KEY,
    person_id      uuid        NOT NULL,
    region         text        NOT NULL,
    programmes     text[]      NOT NULL,
    status         text        NOT NULL DEFAULT 'open'
                               CHECK (status IN ('open', 'verified', 'withdrawn', 'rejected')),
    opened_at      timestamptz NOT NULL,
    closed_at      timestamptz,
    verified_by    text,
    purged_at      timestamptz,
    purge_id       uuid,
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX dossiers_person ON dossiers (person_id);
CREATE INDEX dossiers_awaiting_purge ON dossiers (closed_at) WHERE closed_at IS NOT NULL AND purged_at IS NULL;

CREATE TABLE dossier_materials (
    application_id      uuid NOT NULL REFERENCES dossiers,
    material            text NOT NULL,
    current_document_id uuid,
    PRIMARY KEY (application_id, material)
);

-- Every uploaded version; the current one of a material is dossier_materials.current_document_id.
-- A purged version keeps its row as a tombstone (no storage key).
CREATE TABLE documents (
    document_id      uuid        PRIMARY KEY,
    application_id   uuid        NOT NULL,
    material         text        NOT NULL,
    version          int         NOT NULL CHECK (version > 0),
    person_id        uuid        NOT NULL,
    sha256           text        NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    size             bigint      NOT NULL CHECK (size > 0),
    content_type     text        NOT NULL,
    storage_key      text,
    uploaded_by      text        NOT NULL,
    uploaded_at      timestamptz NOT NULL,
    status           text        NOT NULL DEFAULT 'received' CHECK (status IN ('received', 'approved', 'rejected')),
    rejection_reason text,
    rejection_note   text,
    reviewed_by      text,
    reviewed_at      timestamptz,
    purged_at        timestamptz,
    FOREIGN KEY (application_id, material) REFERENCES dossier_materials,
    UNIQUE (application_id, material, version),
    CHECK ((storage_key IS NULL) = (purged_at IS NOT NULL))
);
CREATE INDEX documents_sha256 ON documents (sha256);
CREATE INDEX documents_storage_key ON documents (storage_key) WHERE storage_key IS NOT NULL;
CREATE INDEX documents_waiting ON documents (uploaded_at) WHERE status = 'received';

ALTER TABLE dossier_materials
    ADD FOREIGN KEY (current_document_id) REFERENCES documents DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE reviews (
    review_id   uuid        PRIMARY KEY,
    document_id uuid        NOT NULL REFERENCES documents,
    decision    text        NOT NULL CHECK (decision IN ('approve', 'reject')),
    reason      text,
    note        text,
    reviewer    text        NOT NULL,
    reviewed_at timestamptz NOT NULL
);
CREATE INDEX reviews_document ON reviews (document_id);

-- Every read of a file's content: who, in which role and region, when, which document.
CREATE TABLE content_reads (
    read_id        bigserial   PRIMARY KEY,
    document_id    uuid        NOT NULL REFERENCES documents,
    application_id uuid        NOT NULL,
    reader         text        NOT NULL,
    reader_role    text        NOT NULL,
    reader_region  text        NOT NULL,
    read_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX content_reads_document ON content_reads (document_id);

CREATE TABLE purges (
    purge_id      uuid        PRIMARY KEY,
    as_of         date        NOT NULL,
    closed_by     date        NOT NULL,  -- dossiers closed on or before this business date were purged
    ran_by        text        NOT NULL,
    ran_at        timestamptz NOT NULL DEFAULT now(),
    dossiers      int         NOT NULL,
    documents     int         NOT NULL,
    bytes         bigint      NOT NULL,
    files_deleted int
);
