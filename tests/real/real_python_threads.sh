#!/bin/bash
# SPDX-License-Identifier: MIT
# A threaded python3: four workers build and keep mutating large
# structures of their own and a shared dict under a lock, and are
# evicted again and again while they run.  The final digest is the
# same as a run without the agent that does as many rounds per worker.
. "$(dirname "$0")/lib.sh"
command -v python3 >/dev/null || uz_skip "no python3"
uz_start_daemon

cat >"$UZ_DIR/work.py" <<'PY'
import hashlib, itertools, random, sys, threading
# argv[1], "n0,n1,...": do exactly that many rounds per worker (the
# reference run); without it, run until a line arrives on stdin.  Each
# worker's state depends only on its seed and its round count, and the
# shared dict only on what was added to it (sums commute): the digest
# does not depend on how the threads interleaved.
N = 4
counts = [int(x) for x in sys.argv[1].split(",")] if len(sys.argv) > 1 else None
stop = threading.Event()
built = threading.Barrier(N + 1)
shared, lock = {}, threading.Lock()
rounds, digests = [0] * N, [b""] * N

def worker(t):
    r = random.Random(t)
    rows = [[i, "t%d-row-%d" % (t, i), r.random()] for i in range(200_000)]
    index = {row[1]: row for row in rows[::2]}
    blob = bytearray(r.randbytes(8 << 20)) + bytearray(b"pattern%d" % t) * (1 << 20)
    built.wait()
    while counts[t] > rounds[t] if counts else not (stop.is_set() and rounds[t] >= 3):
        n = rounds[t]
        for _ in range(10_000):
            row = rows[r.randrange(len(rows))]
            row[2] = row[2] * 0.5 + r.random()
            row[1] = "t%d-r%d-%d" % (t, n, row[0])
        del rows[:500]
        rows.extend([len(rows) + i, "new-%d-%d" % (n, i), r.random()] for i in range(500))
        for row in rows[-300:]:
            index[row[1]] = row
        for k in r.sample(list(itertools.islice(index, 2000)), 100):
            del index[k]
        o = r.randrange(len(blob) - 65536)
        blob[o:o + 65536] = hashlib.sha256(b"%d %d" % (t, n)).digest() * 2048
        with lock:
            for k in range(50):
                shared[k] = shared.get(k, 0) + r.randrange(1000)
            shared["t%d" % t] = n
        rounds[t] = n + 1
    h = hashlib.sha256(repr(rows).encode())
    h.update(repr(sorted(index.items())).encode())
    h.update(blob)
    digests[t] = h.digest()

threads = [threading.Thread(target=worker, args=(t,)) for t in range(N)]
for th in threads:
    th.start()
built.wait()
print("built", flush=True)
if not counts:
    sys.stdin.readline()
    stop.set()
for th in threads:
    th.join()
print("rounds " + ",".join(map(str, rounds)))
h = hashlib.sha256(b"".join(digests))
h.update(repr(sorted(shared.items(), key=str)).encode())
print(h.hexdigest(), flush=True)
PY

coproc PY { LD_PRELOAD="$(uz_preload)" exec python3 "$UZ_DIR/work.py"; }
pid=$PY_PID
read -r -t "$UZ_WAIT_S" line <&"${PY[0]}" || uz_fail "python3 did not build its structures"
[ "$line" = built ] || uz_fail "unexpected: $line"
# the workers run all along: evict them five times
most=0
for _ in 1 2 3 4 5; do
	uz_evict $pid
	e=$(uz_stat $pid evicted_bytes)
	[ "$e" -gt "$most" ] && most=$e
	sleep 0.2
done
faults=$(uz_stat $pid faults)
echo >&"${PY[1]}"
read -r -t "$UZ_WAIT_S" rounds <&"${PY[0]}" || uz_fail "python3 died after eviction"
read -r -t "$UZ_WAIT_S" got <&"${PY[0]}" || uz_fail "python3 died after eviction"
wait $pid || uz_fail "python3 exited with an error"
echo "  up to $most bytes evicted at once, $faults faults; $rounds"
[ "$most" -gt 0 ] || uz_fail "nothing of python3 was evicted"
[ "$faults" -gt 0 ] || uz_fail "the workers never touched evicted memory"

# the same rounds without the agent
want=$(python3 "$UZ_DIR/work.py" "${rounds#rounds }" </dev/null | tail -n 1)
[ "$got" = "$want" ] || uz_fail "digest differs: $got vs $want"
echo "python3 threads: digest $got identical, evicted 5 times while 4 workers ran"
