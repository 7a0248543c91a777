"""The record key SQL: uniform on 0-255 and equal to md5_number_lower(secret || id) % 256, the keys of every
cohort prepared before the faster form (so released counts do not change with the loader)."""

import duckdb

from disclosure.record_keys import KEY_RANGE, record_key_sql


def test_record_keys_equal_the_lower_md5_number_modulo_256():
    con = duckdb.connect()
    rows = con.execute(
        f"SELECT {record_key_sql('pid')} AS fast, CAST(md5_number_lower($secret || pid) % 256 AS SMALLINT) AS old "
        "FROM (SELECT 'P' || CAST(i AS VARCHAR) AS pid FROM range(20000) t(i))", {"secret": "s" * 40}).fetchall()
    assert all(fast == old for fast, old in rows)
    keys = [fast for fast, _ in rows]
    assert min(keys) == 0 and max(keys) == KEY_RANGE - 1
    assert len(set(keys)) == KEY_RANGE
