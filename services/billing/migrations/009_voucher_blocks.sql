-- Voucher numbers are handed out from blocks that a billing process reserves of its region's yearly
-- series (voucher_counters), so that payments do not queue on the counter's row until they commit
-- (services/billing/operations/voucher_numbers.py). A block is reserved in the transaction of the
-- payment that first needs it. The numbers a process still held when it stopped are never used:
-- every number of a series is on a voucher (or a refund), or in a block here whose holder has gone.
CREATE TABLE voucher_blocks (
    region      text NOT NULL,
    year        int NOT NULL,
    first_no    bigint NOT NULL,
    last_no     bigint NOT NULL,
    holder      text NOT NULL,
    reserved_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (region, year, first_no)
);
