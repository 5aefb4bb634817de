#!/bin/bash
# SPDX-License-Identifier: MIT
# gdb -p reads a program's evicted memory after `uzswapctl restore PID`.
# Without it the kernel refuses: a ptrace or /proc/PID/mem read of memory
# only a userfaultfd can bring back fails (EIO; the kernel cannot take a
# userfault on another process's behalf), which the test reports.
. "$(dirname "$0")/lib.sh"
command -v gdb >/dev/null || uz_skip "no gdb"
command -v python3 >/dev/null || uz_skip "no python3"
uz_start_daemon

cat >"$UZ_DIR/hold.py" <<'PY'
import ctypes, mmap, sys
n = 64 << 20
buf = mmap.mmap(-1, n, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)  # evictable
pattern = bytes(range(256)) * 4096
for off in range(0, n, len(pattern)):
    buf[off:off + len(pattern)] = pattern
addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
print(hex(addr + 3 * 1024 * 1024 + 5), flush=True)   # inside the 2nd block
sys.stdin.readline()
print("ok" if buf[:] == pattern * (n // len(pattern)) else "BAD", flush=True)
PY
coproc PY { LD_PRELOAD="$(uz_preload)" exec python3 "$UZ_DIR/hold.py"; }
pid=$PY_PID
read -r addr <&"${PY[0]}" || uz_fail "python3 died"
uz_evict "$pid"
[ "$(uz_stat "$pid" evicted_bytes)" -gt 0 ] || uz_fail "nothing evicted"

peek() { gdb -nx -p "$pid" -batch -ex "x/4xb $addr" 2>&1 | grep -E "^0x|Cannot access"; }
before=$(peek)
echo "  gdb before restore: ${before:-no output}"
out=$("$UZ_CTL" restore "$pid" 2>&1) || uz_fail "restore: $out"
echo "  $out"
[ "$(uz_stat "$pid" evicted_bytes)" -eq 0 ] || uz_fail "memory still evicted after restore"
after=$(peek)
echo "  gdb after restore: $after"
# bytes at addr: (3 MB + 5) % 256 = 5, then 6, 7, 8
echo "$after" | grep -q "0x05	0x06	0x07	0x08" || uz_fail "gdb read '$after' after restore"
echo >&"${PY[1]}"
read -r got <&"${PY[0]}" || uz_fail "python3 died after gdb"
[ "$got" = ok ] || uz_fail "python3 read wrong bytes after restore"
wait "$pid" || uz_fail "python3 exited with an error"
echo "gdb -p read evicted memory after uzswapctl restore; the program's bytes are right"
