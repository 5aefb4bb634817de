#!/bin/bash
# SPDX-License-Identifier: MIT
# Build Linux 6.12 (stock or with kernel/patches/), boot it under qemu with the
# in-guest tests and judge their TAP output. Usage: check.sh patched|stock
#
# Everything big lives outside the repo, under $UZ_KWORK (default
# /var/tmp/uzswap-kernel), and ccache under $UZ_CCACHE. Re-running is
# incremental: only the changed part of the series is re-applied, and the
# build is only re-configured when the fragment or a Kconfig file changed.
# UZ_JUDGE_LOG=<serial log without CRs> only judges that log.
set -uo pipefail

flavour=${1:-patched}
case $flavour in patched|stock) ;; *) echo "usage: $0 patched|stock" >&2; exit 2;; esac

kdir=$(cd "$(dirname "$0")" && pwd)
work=${UZ_KWORK:-/var/tmp/uzswap-kernel}
export CCACHE_DIR=${UZ_CCACHE:-/var/tmp/uzswap-ccache}
boot_timeout=${UZ_BOOT_TIMEOUT:-600}
jobs=$(nproc)
kver=6.12
tarball=/usr/src/linux-source-$kver.tar.xz
pristine=$work/linux-source-$kver	# git repo, branch "pristine" only
src=$work/src-$flavour			# worktree the build uses
build=$work/build-$flavour
out=$work/out-$flavour
t0=$SECONDS

say() { printf 'kernel: [%4ds] %s\n' $((SECONDS - t0)) "$*"; }

# The closing line CI reads, then the exit code.
finish() {	# pass fail skip
	echo "kernel: $1 passed, $2 failed, $3 skipped"
	if [ "$2" -gt 0 ]; then exit 1; fi
	if [ "$1" -eq 0 ] && [ "$3" -gt 0 ]; then exit 77; fi
	if [ "$1" -eq 0 ]; then exit 1; fi
	exit 0
}
die() { say "ERROR: $*"; finish 0 1 0; }

