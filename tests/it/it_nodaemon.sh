#!/bin/sh
# SPDX-License-Identifier: MIT
# With no daemon reachable the agent does nothing: no thread, no arena,
# no userfaultfd, and the program's output is unchanged.
set -u
: "${top_builddir:=.}"
agent="$top_builddir/.libs/libuzswap.so"
# a sanitizer run (scripts/check-sanitize.sh): its runtime comes first,
# no leak check of python3 and sh
if [ -n "${UZ_TEST_PRELOAD_FIRST:-}" ]; then
	agent="$UZ_TEST_PRELOAD_FIRST:$agent"
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
probe='import os
def link(f):
    try:
        return os.readlink("/proc/self/fd/" + f)
    except OSError:
        return ""
fds = [link(f) for f in os.listdir("/proc/self/fd")]
print(len(os.listdir("/proc/self/task")),
      "uzswap-arena" in open("/proc/self/maps").read(),
      any("userfaultfd" in f for f in fds))'
want="1 False False"
got=$(UZSWAP_SOCKET=/nonexistent/uzswapd.sock LD_PRELOAD="$agent" python3 -c "$probe") || {
	echo "FAIL: python3 under the agent failed"; exit 1; }
[ "$got" = "$want" ] || { echo "FAIL: with no daemon: '$got', want '$want'"; exit 1; }
out=$(UZSWAP_SOCKET=/nonexistent/uzswapd.sock LD_PRELOAD="$agent" sh -c 'echo hello | tr a-z A-Z')
[ "$out" = HELLO ] || { echo "FAIL: output changed: $out"; exit 1; }
echo "no daemon: the agent stays out of the way ($got)"
