-- What a payment reads of its payer, as one value that any change to it changes
-- (services/billing/operations/payments.py): a payment reads its payer without locks, then writes in
-- one statement that first locks the account and compares the payer's state of that moment with the
-- one it read, writing nothing if they differ.
--
-- A row's xmin is the transaction that wrote its current version: every update gives it a new one.
-- The bills are the person's open and overdue ones and those whose arrears may wait to be announced,
-- a superset of the ones a payment reads (repository/payments.py, _LOCKED_PAYER): a change to one of
-- those, and a bill joining or leaving them, changes the state. A bill's lines change only with the
-- bill (its months and programmes are theirs); the account's row and the person's first month of
-- cover are in it too.
CREATE FUNCTION payer_state(person uuid) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws('|',
        (SELECT a.xmin::text FROM person_accounts a WHERE a.person_id = person),
        (SELECT min(e.start_month)::text FROM enrolments e WHERE e.person_id = person),
        (SELECT string_agg(b.bill_id::text || ':' || b.xmin::text, ',' ORDER BY b.bill_id)
         FROM bills b
         WHERE b.person_id = person
           AND (b.status IN ('open', 'overdue') OR (b.overdue_level >= 1 AND b.arrears_reported_at IS NULL))))
$$;

-- The same as of now: a volatile function's query takes a snapshot of its own, so called after the
-- statement calling it has locked the account, it sees every change committed before the lock was
-- granted, which the calling statement's own snapshot, taken before it waited, does not.
CREATE FUNCTION payer_state_now(person uuid) RETURNS text LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RETURN payer_state(person);
END
$$;
