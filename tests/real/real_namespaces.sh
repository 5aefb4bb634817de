#!/bin/bash
# SPDX-License-Identifier: MIT
# Namespace tools work under the agent: unshare(1) -r and nsenter(1) -m,
# whose calls the kernel allows only to a process of one thread, and a
# python3 program that enters a new user namespace with its memory
# evicted reads every byte back.
. "$(dirname "$0")/lib.sh"
command -v unshare >/dev/null && command -v nsenter >/dev/null ||
	uz_skip "no unshare/nsenter (util-linux)"
unshare -r true 2>/dev/null || uz_skip "user namespaces are not allowed here"
# make check-tsan: ThreadSanitizer's background thread outlives the
# agent's, and the kernel refuses these calls to a process of two threads
case ${UZ_TEST_PRELOAD_FIRST:-} in
*libtsan*) uz_skip "ThreadSanitizer's own thread: no one-thread calls" ;;
esac
uz_start_daemon

out=$(LD_PRELOAD="$(uz_preload)" unshare -r id -u 2>&1) ||
	uz_fail "unshare -r under the agent: $out"
[ "$out" = 0 ] || uz_fail "unshare -r id -u said: $out"
echo "unshare -r id -u: $out"

unshare -m sleep 60 &
holder=$!
sleep 0.3
out=$(LD_PRELOAD="$(uz_preload)" nsenter -m -t $holder true 2>&1) ||
	uz_fail "nsenter -m under the agent: $out"
echo "nsenter -m -t PID true: ok"
kill $holder

LD_PRELOAD="$(uz_preload)" python3 - "$UZ_DIR" <<'PY' &
import ctypes, hashlib, os, sys, time
d = sys.argv[1]
data = bytearray(os.urandom(1 << 20)) * 96
want = hashlib.sha256(data).hexdigest()
open(d + "/ready", "w").close()
while not os.path.exists(d + "/go"):
    time.sleep(0.05)
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(0x10000000):  # CLONE_NEWUSER
    sys.exit("unshare(CLONE_NEWUSER): " + os.strerror(ctypes.get_errno()))
got = hashlib.sha256(data).hexdigest()
sys.exit(0 if got == want else "wrong bytes after unshare")
PY
pid=$!
for _ in $(seq 100); do [ -e "$UZ_DIR/ready" ] && break; sleep 0.1; done
[ -e "$UZ_DIR/ready" ] || uz_fail "python did not start"
uz_evict_some $pid python3
touch "$UZ_DIR/go"
wait $pid || uz_fail "python3's unshare(CLONE_NEWUSER) with evicted memory failed"
echo "python3: unshare(CLONE_NEWUSER) with ${evicted} bytes evicted, sha256 identical"
