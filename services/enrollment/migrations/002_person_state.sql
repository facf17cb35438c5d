-- What an application reads of the person, as one value that any change to it changes
-- (services/enrollment/operations/applications.py): an application reads the person without locks,
-- then writes in one statement that first takes the person's lock and compares the person's state
-- of that moment with the one it read, writing nothing if they differ.
--
-- A row's xmin is the transaction that wrote its current version: every update gives it a new one.
-- The person's row (their retirement category on record), their applications and their enrolments
-- not terminated hold everything an application is checked against: a change to one of them, and a
-- row joining or leaving them, changes the state.
CREATE FUNCTION person_state(person uuid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws('|',
        coalesce((SELECT p.xmin::text FROM persons p WHERE p.person_id = person), ''),
        coalesce((SELECT string_agg(a.application_id::text || ':' || a.xmin::text, ',' ORDER BY a.application_id)
                  FROM applications a WHERE a.person_id = person), ''),
        coalesce((SELECT string_agg(e.enrollment_id::text || ':' || e.xmin::text, ',' ORDER BY e.enrollment_id)
                  FROM enrollments e WHERE e.person_id = person AND e.status <> 'terminated'), ''))
$$;

-- The same as of now: a volatile function's query takes a snapshot of its own, so called after the
-- statement calling it has taken the person's lock, it sees every change committed before the lock
-- was granted, which the calling statement's own snapshot, taken before it waited, does not.
CREATE FUNCTION person_state_now(person uuid) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN person_state(person);
END
$$;