# Run a long command with its output in a log, printing a progress line every
# 30 s (the last line of the log shows where it is) and the log's tail on error.
step() {	# name log cmd...
	local name=$1 log=$2 start=$SECONDS pid rc
	shift 2
	say "$name..."
	"$@" >"$log" 2>&1 &
	pid=$!
	while ! wait_for "$pid" 30; do
		say "$name: $((SECONDS - start))s, $(last_line "$log")"
	done
	wait "$pid"
	rc=$?
	if [ $rc -ne 0 ]; then
		tail -n 40 "$log"
		die "$name failed (rc $rc), log: $log"
	fi
	say "$name: done in $((SECONDS - start))s"
}
last_line() { tail -c 400 "$1" | tr '\r' '\n' | grep -v '^ *$' | tail -n 1 | cut -c1-100; }
wait_for() {	# pid seconds: 0 once pid has exited
	local i
	for ((i = 0; i < $2; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 1
	done
	return 1
}

# --- tools --------------------------------------------------------------
need_pkgs() {
	local missing=() p
	for p in linux-source-$kver qemu-system-x86 busybox-static ccache gcc make \
		 flex bison bc libelf-dev libssl-dev cpio git libc6-dev xz-utils; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	[ "$(id -u)" -eq 0 ] || die "missing packages (need root to install): ${missing[*]}"
	step "apt-get update" "$work/apt-update.log" apt-get update
	step "apt-get install ${missing[*]}" "$work/apt-install.log" \
		env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
}

git_q() { git -c user.name='uzswap developers' -c user.email=dev@uzswap.invalid \
	-c advice.detachedHead=false -c gc.auto=0 "$@"; }

# --- source: pristine git repo plus one worktree per flavour -----------
prepare_pristine() {
	[ -f "$pristine/.uz-pristine" ] && return 0
	rm -rf "$pristine"
	step "extract $tarball" "$work/extract.log" tar -C "$work" -xf "$tarball"
	[ -f "$pristine/Makefile" ] || die "unexpected tarball layout (no $pristine/Makefile)"
	step "git init of the pristine tree" "$work/git-init.log" bash -c "
		cd '$pristine' && git init -q -b pristine . &&
		git add -A -f . && git -c user.name='uzswap developers' \
		-c user.email=dev@uzswap.invalid commit -q -m 'Linux $kver (Debian linux-source-$kver, pristine)'"
	touch "$pristine/.uz-pristine"
}

# Bring $src to pristine + the series. $work/applied-$flavour lists what is
# applied, one "<patch hash> <commit>" a line. Only the patches from the first
# changed one on are re-applied (reset to the commit before it, then git am),
# and reset rewrites only files that differ: files the unchanged prefix of the
# series touched keep their mtimes, so the build stays incremental.
prepare_worktree() {
	local state=$work/applied-$flavour patches=() hashes=() old=() new=()
	local p i k n head expect base
	if [ "$flavour" = patched ]; then
		mapfile -t patches < <(ls "$kdir"/patches/*.patch 2>/dev/null | sort)
	fi
	n=${#patches[@]}
	# hash without the "[PATCH n/m]" numbering, which adding a patch changes
	for p in "${patches[@]}"; do
		hashes+=("$(sed -E 's/^(Subject: \[PATCH) [0-9]+\/[0-9]+\]/\1]/' "$p" |
			sha256sum | cut -c1-16)")
	done
	if [ ! -e "$src/.git" ]; then
		rm -rf "$src"
		git_q -C "$pristine" worktree prune
		step "worktree $src" "$work/worktree-$flavour.log" \
			git_q -C "$pristine" worktree add -f -B "uz-$flavour" "$src" pristine
		rm -f "$state"
	fi
	[ -f "$state" ] && mapfile -t old <"$state"
	# trust the list only if the tree is clean and at its last commit
	expect=pristine
	[ ${#old[@]} -gt 0 ] && expect=${old[-1]#* }
	head=$(git -C "$src" rev-parse -q --verify HEAD)
	if [ "$head" != "$(git -C "$src" rev-parse -q --verify "$expect^{commit}")" ] ||
	   ! git -C "$src" diff --quiet HEAD; then
		old=()
		head=
	fi
	for ((k = 0; k < n && k < ${#old[@]}; k++)); do
		[ "${old[$k]%% *}" = "${hashes[$k]}" ] || break
	done
	if [ -n "$head" ] && [ "$k" -eq "$n" ] && [ ${#old[@]} -eq "$n" ]; then
		say "series unchanged ($n patches), tree ready"
		return 0
	fi
	base=pristine
	[ "$k" -gt 0 ] && base=${old[$((k - 1))]#* }
	# files the reset and re-apply rewrite: remember their mtimes, so the
	# ones whose content comes out the same can get them back
	local -A mtime=()
	if [ -n "$head" ]; then
		while read -r p; do
			[ -e "$src/$p" ] && mtime[$p]=$(stat -c %y "$src/$p")
		done < <(git -C "$src" diff --name-only "$base" HEAD)
	fi
	git_q -C "$src" am --abort >/dev/null 2>&1
	git_q -C "$src" reset -q --hard "$base" || die "git reset failed in $src"
	new=("${old[@]:0:k}")
	[ "$n" -gt 0 ] || say "no patches: building the pristine tree"
	[ "$k" -lt "$n" ] && say "applying patches $((k + 1))..$n of $n with git am"
	for ((i = k; i < n; i++)); do
		if ! git_q -C "$src" am -q --committer-date-is-author-date "${patches[$i]}"; then
			git_q -C "$src" am --abort
			save_list "$state" "${new[@]}"
			die "git am failed: ${patches[$i]##*/}"
		fi
		new+=("${hashes[$i]} $(git -C "$src" rev-parse HEAD)")
	done
	save_list "$state" "${new[@]}"
	if [ ${#mtime[@]} -gt 0 ]; then
		local -A changed=()
		while read -r p; do changed[$p]=1; done < <(git -C "$src" diff --name-only "$head" HEAD)
		for p in "${!mtime[@]}"; do
			[ -z "${changed[$p]:-}" ] && [ -e "$src/$p" ] && touch -d "${mtime[$p]}" "$src/$p"
		done
	fi
}
save_list() {	# file lines...
	local f=$1
	shift
	if [ $# -gt 0 ]; then printf '%s\n' "$@" >"$f"; else : >"$f"; fi
}

# --- configure and build -------------------------------------------------
kmake() { make -C "$src" O="$build" ARCH=x86_64 CC="ccache gcc" HOSTCC="ccache gcc" "$@"; }

do_configure() {
	kmake tinyconfig &&
	(cd "$build" && "$src/scripts/kconfig/merge_config.sh" -m -O "$build" .config "$kdir/config.fragment") &&
	kmake olddefconfig
}

configure() {
	local want have
	# reconfigure only when the fragment or the series' Kconfig changes do
	want=$( (cat "$kdir/config.fragment"
		git -C "$src" diff pristine HEAD -- '*Kconfig*' '*/configs/*') | sha256sum | cut -c1-16)
	have=$(cat "$build/.uz-config.id" 2>/dev/null)
	[ "$have" = "$want" ] && [ -f "$build/.config" ] && return 0
	mkdir -p "$build"
	step "configure (tinyconfig + config.fragment)" "$out/config.log" do_configure
	# merge_config only warns; a fragment option that did not stick is an error
	local bad
	bad=$(grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' "$kdir/config.fragment" |
		while read -r line; do
			sym=${line#\# }; sym=${sym%%=*}; sym=${sym%% is not set}
			got=$(grep -E "^($sym=|# $sym is not set)" "$build/.config")
			if [ "${line#\# }" != "$line" ]; then
				[ -z "$got" ] || [ "$got" = "$line" ] || echo "$sym: want unset, got '$got'"
			else
				[ "$got" = "$line" ] || echo "$sym: want '${line#*=}', got '${got:-unset}'"
			fi
		done)
	[ -z "$bad" ] || { echo "$bad"; die "config.fragment options did not stick (see above)"; }
	echo "$want" >"$build/.uz-config.id"
}

build_kernel() {
	step "build bzImage (-j$jobs, ccache $CCACHE_DIR)" "$out/build.log" kmake -j"$jobs" bzImage
	[ -f "$build/arch/x86/boot/bzImage" ] || die "no bzImage"
	# the build is quiet when clean: show any compiler warning of this build
	grep -E 'warning:' "$out/build.log" | head -n 20
	say "bzImage: $(stat -c %s "$build/arch/x86/boot/bzImage") bytes; ccache: $(ccache -s 2>/dev/null |
		awk '/Hits:/ && !h {h=$0} END {gsub(/ +/, " ", h); print h}')"
}

# --- initramfs -------------------------------------------------------------
build_initramfs() {
	local t name list=$out/initramfs.list
	mkdir -p "$out/tests"
	rm -f "$out"/tests/*
	for t in "$kdir"/tests/*.c; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .c)
		gcc -static -O2 -g -Wall -Wextra -Werror -I"$kdir/tests" -o "$out/tests/$name" "$t" ||
			die "test $name does not compile"
	done
	gcc -O2 -o "$out/gen_init_cpio" "$src/usr/gen_init_cpio.c" || die "gen_init_cpio"
	{
		echo "dir /dev 0755 0 0"
		echo "nod /dev/console 0600 0 0 c 5 1"
		for d in bin proc sys tmp tests; do echo "dir /$d 0755 0 0"; done
		echo "file /bin/busybox $(command -v busybox) 0755 0 0"
		echo "file /init $kdir/initramfs/init 0755 0 0"
		for t in "$out"/tests/*; do
			[ -e "$t" ] && echo "file /tests/$(basename "$t") $t 0755 0 0"
		done
	} >"$list"
	"$out/gen_init_cpio" "$list" >"$out/initramfs.cpio" || die "initramfs"
	say "initramfs: $(ls "$out"/tests | wc -l) tests, $(stat -c %s "$out/initramfs.cpio") bytes"
}

# --- boot and judge --------------------------------------------------------
boot() {
	local log=$out/serial.log start=$SECONDS rc
	say "boot under qemu (TCG, timeout ${boot_timeout}s), serial log: $log"
	timeout --foreground -k 10 "$boot_timeout" qemu-system-x86_64 -nographic -no-reboot \
		-m 1G -smp 2 -kernel "$build/arch/x86/boot/bzImage" -initrd "$out/initramfs.cpio" \
		-append 'console=ttyS0 panic=-1 transparent_hugepage=madvise' </dev/null >"$log" 2>&1 &
	local pid=$!
	while ! wait_for "$pid" 30; do
		say "boot: $((SECONDS - start))s, $(grep -a '^=== ' "$log" | tail -n 1)"
	done
	wait "$pid"
	rc=$?
	tr -d '\r' <"$log" >"$log.txt"
	say "boot: qemu exited with $rc after $((SECONDS - start))s"
	[ $rc -eq 124 ] && say "qemu timed out"
}

judge() {	# [serial log without CRs]
	local log=${1:-$out/serial.log.txt}
	# print each test's TAP as the guest collected it
	awk '/^=== TAP BEGIN /{p=1; next} /^=== TAP END /{p=0} p' "$log"
	local r
	r=$(awk '
	function close_test() {
		if (name == "") return
		if (!plan) { print "# " name ": no TAP plan" > "/dev/stderr"; fail++ }
		else if (planned != seen) { print "# " name ": planned " planned ", ran " seen > "/dev/stderr"; fail++ }
		if (rc != 0 && rc != 4 && !tfail) { print "# " name ": exit code " rc > "/dev/stderr"; fail++ }
		name = ""
	}
	/^=== TAP BEGIN /{ close_test(); name = $4; rc = $5; plan = 0; seen = 0; tfail = 0; intap = 1; ntests++; next }
	/^=== TAP END /{ intap = 0; next }
	!intap { next }
	/^1\.\.[0-9]+/ { plan = 1; planned = substr($1, 4) + 0; next }
	/^not ok / { seen++; if ($0 ~ /# *TODO/) skip++; else { fail++; tfail++ }; next }
	/^ok / { seen++; if (toupper($0) ~ /# *SKIP/) skip++; else pass++; next }
	END { close_test(); printf "%d %d %d %d\n", pass, fail, skip, ntests }' "$log")
	read -r pass fail skip ntests <<<"$r"
	if ! grep -q '^=== GUEST DONE' "$log"; then
		say "the guest did not finish its run (crash, hang or timeout); last lines:"
		tail -n 30 "$log"
		fail=$((fail + 1))
	fi
	[ "$ntests" -gt 0 ] || { say "no test ran"; fail=$((fail + 1)); }
	local errs
	if errs=$(grep -nE 'BUG:|WARNING:|Kernel panic|Oops|general protection fault' "$log"); then
		say "the guest kernel log has BUG/WARNING/panic lines:"
		head -n 20 <<<"$errs"
		fail=$((fail + 1))
	fi
	finish "$pass" "$fail" "$skip"
}

# the whole run is one function, so editing this file while it runs is safe
main() {
	# UZ_JUDGE_LOG=file: only judge a serial log already captured
	if [ -n "${UZ_JUDGE_LOG:-}" ]; then judge "$UZ_JUDGE_LOG"; fi
	mkdir -p "$work" "$CCACHE_DIR" "$out"
	say "flavour $flavour, work dir $work"
	# one run per flavour at a time; the pristine tree is shared by both
	exec 8>"$work/.lock-$flavour"
	if ! flock -n 8; then
		say "another '$flavour' run is using $work: waiting for it"
		flock 8
	fi
	need_pkgs
	exec 9>"$work/.lock-pristine"
	flock 9
	prepare_pristine
	prepare_worktree
	exec 9>&-
	configure
	build_kernel
	build_initramfs
	boot
	judge
}
main; exit $?
