-- The W3C trace context (traceparent) the event was written in, so that the relay publishing it
-- later continues the same trace and puts it in the record's headers. NULL: written in no trace.
ALTER TABLE outbox ADD COLUMN traceparent text;
