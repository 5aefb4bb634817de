# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # ZRAM_* are read by the sourcing script
# A zram swap device for the benchmarks (sourced): zram_setup, zram_teardown.
#
#   zram_setup BYTES   lz4 zram of BYTES, mkswap, swapon at top priority;
#                      sets ZRAM_DEV (zramN), or returns 1 with ZRAM_WHY
#   zram_teardown      swapoff, reset, and hot_remove a device we added
#                      (or put back the comp_algorithm of one we borrowed);
#                      safe to call twice and from a trap
#
# Only a device we hot_added, or one found unused (initstate 0, not in
# /proc/swaps), is touched, so the state found is the state left.

ZRAM_DEV=
ZRAM_WHY=
ZRAM_HOT=0	# we hot_added it: hot_remove it at teardown
ZRAM_ALG0=	# its comp_algorithm before we set lz4
ZRAM_SWAPON=0
ZRAM_NODE=	# a /dev node we had to create ourselves

PATH=$PATH:/sbin:/usr/sbin

# zram_unused: the first zramN that is not initialised and not swap
zram_unused() {
	local d n
	for d in /sys/block/zram*; do
		[ -e "$d/initstate" ] || continue
		n=${d##*/}
		[ "$(cat "$d/initstate")" = 0 ] || continue
		grep -q "^/dev/$n " /proc/swaps && continue
		echo "$n"
		return 0
	done
	return 1
}

zram_setup() {
	local bytes=$1 sys id c maj min
	ZRAM_WHY=
	if [ "$(id -u)" != 0 ]; then
		ZRAM_WHY="zram and swapon need root"
		return 1
	fi
	for c in mkswap swapon swapoff; do
		command -v "$c" >/dev/null || { ZRAM_WHY="no $c"; return 1; }
	done
	[ -d /sys/class/zram-control ] || modprobe zram num_devices=0 2>/dev/null
	if [ ! -d /sys/class/zram-control ]; then
		ZRAM_WHY="no zram in this kernel (/sys/class/zram-control)"
		return 1
	fi
	# a device of our own first: nobody else can be using it
	if id=$(cat /sys/class/zram-control/hot_add 2>/dev/null) && [ -n "$id" ]; then
		ZRAM_DEV=zram$id
		ZRAM_HOT=1
	elif ZRAM_DEV=$(zram_unused); then
		ZRAM_HOT=0
	else
		ZRAM_DEV=
		ZRAM_WHY="cannot hot_add a zram device and none is unused"
		return 1
	fi
	sys=/sys/block/$ZRAM_DEV
	ZRAM_ALG0=$(sed -n 's/.*\[\([^]]*\)\].*/\1/p' "$sys/comp_algorithm")
	if ! grep -qw lz4 "$sys/comp_algorithm"; then
		ZRAM_WHY="$ZRAM_DEV has no lz4: $(cat "$sys/comp_algorithm")"
		zram_teardown
		return 1
	fi
	if ! echo lz4 >"$sys/comp_algorithm" ||
	   ! echo "$bytes" >"$sys/disksize"; then
		ZRAM_WHY="cannot configure $ZRAM_DEV (lz4, disksize $bytes)"
		zram_teardown
		return 1
	fi
	# no udev in some containers: make the node from sysfs's major:minor
	if [ ! -b "/dev/$ZRAM_DEV" ]; then
		IFS=: read -r maj min <"$sys/dev"
		if ! mknod "/dev/$ZRAM_DEV" b "$maj" "$min"; then
			ZRAM_WHY="no /dev/$ZRAM_DEV and mknod failed"
			zram_teardown
			return 1
		fi
		ZRAM_NODE=/dev/$ZRAM_DEV
	fi
	if ! mkswap "/dev/$ZRAM_DEV" >/dev/null 2>&1; then
		ZRAM_WHY="mkswap /dev/$ZRAM_DEV failed"
		zram_teardown
		return 1
	fi
	if ! c=$(swapon -p 32767 "/dev/$ZRAM_DEV" 2>&1); then
		ZRAM_WHY="swapon /dev/$ZRAM_DEV failed: $c"
		zram_teardown
		return 1
	fi
	ZRAM_SWAPON=1
	return 0
}

# swapoff PATH, tried again for 20 s: it fails (ENOMEM) while another
# process's pages in it have nowhere to go (a job at its memory cgroup's
# limit, beside the benchmark in make check) and works once that one has
# moved on.  $2 names the caller in the message of a last failure.
swapoff_patiently() {
	local try=0
	until swapoff "$1"; do
		try=$((try + 1))
		if [ $try -ge 20 ]; then
			echo "$2: swapoff $1 failed" >&2
			return 1
		fi
		sleep 1
	done
}

zram_teardown() {
	local sys
	[ -n "$ZRAM_DEV" ] || return 0
	sys=/sys/block/$ZRAM_DEV
	if [ "$ZRAM_SWAPON" = 1 ]; then
		swapoff_patiently "/dev/$ZRAM_DEV" zram.sh
		ZRAM_SWAPON=0
	fi
	# reset frees the memory and makes disksize/comp_algorithm writable
	echo 1 >"$sys/reset" 2>/dev/null ||
		echo "zram.sh: reset of $ZRAM_DEV failed" >&2
	[ -n "$ZRAM_NODE" ] && rm -f "$ZRAM_NODE"
	ZRAM_NODE=
	if [ "$ZRAM_HOT" = 1 ]; then
		echo "${ZRAM_DEV#zram}" >/sys/class/zram-control/hot_remove ||
			echo "zram.sh: hot_remove of $ZRAM_DEV failed" >&2
	elif [ -n "$ZRAM_ALG0" ]; then
		echo "$ZRAM_ALG0" >"$sys/comp_algorithm" 2>/dev/null
	fi
	ZRAM_DEV=
	ZRAM_HOT=0
	ZRAM_ALG0=
}
