-- The billing run locks, per chunk of a thousand persons, those who hold credit to spend it on
-- their new bills: few do, yet finding them read every chunk person's account row (a page each,
-- in random order: 3 ms a chunk at a million enrolments). This index holds only the persons in
-- credit; credit changes seldom (an overpayment, a refund, the run spending it).
CREATE INDEX person_accounts_in_credit ON person_accounts (person_id) WHERE credit_balance > 0;
