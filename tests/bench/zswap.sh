# SPDX-License-Identifier: MIT
# shellcheck shell=bash disable=SC2034 # ZSWAP_* are read by the sourcing script
# zswap in front of a swap file, for the benchmarks (sourced, after
# zram.sh: its swapoff_patiently).
#
#   zswap_setup BYTES  saves zswap's parameters, picks the compressor,
#                      makes a swap file of BYTES on the root filesystem
#                      and leaves zswap disabled; sets ZSWAP_COMP and
#                      ZSWAP_POOL_SRC, or returns 1 with ZSWAP_WHY
#   zswap_on           zswap enabled with ZSWAP_COMP, the swap file on at
#                      top priority (for the length of one run)
#   zswap_off          the swap file off, zswap disabled
#   zswap_teardown     zswap_off, every parameter back as found, the swap
#                      file removed, debugfs unmounted if we mounted it;
#                      safe to call twice and from a trap
#
# zswap is global: while it is enabled it takes the pages of any swap, so
# it stays disabled except during zswap runs (zram's would go to it).

ZSWAP_P=/sys/module/zswap/parameters
ZSWAP_WHY=
ZSWAP_COMP=	# the compressor used
ZSWAP_POOL_SRC=	# where bench_run reads the pool size: debugfs or meminfo
ZSWAP_FILE=
ZSWAP_SAVED=	# "param=value ..." as found
ZSWAP_SWAPON=0
ZSWAP_DEBUGFS=0	# we mounted debugfs
# fastest to decompress first (refault speed is what is measured), lz4
# first: it is uzswap's codec
ZSWAP_PREFER="lz4 lzo-rle lzo zstd lz4hc deflate 842"

PATH=$PATH:/sbin:/usr/sbin

zswap_set() { echo "$2" >"$ZSWAP_P/$1" 2>/dev/null; }

# zswap_pick: the best compressor the kernel offers (/proc/crypto), else
# the first the parameter accepts (it may load a module)
zswap_pick() {
	local c
	for c in $ZSWAP_PREFER; do
		if grep -q "^name *: $c\$" /proc/crypto; then
			echo "$c"
			return 0
		fi
	done
	for c in $ZSWAP_PREFER; do
		if zswap_set compressor "$c" && [ "$(cat "$ZSWAP_P/compressor")" = "$c" ]; then
			echo "$c"
			return 0
		fi
	done
	return 1
}

