#!/bin/bash
# SPDX-License-Identifier: MIT
# sqlite3 keeps an in-memory database of a few hundred MB (a table and
# an index; random, zero and text-like blobs) in its page cache; evicted,
# it passes PRAGMA integrity_check and checksums the same as before.
. "$(dirname "$0")/lib.sh"
command -v sqlite3 >/dev/null || uz_skip "no sqlite3"
echo "SELECT sha3_query('SELECT 1');" | sqlite3 :memory: >/dev/null 2>&1 ||
	uz_skip "this sqlite3 shell has no sha3_query()"
uz_start_daemon

# sha3_query() (built into the sqlite3 shell) hashes every row in order:
# the whole table by rowid, then the index in its order.
sum="SELECT count(*), sum(length(v)), sum(n),
  hex(sha3_query('SELECT * FROM t ORDER BY id')),
  hex(sha3_query('SELECT k, id FROM t INDEXED BY t_k ORDER BY k')) FROM t;"
# (a fixed seed for randomblob(): the same data, checksum and timing in
# every run)
cat >"$UZ_DIR/build.sql" <<SQL
.testctrl prng_seed 7
CREATE TABLE t(id INTEGER PRIMARY KEY, k TEXT, v BLOB, n REAL);
WITH RECURSIVE c(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM c WHERE i < 600000)
INSERT INTO t SELECT i,
  printf('key-%08d-%s', (i * 7919) % 600000, substr('abcdefghijklmnopqrstuvwxyz', 1 + i % 26)),
  CASE i % 3 WHEN 0 THEN randomblob(300 + i % 500)
             WHEN 1 THEN zeroblob(200 + i % 300)
             ELSE CAST(printf('%.*c', 100 + i % 400, char(65 + i % 26)) AS BLOB) END,
  i * 1.5 FROM c;
CREATE INDEX t_k ON t(k);
$sum
SQL

# one sqlite3 under the agent; the test talks to it through a coproc
coproc SQ { LD_PRELOAD="$(uz_preload)" exec sqlite3 -batch :memory: 2>&1; }
pid=$SQ_PID
cat "$UZ_DIR/build.sql" >&"${SQ[1]}"
read -r -t "$UZ_WAIT_S" want <&"${SQ[0]}" || uz_fail "sqlite3 did not build the database"
case $want in 600000\|*) ;; *) uz_fail "unexpected: $want" ;; esac
uz_evict_some $pid sqlite3

# every page of the table and the index, read back from evicted memory
echo "PRAGMA integrity_check;" >&"${SQ[1]}"
read -r -t "$UZ_WAIT_S" ok <&"${SQ[0]}" || uz_fail "sqlite3 did not answer integrity_check"
[ "$ok" = ok ] || uz_fail "integrity_check after eviction: $ok"
uz_evict $pid
echo "$sum" >&"${SQ[1]}"
read -r -t "$UZ_WAIT_S" got <&"${SQ[0]}" || uz_fail "sqlite3 did not answer the checksum query"
fd=${SQ[1]}; exec {fd}>&-	# end of input: sqlite3 exits
wait $pid || uz_fail "sqlite3 exited with an error"
[ "$got" = "$want" ] || uz_fail "checksum differs: $got vs $want"
echo "sqlite3: integrity ok, checksum identical after eviction (${want%%|*} rows, $evicted bytes evicted)"
