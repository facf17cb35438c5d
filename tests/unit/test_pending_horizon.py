"""The relay's horizon: a sequence number read at one pass is settled only once an id of a
transaction begun at a later pass is older than every transaction running."""

from shared.outbox import PendingHorizon


def test_a_number_waits_for_an_id_of_a_later_pass_then_for_it_to_be_the_oldest():
    horizon = PendingHorizon()
    horizon.observe(last_seq=10, oldest_running=100, own_xid=None)
    assert horizon.wants_own_xid()
    assert horizon.settled == 0

    horizon.observe(last_seq=15, oldest_running=101, own_xid=105)  # 105 bounds the 10 read before
    assert not horizon.wants_own_xid()
    assert horizon.settled == 0

    horizon.observe(last_seq=15, oldest_running=105, own_xid=None)  # 105 itself may still run
    assert horizon.settled == 0

    horizon.observe(last_seq=20, oldest_running=106, own_xid=None)
    assert horizon.settled == 10  # not 15 nor 20: no id was taken after they were read
    assert horizon.wants_own_xid()


def test_an_id_is_never_paired_with_the_number_read_in_its_own_pass():
    horizon = PendingHorizon()
    horizon.observe(last_seq=10, oldest_running=100, own_xid=100)
    horizon.observe(last_seq=10, oldest_running=200, own_xid=None)
    assert horizon.settled == 0


def test_nothing_new_to_settle_asks_for_no_id():
    horizon = PendingHorizon()
    horizon.observe(last_seq=10, oldest_running=1, own_xid=None)
    horizon.observe(last_seq=10, oldest_running=2, own_xid=5)
    horizon.observe(last_seq=10, oldest_running=6, own_xid=None)
    assert horizon.settled == 10
    assert not horizon.wants_own_xid()
    horizon.observe(last_seq=10, oldest_running=7, own_xid=None)
    assert (horizon.settled, horizon.wants_own_xid()) == (10, False)
