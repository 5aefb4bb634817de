#!/bin/bash
# SPDX-License-Identifier: MIT
# python3 builds and checksums a large structure; the result is the same
# when its memory is evicted in the middle.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || uz_skip "no python3"
uz_start_daemon

cat >"$UZ_DIR/work.py" <<'PY'
import hashlib, sys
# a large structure: lists, dicts, strings, bytes
rows = [(i, "row-%d" % i, i * 2.5, b"x" * (i % 50)) for i in range(1_500_000)]
index = {r[1]: r for r in rows[::3]}
blob = bytearray(range(256)) * (200 * 1024)
print("built", flush=True)
sys.stdin.readline()          # the test evicts us here
h = hashlib.sha256()
for r in rows:
    h.update(repr(r).encode())
for k in sorted(index):
    h.update(k.encode())
h.update(blob)
print(h.hexdigest(), flush=True)
PY
want=$(echo | python3 "$UZ_DIR/work.py" | tail -n 1)

coproc PY { LD_PRELOAD="$(uz_preload)" exec python3 "$UZ_DIR/work.py"; }
pid=$PY_PID
read -r line <&"${PY[0]}" || uz_fail "python3 died"
[ "$line" = built ] || uz_fail "unexpected: $line"
uz_evict_some $pid python3
echo >&"${PY[1]}"
read -r got <&"${PY[0]}" || uz_fail "python3 died after eviction"
wait $pid || uz_fail "python3 exited with an error"
[ "$got" = "$want" ] || uz_fail "checksum differs: $got vs $want"
echo "python3: checksum $got identical after eviction"
