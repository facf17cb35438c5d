-- Digests (issue 16): the outside deliveries of a digested notice (domain/model.py: DIGESTED_TEMPLATES)
-- join the pending delivery of the person's earlier notice of the same kind on the same channel, the
-- digest's lead, as status 'digested' with digest_of naming the lead's notice. The worker sends the lead
-- once the digest window has passed since its notice, as one message listing every member, and gives
-- the members the lead's outcome.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_status_check;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_status_check
    CHECK (status IN ('pending', 'sending', 'delivered', 'failed', 'digested'));
ALTER TABLE deliveries ADD COLUMN digest_of uuid;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_digest_member_check
    CHECK ((status = 'digested') = (digest_of IS NOT NULL) OR status IN ('delivered', 'failed'));
CREATE INDEX deliveries_by_digest ON deliveries (digest_of, channel) WHERE digest_of IS NOT NULL;
CREATE INDEX notifications_by_person_template ON notifications (person_id, template);
