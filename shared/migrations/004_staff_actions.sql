-- The audit trail of staff writes (admin, ops, caseworker): who, when, what and why.
-- Append-only: rows are never changed or removed (the trigger refuses it), and no route writes them.
CREATE TABLE staff_actions (
    request_id   text PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    actor_sub    text NOT NULL,
    actor_role   text NOT NULL,
    actor_region text NOT NULL,
    method       text NOT NULL,
    route        text NOT NULL,
    path_params  jsonb NOT NULL DEFAULT '{}',
    request      jsonb,            -- the query and JSON body, personal data masked
    reason       text,             -- the reason(s), note or back-run reason the caller gave
    -- 'changed': written in the transaction of the change it made;
    -- 'answered NNN': the request changed nothing (refused, a dry run, nothing to do)
    outcome      text NOT NULL
);

CREATE INDEX staff_actions_by_region ON staff_actions (actor_region, at DESC);

CREATE FUNCTION staff_actions_are_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit trail is append-only (% refused)', TG_OP;
END $$;

CREATE TRIGGER staff_actions_append_only BEFORE UPDATE OR DELETE ON staff_actions
    FOR EACH ROW EXECUTE FUNCTION staff_actions_are_append_only();
