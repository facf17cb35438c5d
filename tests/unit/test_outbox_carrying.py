"""A statement made to carry the outbox's rows (``shared.outbox.carrying_rows``): its own text and
arguments untouched, the outbox's CTEs in front with their arguments numbered after its own."""

from __future__ import annotations

import re

import pytest

from shared.outbox import carrying_rows


def arguments_in(sql: str) -> set[int]:
    return {int(n) for n in re.findall(r"\$(\d+)", sql)}


def test_a_statement_with_ctes_gets_the_outbox_ones_first():
    query = "WITH a AS (INSERT INTO t VALUES ($1, $2) RETURNING id)\nSELECT count(*) FROM a"
    carried = carrying_rows(query, 3)

    assert carried.startswith("WITH outbox_keys_locked AS (")
    assert carried.endswith(",\na AS (INSERT INTO t VALUES ($1, $2) RETURNING id)\nSELECT count(*) FROM a")
    assert carried.count("WITH ") == 2  # the outbox's and the rows' ORDINALITY: one WITH list
    assert arguments_in(carried) == {1, 2, 3, 4, 5, 6, 7, 8}


def test_a_plain_statement_is_put_under_the_outbox_ctes():
    carried = carrying_rows("  insert into t values ($1)", 2)

    assert carried.startswith("WITH outbox_keys_locked AS (")
    assert carried.endswith(")\ninsert into t values ($1)")
    assert arguments_in(carried) == {1, 2, 3, 4, 5, 6, 7}


def test_a_recursive_statement_is_refused():
    with pytest.raises(ValueError, match="RECURSIVE"):
        carrying_rows("with recursive r AS (SELECT 1) SELECT * FROM r", 1)
