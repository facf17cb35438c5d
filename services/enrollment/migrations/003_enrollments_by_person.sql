-- A person's enrolments are read by person: an application's record (those open), their list, the
-- last medical cover (those terminated), the state an application compares (002). The index of the
-- enrolments not terminated serves a query only when its plan can prove it asks for none of the
-- terminated ones, which a prepared statement's generic plan cannot: it read the whole table.
CREATE INDEX enrollments_by_person ON enrollments (person_id);
