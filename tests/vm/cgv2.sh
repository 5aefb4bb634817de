#!/bin/bash
# SPDX-License-Identifier: MIT
# The userspace part on a cgroup v2 memory controller, which this build
# machine cannot give it (its memory controller is on cgroup v1): a
# stock Linux 6.12 guest under qemu (`kernel/check.sh vm` builds it),
# whose /init (tests/vm/guest.sh) runs the built uzswapd and jobs under
# the built agent in v2 cgroups limited by memory.max and memory.high.
# Prints the guest's TAP and a closing "vm: N passed, N failed, N
# skipped" line; exit 0 when every case passed, 1 otherwise.
#
#   tests/vm/cgv2.sh           (after make)
#
# Needs what kernel/check.sh needs (it installs it as root); the guest
# gets the host's uzswapd, uzswapctl, libuzswap.so, the job
# tests/vm/vm_fill.c built here, the shared libraries they load, and
# busybox.  UZ_VM_TIMEOUT: seconds for the
# boot (default 900); UZ_VM_LOG=FILE keeps the guest's serial log there;
# UZ_VM_ONLY=control,jobmax,... runs only those cases (guest.sh), and
# UZ_VM_VERBOSE=1 has the daemon log debug messages.
# Leaves nothing behind but the kernel's build
# (under /var/tmp/uzswap-kernel, as kernel/check.sh does).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=${top_builddir:-$(cd "$here/../.." && pwd)}
timeout_s=${UZ_VM_TIMEOUT:-900}
say() { echo "vm: $*"; }
closing() { echo "vm: $1 passed, $2 failed, $3 skipped"; }
fail() { say "ERROR: $*"; closing 0 1 0; exit 1; }

bins=("$top/uzswapd" "$top/uzswapctl" "$top/.libs/libuzswap.so")
for f in "${bins[@]}"; do
	[ -f "$f" ] || fail "no $f: run make first"
done

# the guest kernel (built once, then incrementally; its progress shown)
klog=$(mktemp /tmp/uzswap-vm-kernel.XXXXXX) || fail "mktemp"
stage=$(mktemp -d /tmp/uzswap-vm.XXXXXX) || fail "mktemp"
qpid=
# on any end: qemu stopped (a CI timeout's TERM must not leave it
# running), the staging files removed
trap '[ -n "$qpid" ] && kill "$qpid" 2>/dev/null; rm -rf "$stage" "$stage.cpio" "$klog"' EXIT
trap 'exit 143' TERM INT HUP
bash "$top/kernel/check.sh" vm 2>&1 | tee "$klog" | grep -v '^bzImage '
bzimage=$(sed -n 's/^bzImage //p' "$klog" | tail -n 1)
[ -f "$bzimage" ] || fail "the guest kernel did not build (see above)"

# the initramfs: busybox, our programs and what they load, /init
busybox=$(command -v busybox) || fail "no busybox (apt-get install busybox-static)"
mkdir -p "$stage"/{bin,usr/bin,usr/lib,etc,dev,proc,sys,tmp,run} || fail "mkdir"
# the job: built here, against the host's C library like the rest
${CC:-gcc} -O2 -Wall -Wextra -o "$stage/usr/bin/vm_fill" "$here/vm_fill.c" ||
	fail "tests/vm/vm_fill.c does not build"
bins+=("$stage/usr/bin/vm_fill")
cp "$busybox" "$stage/bin/busybox" &&
	cp "$top/uzswapd" "$top/uzswapctl" "$stage/usr/bin/" &&
	cp "$top/.libs/libuzswap.so" "$stage/usr/lib/" &&
	cp "$here/guest.sh" "$stage/init" && chmod 755 "$stage/init" || fail "copying the programs"
# each shared library at the path the loader looks for it, the
# loader itself included (its path is written in every program)
for lib in $(ldd "${bins[@]}" 2>/dev/null | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// && $2 ~ /^\(0x/ { print $1 }' | sort -u); do
	mkdir -p "$stage$(dirname "$lib")" && cp -L "$lib" "$stage$lib" || fail "copying $lib"
done
(cd "$stage" && find . | cpio -o -H newc --quiet) >"$stage.cpio" || fail "cpio"
say "initramfs: $(stat -c %s "$stage.cpio") bytes; booting $bzimage (TCG, timeout ${timeout_s}s)"

log=${UZ_VM_LOG:-$stage/serial.log}
raw=$stage/serial.raw
start=$SECONDS
timeout --foreground -k 10 "$timeout_s" qemu-system-x86_64 -nographic -no-reboot \
	-m 2G -smp 2 -kernel "$bzimage" -initrd "$stage.cpio" \
	-append "console=ttyS0 panic=-1 quiet transparent_hugepage=madvise${UZ_VM_ONLY:+ uzonly=$UZ_VM_ONLY}${UZ_VM_VERBOSE:+ uzverbose}" \
	</dev/null >"$raw" 2>&1 &
qpid=$!
while kill -0 $qpid 2>/dev/null; do
	sleep 1
	[ $(((SECONDS - start) % 15)) = 0 ] && kill -0 $qpid 2>/dev/null && say "boot: $((SECONDS - start))s, $(grep -a '^\(ok\|not ok\|=== \)' "$raw" | tail -n 1 | tr -d '\r')"
done
wait $qpid
rc=$?
qpid=
tr -d '\r' <"$raw" >"$log"
say "qemu exited with $rc after $((SECONDS - start))s"

tap=$(sed -n '/^=== TAP BEGIN$/,/^=== TAP END$/p' "$log" | grep -a -v '^=== ')
echo "$tap"
pass=$(echo "$tap" | grep -c '^ok .*# SKIP' )
skip=$pass
pass=$(($(echo "$tap" | grep -c '^ok ') - skip))
failed=$(echo "$tap" | grep -c '^not ok ')
planned=$(echo "$tap" | sed -n 's/^1\.\.\([0-9]*\)$/\1/p')
if [ -z "$planned" ] || [ "$planned" -ne $((pass + failed + skip)) ]; then
	say "the guest did not finish its plan (${planned:-no plan}, $((pass + failed + skip)) results): its log follows"
	failed=$((failed + 1))
fi
# the daemon's and the kernel's log, when anything failed or the kernel
# complained (a warning, a BUG, a lockdep splat)
if [ "$failed" -gt 0 ] || grep -aqE 'WARNING:|BUG:|Oops|blocked for more than|hung_task' "$log"; then
	grep -aqE 'WARNING:|BUG:|Oops|blocked for more than|hung_task' "$log" && { say "the guest kernel complained"; failed=$((failed + 1)); }
	tail -n 200 "$log" | sed 's/^/  | /'
fi
closing "$pass" "$failed" "$skip"
[ "$failed" -eq 0 ]
