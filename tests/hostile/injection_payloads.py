"""Injection payloads (SQL, DuckDB file and extension functions, path traversal, markup, encodings, oversize).

Payloads that name a file name it under ``SENTINEL_DIR``: the tests check afterwards that nothing was written.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

SENTINEL_DIR = Path(tempfile.gettempdir()) / "rls_injection_sentinels"
PWNED = str(SENTINEL_DIR / "pwned")

PAYLOADS = (
    "' OR '1'='1", "' OR 1=1 --", "\" OR \"\"=\"", "1; DROP TABLE cohort", "'; DROP TABLE cohort; --",
    "A' UNION SELECT * FROM cohort --", "A') OR ('a'='a", "1 OR 1=1", "0 UNION ALL SELECT participant_id FROM cohort",
    f"'; COPY cohort TO '{PWNED}1.csv'; --", f"A'; COPY (SELECT 1) TO '{PWNED}2.csv' --",
    f"'; ATTACH '{PWNED}3.duckdb' AS x; --", "'); SELECT * FROM read_text('/etc/passwd'); --",
    "read_text('/etc/passwd')", "read_csv_auto('/etc/passwd')", "'; INSTALL httpfs; LOAD httpfs; --",
    "'; SET enable_external_access=true; --", "'; SET lock_configuration=false; --", "'; PRAGMA database_list; --",
    "'; CALL pragma_version(); --", f"'; EXPORT DATABASE '{PWNED}4'; --", "$1", "?", ":age", "${age}", "%s",
    "age); DELETE FROM cohort; --", "`sex`", "\"sex\"", "sex\x00female", "female\x00", "female\nmale",
    "female\r\nSet-Cookie: x=1", "../../../../etc/passwd", "..\\..\\windows\\win.ini", "file:///etc/passwd",
    "http://127.0.0.1:9/x.csv", "s3://bucket/cohort.parquet", "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(1)>", "javascript:alert(1)", "{{7*7}}", "${jndi:ldap://127.0.0.1/a}",
    "=HYPERLINK(\"http://x\")", "@SUM(1+1)", "+cmd|' /C calc'!A0", "-1e308", "1e309", "NaN", "Infinity", "-0",
    "18-19; DROP TABLE cohort", "40-79 OR 1=1", "2008-2022' --", "A,B' OR '1'='1", "female,male'; --",
    "pregnancy') OR 1=1 --", "rls' OR 1=1 --", "ｓｅｌｅｃｔ", "é" * 3, "\u202egnirts", "A" * 10_000,
    "%27%20OR%201%3D1", "%00", "0x27", "CHAR(39)", "' || (SELECT version()) || '", "1/0", "(SELECT 1)",
)