zswap_setup() {
	local bytes=$1 p dir fs
	ZSWAP_WHY=
	if [ "$(id -u)" != 0 ]; then
		ZSWAP_WHY="zswap and swapon need root"
		return 1
	fi
	if [ ! -w "$ZSWAP_P/enabled" ]; then
		ZSWAP_WHY="no zswap in this kernel ($ZSWAP_P)"
		return 1
	fi
	for p in mkswap swapon swapoff fallocate; do
		command -v "$p" >/dev/null || { ZSWAP_WHY="no $p"; return 1; }
	done
	ZSWAP_SAVED=
	for p in compressor zpool max_pool_percent accept_threshold_percent \
		shrinker_enabled enabled; do
		[ -r "$ZSWAP_P/$p" ] && ZSWAP_SAVED="$ZSWAP_SAVED $p=$(cat "$ZSWAP_P/$p")"
	done
	zswap_set enabled N
	if [ -n "${ZSWAP_COMPRESSOR:-}" ]; then
		ZSWAP_COMP=$ZSWAP_COMPRESSOR
	elif ! ZSWAP_COMP=$(zswap_pick); then
		ZSWAP_WHY="zswap accepts none of: $ZSWAP_PREFER"
		zswap_teardown
		return 1
	fi
	if ! zswap_set compressor "$ZSWAP_COMP" ||
	   [ "$(cat "$ZSWAP_P/compressor")" != "$ZSWAP_COMP" ]; then
		ZSWAP_WHY="zswap does not take compressor $ZSWAP_COMP"
		zswap_teardown
		return 1
	fi
	# the allocator zram uses too (6.18 has no other, nor the parameter)
	[ -w "$ZSWAP_P/zpool" ] && zswap_set zpool zsmalloc
	# the pool large enough for the data (20% of RAM by default)
	p=$(awk -v b="$bytes" '/^MemTotal:/ { print int(100 * b / 2 / ($2 * 1024)) + 5 }' /proc/meminfo)
	[ "$p" -gt "$(cat "$ZSWAP_P/max_pool_percent")" ] && zswap_set max_pool_percent "$p"
	# no writeback to the swap file under memory pressure: the pool is
	# what is measured
	[ -w "$ZSWAP_P/shrinker_enabled" ] && zswap_set shrinker_enabled N

	# the swap file: on the root filesystem unless BENCH_SWAPDIR says
	dir=${BENCH_SWAPDIR:-/var/tmp}
	fs=$(findmnt -no FSTYPE -T "$dir" 2>/dev/null)
	case $fs in
	tmpfs | ramfs | overlay | nfs* | '')
		ZSWAP_WHY="$dir is on ${fs:-an unknown filesystem}: no swap file there (set BENCH_SWAPDIR)"
		zswap_teardown
		return 1 ;;
	esac
	ZSWAP_FILE=$(mktemp "$dir/uzswap-bench.swap.XXXXXX") || {
		ZSWAP_WHY="cannot create a file in $dir"
		zswap_teardown
		return 1
	}
	chmod 600 "$ZSWAP_FILE"
	if ! fallocate -l "$bytes" "$ZSWAP_FILE" 2>/dev/null &&
	   ! dd if=/dev/zero of="$ZSWAP_FILE" bs=1M count=$((bytes >> 20)) 2>/dev/null; then
		ZSWAP_WHY="cannot make a swap file of $bytes bytes in $dir"
		zswap_teardown
		return 1
	fi
	if ! mkswap "$ZSWAP_FILE" >/dev/null 2>&1; then
		ZSWAP_WHY="mkswap $ZSWAP_FILE failed"
		zswap_teardown
		return 1
	fi
	# the pool size: debugfs when zswap has its directory there
	if [ ! -d /sys/kernel/debug/zswap ] && ! mountpoint -q /sys/kernel/debug &&
	   mount -t debugfs none /sys/kernel/debug 2>/dev/null; then
		ZSWAP_DEBUGFS=1
	fi
	ZSWAP_POOL_SRC=meminfo
	[ -r /sys/kernel/debug/zswap/pool_total_size ] && ZSWAP_POOL_SRC=debugfs
	return 0
}

zswap_on() {
	local err
	zswap_set compressor "$ZSWAP_COMP"
	if ! zswap_set enabled Y; then
		ZSWAP_WHY="cannot enable zswap"
		return 1
	fi
	if ! err=$(swapon -p 32767 "$ZSWAP_FILE" 2>&1); then
		ZSWAP_WHY="swapon $ZSWAP_FILE failed: $err"
		zswap_set enabled N
		return 1
	fi
	ZSWAP_SWAPON=1
	# it appears once zswap has a pool
	[ "$ZSWAP_POOL_SRC" = meminfo ] && [ -r /sys/kernel/debug/zswap/pool_total_size ] &&
		ZSWAP_POOL_SRC=debugfs
	return 0
}

zswap_off() {
	if [ "$ZSWAP_SWAPON" = 1 ]; then
		swapoff_patiently "$ZSWAP_FILE" zswap.sh
		ZSWAP_SWAPON=0
	fi
	[ -n "$ZSWAP_SAVED" ] && zswap_set enabled N
	return 0
}

zswap_teardown() {
	local kv
	zswap_off
	if [ -n "$ZSWAP_FILE" ]; then
		rm -f "$ZSWAP_FILE"
		ZSWAP_FILE=
	fi
	# in the order saved: enabled comes last
	for kv in $ZSWAP_SAVED; do
		zswap_set "${kv%%=*}" "${kv#*=}" ||
			echo "zswap.sh: cannot put back ${kv%%=*}=${kv#*=}" >&2
	done
	ZSWAP_SAVED=
	if [ "$ZSWAP_DEBUGFS" = 1 ]; then
		umount /sys/kernel/debug 2>/dev/null ||
			echo "zswap.sh: /sys/kernel/debug stays mounted (busy)" >&2
		ZSWAP_DEBUGFS=0
	fi
}
