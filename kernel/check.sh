#!/bin/bash
# SPDX-License-Identifier: MIT
# Build Linux 6.12 (stock or with kernel/patches/), boot it under qemu with the
# in-guest tests and judge their TAP output. Usage: check.sh patched|stock
#
# Everything big lives outside the repo, under $UZ_KWORK (default
# /var/tmp/uzswap-kernel), and ccache under $UZ_CCACHE. Re-running is
# incremental: only the changed part of the series is re-applied, and the
# build is only re-configured when the fragment or a Kconfig file changed.
# UZ_JUDGE_LOG=<serial log without CRs> only judges that log (in a private
# temporary directory, or in UZ_JUDGE_OUT=<dir>; nothing under $UZ_KWORK).
set -uo pipefail

# "bench" builds both flavours and runs kernel/bench/ on each instead of the
# tests; "cross [arch...]" builds the patched mm/ for other architectures;
# "bisect" builds and boots the series one patch at a time; "kasan" is
# "patched" with KASAN on too (config.kasan), in a tree of its own
flavour=${1:-patched}
mode=check
extra_fragment=
case $flavour in
patched|stock) ;;
kasan) flavour=patched tree_name=kasan extra_fragment=$(cd "$(dirname "$0")" && pwd)/config.kasan
	# KASAN under TCG is slow: our tests only, unless asked, and more time
	UZ_SELFTESTS=${UZ_SELFTESTS:-none} UZ_BOOT_TIMEOUT=${UZ_BOOT_TIMEOUT:-2400} ;;
bench) mode=bench flavour=stock ;;
cross) mode=cross flavour=patched; shift; cross_arches=("$@") ;;
bisect) mode=bisect flavour=patched ;;
# the guest kernel of the userspace part's cgroup v2 test (tests/vm/cgv2.sh):
# stock, with what the daemon needs too, in a tree of its own; builds only
# and prints "bzImage <path>" last
vm) mode=vm flavour=stock tree_name=vm
	extra_fragment=$(cd "$(dirname "$0")/../tests/vm" && pwd)/config.fragment ;;
*) echo "usage: $0 patched|stock|bench|cross [arm64|riscv...]|bisect|kasan|vm" >&2; exit 2;;
esac

kdir=$(cd "$(dirname "$0")" && pwd)
work=${UZ_KWORK:-/var/tmp/uzswap-kernel}
export CCACHE_DIR=${UZ_CCACHE:-/var/tmp/uzswap-ccache}
boot_timeout=${UZ_BOOT_TIMEOUT:-900}
jobs=$(nproc)
kver=6.12
tarball=/usr/src/linux-source-$kver.tar.xz
pristine=$work/linux-source-$kver	# git repo, branch "pristine" only
st_list=$kdir/selftests/list		# mm selftests run in the guest
st_expected=$kdir/selftests/stock.expected
t0=$SECONDS

# tree: the name of the worktree, build and output directories (the
# flavour's own, but for bisect's); strict: judged as the whole series is
set_flavour() {	# flavour [tree]
	flavour=$1
	tree=${2:-$1}
	src=$work/src-$tree		# worktree the build uses
	build=$work/build-$tree
	out=$work/out-$tree
	strict=0
	[ "$flavour" = patched ] && strict=1
}
set_flavour "$flavour" "${tree_name:-}"

say() { printf 'kernel: [%4ds] %s\n' $((SECONDS - t0)) "$*"; }

# The closing line CI reads, then the exit code. Flaky cases (mm selftest
# cases that failed once and passed on a rerun) are named on a line of
# their own; ", N flaky" closes the line only when there are any.
finish() {	# pass fail skip [flaky [names]]
	local flaky=${4:-0}
	if [ "$flaky" -gt 0 ]; then
		echo "kernel: flaky (failed once, passed on rerun): $5"
		echo "kernel: $1 passed, $2 failed, $3 skipped, $flaky flaky"
	else
		echo "kernel: $1 passed, $2 failed, $3 skipped"
	fi
	if [ "$2" -gt 0 ]; then exit 1; fi
	if [ $(($1 + flaky)) -eq 0 ] && [ "$3" -gt 0 ]; then exit 77; fi
	if [ $(($1 + flaky)) -eq 0 ]; then exit 1; fi
	exit 0
}
# (in bisect mode the prefixes judged so far keep their count)
die() { say "ERROR: $*"; finish "${bisect_pass:-0}" $((${bisect_fail:-0} + 1)) 0; }

# The long command running in the background (a build, qemu): a job of a
# script ignores SIGINT, so on Ctrl-C or a TERM it is ended here, not left
# building (and holding the tree's lock) after the script is gone.
bg_pid=
on_signal() {
	[ -n "$bg_pid" ] && kill -TERM "$bg_pid" 2>/dev/null
	say "interrupted"
	exit 130
}
trap on_signal INT TERM HUP

# Run a long command with its output in a log, printing a progress line every
# 30 s (the last line of the log shows where it is) and the log's tail on error.
step() {	# name log cmd...
	local name=$1 log=$2 start=$SECONDS pid rc
	shift 2
	say "$name..."
	"$@" >"$log" 2>&1 &
	pid=$!
	bg_pid=$pid
	while ! wait_for "$pid" 30; do
		say "$name: $((SECONDS - start))s, $(last_line "$log")"
	done
	wait "$pid"
	rc=$?
	bg_pid=
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
# What runs on the host (a cold run traced with strace -f -e execve) and
# where it comes from on Debian 12:
# - base system (debootstrap's default variant: priority required and
#   important): bash, dash, coreutils (nproc, stat, sha256sum, sha1sum,
#   timeout, tee, date, whoami, install, ...), util-linux (flock), findutils
#   (find, xargs), grep, sed, tar, gzip, diffutils (cmp), dpkg-query,
#   apt-get, and awk, which is mawk: every awk program here (check.sh,
#   selftests/*.awk, bench/report.awk) and the kernel's own run with mawk;
# - installed below: gcc with binutils and libc6-dev, make, git, xz-utils
#   (the source tarball, and tinyconfig's xz-compressed bzImage), flex,
#   bison (with m4: kconfig's parser), bc (kernel/time/timeconst.bc),
#   libelf-dev (objtool), rsync (make headers_install), ccache,
#   qemu-system-x86, busybox-static (copied into the initramfs, which the
#   tree's usr/gen_init_cpio writes), liburing-dev and libnuma-dev (the mm
#   selftests are linked static against them); libssl-dev and cpio are not
#   used by this config (module signing, CONFIG_IKHEADERS) but are cheap;
# - not needed: perl and python3 (the build ran neither, but python3 in a
#   Kconfig probe for a driver that is off), gawk, pkg-config (objtool
#   falls back to -lelf), rustc (probed by Kconfig only), kmod (no modules).
# initramfs/init runs in the guest, on busybox alone.
need_pkgs() {	# [more packages a mode needs]
	local missing=() p
	for p in linux-source-$kver qemu-system-x86 busybox-static ccache gcc make \
		 flex bison bc libelf-dev libssl-dev cpio git libc6-dev xz-utils \
		 liburing-dev libnuma-dev rsync "$@"; do
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
	# gc.auto 0: else the commit of ~80000 loose objects starts a detached
	# "git gc --auto" that repacks them all, a core for minutes of the build
	step "git init of the pristine tree" "$work/git-init.log" bash -c "
		cd '$pristine' && git init -q -b pristine . && git config gc.auto 0 &&
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
	local state=$work/applied-$tree patches=() hashes=() old=() new=()
	local p i k n head expect base
	if [ "$flavour" = patched ]; then
		mapfile -t patches < <(ls "$kdir"/patches/*.patch 2>/dev/null | sort)
		# bisect: only the first $series_upto patches
		[ -n "${series_upto:-}" ] && patches=("${patches[@]:0:series_upto}")
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
		step "worktree $src" "$work/worktree-$tree.log" \
			git_q -C "$pristine" worktree add -f -B "uz-$tree" "$src" pristine
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
	(cd "$build" && "$src/scripts/kconfig/merge_config.sh" -m -O "$build" .config \
		"$kdir/config.fragment" $extra_fragment) &&
	kmake olddefconfig
}

configure() {
	local want have
	# reconfigure only when the fragment or the series' Kconfig changes do
	want=$( (cat "$kdir/config.fragment" $extra_fragment
		git -C "$src" diff pristine HEAD -- '*Kconfig*' '*/configs/*') | sha256sum | cut -c1-16)
	have=$(cat "$build/.uz-config.id" 2>/dev/null)
	[ "$have" = "$want" ] && [ -f "$build/.config" ] && return 0
	mkdir -p "$build"
	step "configure (tinyconfig + config.fragment)" "$out/config.log" do_configure
	# merge_config only warns; a fragment option that did not stick is an error
	local bad
	# (an option set again in a later fragment is judged by its last line)
	bad=$(cat "$kdir/config.fragment" $extra_fragment |
		grep -E '^(CONFIG_[A-Za-z0-9_]+=|# CONFIG_[A-Za-z0-9_]+ is not set)' |
		tac | awk '{ s = $0; sub(/^# /, "", s); sub(/[= ].*/, "", s) } !seen[s]++' |
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

# --- the kernel's own mm selftests ----------------------------------------
# kernel/selftests/list names programs of the tree's
# tools/testing/selftests/mm; they are built static against the uapi headers
# of the tree under test (headers_install into $build/usr), and only again
# when the list, their sources, those headers or gcc change.
# UZ_SELFTESTS="id id..." runs only those (a quick look while developing);
# UZ_SELFTESTS=none runs none.
st_ids() { awk '!/^#/ && NF >= 3 { print $1 }' "$st_list"; }
st_progs() {	# [list] the programs: the first word after id and timeout not "sysctl:..."
	awk '!/^#/ && NF >= 3 { for (i = 3; i <= NF; i++) if ($i !~ /^sysctl:/) { print $i; break } }' \
		"${1:-$out/selftests/list}" | sort -u
}

st_select() {	# writes $out/selftests/list: the lines of the list to run
	local dir=$out/selftests
	mkdir -p "$dir"
	case ${UZ_SELFTESTS:-all} in
	all) awk '!/^#/ && NF >= 3' "$st_list" ;;
	none) : ;;
	*) awk -v want=" $UZ_SELFTESTS " '!/^#/ && NF >= 3 && index(want, " " $1 " ")' "$st_list" ;;
	esac >"$dir/list"
}

build_selftests() {
	local mm=$src/tools/testing/selftests/mm dir=$out/selftests want p start=$SECONDS n
	st_select
	[ -s "$dir/list" ] || { say "mm selftests: none selected"; return 0; }
	mkdir -p "$dir/bin" "$dir/inc" "$dir/log"
	kmake -s headers_install >"$dir/log/headers.log" 2>&1 ||
		{ tail -n 20 "$dir/log/headers.log"; die "headers_install failed"; }
	want=$( (cat "$st_list"; gcc --version | head -n 1
		cat "$mm"/*.c "$mm"/*.h "$mm"/../kselftest*.h "$src/mm/gup_test.h"
		find "$build/usr/include" -type f -name '*.h' | sort | xargs cat) | sha256sum | cut -c1-16)
	if [ "$(cat "$dir/.id" 2>/dev/null)" != "$want" ]; then
		rm -f "$dir"/bin/* "$dir/.id"
		echo '#define LOCAL_CONFIG_HAVE_LIBURING 1' >"$dir/inc/local_config.h"
	fi
	# build what is missing, $jobs compilers at a time
	for p in $(st_progs); do
		[ -x "$dir/bin/$p" ] && continue
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		st_compile "$p" >"$dir/log/$p.log" 2>&1 &
	done
	wait
	for p in $(st_progs); do
		[ -x "$dir/bin/$p" ] && continue
		tail -n 20 "$dir/log/$p.log"
		die "mm selftest $p does not compile (log: $dir/log/$p.log)"
	done
	echo "$want" >"$dir/.id"
	n=$(st_progs | wc -l)
	say "mm selftests: $n programs ready in $((SECONDS - start))s"
}

st_compile() {	# program
	local p=$1 mm=$src/tools/testing/selftests/mm extra=() libs=()
	case $p in
	uffd-*) extra=(uffd-common.c) ;;
	# 6.12's khugepaged.c returns KSFT_SKIP without including kselftest.h
	khugepaged) extra=(-D_GNU_SOURCE -include ../kselftest.h) ;;
	esac
	case $p in
	cow|gup_longterm) libs=(-luring) ;;
	migration|ksm_tests) libs=(-lnuma) ;;
	esac
	# from the source directory with relative names: pagemap_ioctl creates
	# files named after __FILE__ in its working directory
	(cd "$mm" && gcc -static -O2 -Wall -U_FORTIFY_SOURCE -I"$out/selftests/inc" -I"$src" \
		-isystem "$build/usr/include" -isystem "$src/tools/include/uapi" \
		-o "$out/selftests/bin/$p.tmp" "$p.c" vm_util.c thp_settings.c \
		"${extra[@]}" "${libs[@]}" -lrt -lpthread -lm) &&
	mv "$out/selftests/bin/$p.tmp" "$out/selftests/bin/$p"
}

# --- initramfs -------------------------------------------------------------
cpio_selftests() {	# list: the mm selftests of that list, if any
	local p
	[ -s "$1" ] || return 0
	echo "dir /selftests 0755 0 0"
	echo "dir /selftests/bin 0755 0 0"
	echo "file /selftests/list $1 0644 0 0"
	for p in $(st_progs "$1"); do
		echo "file /selftests/bin/$p $out/selftests/bin/$p 0755 0 0"
	done
}
gen_cpio() {	# list file, cpio file
	[ -x "$work/gen_init_cpio" ] && [ "$work/gen_init_cpio" -nt "$pristine/usr/gen_init_cpio.c" ] ||
		gcc -O2 -o "$work/gen_init_cpio" "$pristine/usr/gen_init_cpio.c" || die "gen_init_cpio"
	"$work/gen_init_cpio" "$1" >"$2" || die "initramfs"
}
cpio_base() {
	echo "dir /dev 0755 0 0"
	echo "nod /dev/console 0600 0 0 c 5 1"
	for d in bin proc sys tmp; do echo "dir /$d 0755 0 0"; done
	echo "file /bin/busybox $(command -v busybox) 0755 0 0"
	echo "file /init $kdir/initramfs/init 0755 0 0"
}

build_initramfs() {
	local t name list=$out/initramfs.list p
	mkdir -p "$out/tests"
	rm -f "$out"/tests/*
	for t in "$kdir"/tests/*.c; do
		[ -e "$t" ] || continue
		name=$(basename "$t" .c)
		# UZ_TESTS="name ...": only those (a quick look while developing)
		case " ${UZ_TESTS:-$name} " in *" $name "*) ;; *) continue ;; esac
		gcc -static -O2 -g -Wall -Wextra -Werror -I"$kdir/tests" -o "$out/tests/$name" "$t" ||
			die "test $name does not compile"
	done
	{
		cpio_base
		echo "dir /tests 0755 0 0"
		for t in "$out"/tests/*; do
			[ -e "$t" ] && echo "file /tests/$(basename "$t") $t 0755 0 0"
		done
		cpio_selftests "$out/selftests/list"
	} >"$list"
	gen_cpio "$list" "$out/initramfs.cpio"
	say "initramfs: $(ls "$out"/tests | wc -l) tests, $(cat "$out/selftests/list" 2>/dev/null |
		grep -c .) mm selftest runs, $(stat -c %s "$out/initramfs.cpio") bytes"
}

# --- boot and judge --------------------------------------------------------
# The tests boot with 2 GB in two NUMA nodes and 3 CPUs: the migration
# selftest moves pages between nodes and wants 2 threads besides its own;
# khugepaged's collapse_compound_extreme holds 512 THPs (1 GB) at once. One
# socket per CPU (CPUs of one socket in two nodes make the scheduler WARN at
# boot). The bench boots with 2 GB in one node, 2 CPUs.
qemu_mem=(-m 2G -smp 3,sockets=3,cores=1,threads=1
	-object memory-backend-ram,id=m0,size=1G -object memory-backend-ram,id=m1,size=1G
	-numa node,nodeid=0,cpus=0,memdev=m0 -numa node,nodeid=1,cpus=1-2,memdev=m1)
# The check runs' kernel command line is "console=ttyS0 panic=-1" and
# these options, which the selftests' results depend on (stock.expected
# records them, with the machine above: selftests_tap). norandmaps: no
# address-space randomization in the guest, so a selftest whose mappings can
# collide (mremap_test's fixed-address preambles) does the same on every run,
# stock and patched alike. The bench boots with options of its own.
check_append="transparent_hugepage=madvise norandmaps"
boot_append=$check_append
# each of our tests is killed after UZ_TEST_TIMEOUT s (initramfs/init: 600)
[ "${tree_name:-}" = kasan ] && boot_append="$boot_append UZ_TEST_TIMEOUT=2000"

boot() {	# initramfs serial-log
	local initrd=$1 log=$2 start=$SECONDS rc
	say "boot under qemu (TCG, timeout ${boot_timeout}s), serial log: $log"
	timeout --foreground -k 10 "$boot_timeout" qemu-system-x86_64 -nographic -no-reboot \
		"${qemu_mem[@]}" -kernel "$build/arch/x86/boot/bzImage" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 $boot_append" \
		</dev/null >"$log" 2>&1 &
	local pid=$!
	bg_pid=$pid
	while ! wait_for "$pid" 30; do
		say "boot: $((SECONDS - start))s, $(grep -a '^=== ' "$log" | tail -n 1)"
	done
	wait "$pid"
	rc=$?
	bg_pid=
	tr -d '\r' <"$log" >"$log.txt"
	say "boot: qemu exited with $rc after $((SECONDS - start))s"
	[ $rc -eq 124 ] && say "qemu timed out"
}

# kernel/selftests/stock.expected: the stock kernel's mm selftest results
# (results.awk's lines) under a header naming the list, fragment and boot
# (the check runs' kernel options and qemu machine) they were recorded with
# and how many stock runs were merged into them.
st_hash() { sha256sum <"$1" | cut -c1-16; }
st_boot() { echo "-append \"$check_append\", qemu ${qemu_mem[*]}"; }
st_boot_hash() { st_boot | sha256sum | cut -c1-16; }
st_header() {	# "list fragment boot runs" of stock.expected's header, "-" if none
	awk '/^# recorded with / {
		for (i = 4; i < NF; i++) v[$i] = $(i + 1)
		sub(/,$/, "", v["runs"])
		print (v["list"] != "" ? v["list"] : "-"), (v["fragment"] != "" ? v["fragment"] : "-"),
			(v["boot"] != "" ? v["boot"] : "-"), (v["runs"] != "" ? v["runs"] : 0)
		found = 1; exit
	}
	END { if (!found) print "- - - 0" }' "$st_expected" 2>/dev/null || echo "- - - 0"
}

# Prints the TAP blocks of the mm selftests of the log (compare.awk) and, on
# a full stock run, records its results into stock.expected, merged with the
# results already there when list, fragment and boot are unchanged. On
# patched, a rerun's results (st_rerun) decide about the cases that were not
# ok, and the rerun programs are judged in full (compare.awk).
selftests_tap() {	# log record(0/1) [rerun results, rerun ids]
	local log=$1 record=$2 retry=${3:-} rerunids=${4:-} dir=$out/selftests
	local res=$dir/results exp=$dir/expected new=$dir/expected.new
	local lh fh bh rh rf rb runs
	lh=$(st_hash "$st_list"); fh=$(st_hash "$kdir/config.fragment"); bh=$(st_boot_hash)
	read -r rh rf rb runs <<<"$(st_header)"
	awk -f "$kdir/selftests/results.awk" "$log" >"$res"
	# compare with the stock results of the programs that were to run here
	awk -F'\t' 'NR == FNR { want[$1] = 1; next } !/^#/ && ($1 in want)' \
		"$dir/list" "$st_expected" 2>/dev/null >"$exp"
	if [ "$flavour" = stock ]; then
		local keep=$st_expected
		if [ "$rh $rf $rb" != "$lh $fh $bh" ] || [ -n "${UZ_ST_FRESH:-}" ]; then
			: >"$exp"
			keep=/dev/null
			runs=0
		fi
		: >"$new"
		awk -v flavour=stock -v expfile="$exp" -v newexp="$new" \
			-f "$kdir/selftests/compare.awk" "$exp" "$res"
		[ "$record" = 1 ] || return 0
		{
			echo "# mm selftest results of stock Linux $kver, recorded by 'make -C kernel check-stock'"
			echo "# (kernel/check.sh; kernel/selftests/results.awk gives the format). Do not edit:"
			echo "# re-run check-stock; UZ_ST_FRESH=1 starts over instead of merging."
			echo "# recorded with list $lh fragment $fh boot $bh runs $((${runs:-0} + 1)), last $(date -u +%F)"
			echo "# boot $bh: $(st_boot)"
			# programs this run did not run keep their old results
			# (merging only; a new list, fragment or boot starts over)
			awk -F'\t' 'NR == FNR { ran[$1] = 1; next } !/^#/ && !($1 in ran)' \
				"$dir/list" "$keep" 2>/dev/null
			cat "$new"
		} >"$st_expected.tmp" && mv "$st_expected.tmp" "$st_expected"
		say "recorded the stock results in ${st_expected#"$kdir"/} ($((${runs:-0} + 1)) run(s) merged)"
		return 0
	fi
	echo "=== TAP BEGIN mm:baseline 0"
	echo "1..2"
	if [ ! -s "$st_expected" ]; then
		echo "not ok 1 stock.expected exists (make -C kernel check-stock records it)"
		echo "not ok 2 stock.expected exists (make -C kernel check-stock records it)"
	else
		if [ "$rh" != "$lh" ]; then
			echo "not ok 1 stock.expected was recorded with this selftest list (re-run make -C kernel check-stock)"
		else
			echo "ok 1 stock.expected was recorded with this selftest list ($runs stock run(s))"
		fi
		if [ "$rb" != "$bh" ]; then
			echo "not ok 2 stock.expected was recorded with these boot arguments (it has boot $rb, these runs boot $bh: $(st_boot); re-run make -C kernel check-stock)"
		else
			echo "ok 2 stock.expected was recorded with these boot arguments ($(st_boot))"
		fi
		[ "$rf" = "$fh" ] ||
			echo "# config.fragment changed since stock.expected was recorded: re-run make -C kernel check-stock"
	fi
	echo "=== TAP END mm:baseline"
	awk -v flavour=patched -v expfile="$exp" -v newexp=/dev/null -v retry="$retry" -v rerunids="$rerunids" \
		-f "$kdir/selftests/compare.awk" "$exp" "$res"
}

# Counts the TAP test points of our tests (in the log) and of the mm
# selftests ($st_tap): prints "pass fail skip flaky tests", and why a test
# failed as a whole on stderr. On the patched kernel a thp_swap_* point
# that skips fails: each skips only where PMD swap entries or what they
# need are missing, which the patched guest must have.
count_tap() {	# log st_tap
	awk -v strict="$strict" '
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
	/^not ok / { seen++
		if ($0 ~ /# *TODO/ && !(strict && name ~ /^thp_swap_/)) skip++
		else { fail++; tfail++ }
		next }
	/^ok / { seen++
		if (name ~ /^mm:/ && / # FLAKY /) flaky++
		else if (toupper($0) ~ /# *SKIP/ && strict && name ~ /^thp_swap_/) {
			print "# " name ": skipped on the patched kernel: " $0 > "/dev/stderr"; fail++; tfail++
		} else if (toupper($0) ~ /# *SKIP/) skip++
		else pass++
		next }
	END { close_test(); printf "%d %d %d %d %d\n", pass, fail, skip, flaky, ntests }' "$1" "$2"
}

# The mm selftest programs with a case not ok in $st_tap (compare.awk's
# blocks mm:<id>; mm:baseline is no program), and how many such cases.
st_failed() {	# st_tap: prints "<cases> <id> <id>..."
	awk '/^=== TAP BEGIN mm:/{ id = substr($4, 4); next }
	/^=== TAP END /{ id = ""; next }
	id != "" && id != "baseline" && /^not ok / { n++; if (!(id in seen)) { seen[id] = 1; ids = ids " " id } }
	END { print n + 0 ids }' "$1"
}

# Boots the guest again with only the mm selftest programs named (the
# lines of $out/selftests/list with those ids, in its order, without our
# tests) and writes their results to $out/rerun/results. 0: results there;
# 1: the rerun's guest failed (its kernel complained, or it did not finish),
# its results are not used; 2: no rerun (only judging a log:
# UZ_JUDGE_RERUN_LOG=<serial log> judges that as the rerun's).
st_rerun() {	# ids...
	local dir=$out/rerun log
	rm -rf "$dir"
	mkdir -p "$dir"
	awk -v want=" $* " '!/^#/ && NF >= 3 && index(want, " " $1 " ")' \
		"$out/selftests/list" >"$dir/list"
	if [ -n "${UZ_JUDGE_LOG:-}" ]; then
		[ -n "${UZ_JUDGE_RERUN_LOG:-}" ] || {
			say "mm selftests: no rerun when only judging a log (UZ_JUDGE_RERUN_LOG=<log> judges one)"
			return 2
		}
		log=$UZ_JUDGE_RERUN_LOG
	else
		{ cpio_base; cpio_selftests "$dir/list"; } >"$dir/initramfs.list"
		gen_cpio "$dir/initramfs.list" "$dir/initramfs.cpio"
		boot "$dir/initramfs.cpio" "$dir/serial.log"
		log=$dir/serial.log.txt
	fi
	awk -f "$kdir/selftests/results.awk" "$log" >"$dir/results"
	if ! grep -q '^=== GUEST DONE' "$log"; then
		say "the rerun's guest did not finish its run (crash, hang or timeout); last lines:"
		tail -n 30 "$log"
		return 1
	fi
	kernel_errors "$log" || return 1
	return 0
}

# 0 when thp_swap_baseline's swap-out made PMD swap entries and its
# swap-in mapped them back as PMDs (its "# pageout:" and "# swap-in:"
# lines: thp_swpout_pmd and thp_swpin_pmd above 0); else why not. A
# patched kernel that never made one passed every other test as stock.
pmd_entries_made() {	# log
	awk '/^=== TAP BEGIN thp_swap_baseline /{ b = 1; ran = 1; next }
	/^=== TAP END thp_swap_baseline/{ b = 0 }
	b && /^# pageout: / { for (i = 3; i < NF; i++) if ($i == "thp_swpout_pmd") out = $(i + 1) + 0 }
	b && /^# swap-in: / { for (i = 3; i < NF; i++) if ($i == "thp_swpin_pmd") in_ = $(i + 1) + 0 }
	END {
		if (!ran) { print "thp_swap_baseline did not run"; exit 1 }
		if (out <= 0 || in_ <= 0) {
			printf "thp_swap_baseline saw thp_swpout_pmd +%d and thp_swpin_pmd +%d: no PMD swap entries\n", out, in_
			exit 1
		}
	}' "$1"
}

# How many of our tests failed in a way their own TAP does not show: killed
# at their timeout, left state behind that initramfs/init had to undo
# ("=== CLEANUP after <test>"), or never reported (no TAP block: every
# tests/*.c is built into the guest unless UZ_TESTS names some). Each is
# said on a line.
tests_left_over() {	# log: prints the count
	local n=0 line t
	while read -r line; do
		say "$line" >&2
		n=$((n + 1))
	done < <(grep -E '^=== (TEST [^ ]+ TIMEOUT|CLEANUP after )' "$1")
	if [ -z "${UZ_TESTS:-}" ]; then
		for t in "$kdir"/tests/*.c; do
			[ -f "$t" ] || continue
			t=${t##*/}
			t=${t%.c}
			grep -q "^=== TAP BEGIN $t " "$1" && continue
			say "test $t reported nothing (no TAP block)" >&2
			n=$((n + 1))
		done
	fi
	echo "$n"
}

judge() {	# [serial log without CRs] [record stock results: 0/1]
	local log=${1:-$out/serial.log.txt} record=${2:-0} st_tap=/dev/null
	local pass fail skip flaky ntests hard=0 r cases ids names= why
	# print each test's TAP as the guest collected it
	awk '/^=== TAP BEGIN /{p=1; next} /^=== TAP END /{p=0} p' "$log"
	if [ -s "$out/selftests/list" ]; then
		st_tap=$out/selftests.tap
		[ "$record" = 1 ] && ! grep -q '^=== GUEST DONE' "$log" && record=0
		selftests_tap "$log" "$record" >"$st_tap"
	fi
	if ! grep -q '^=== GUEST DONE' "$log"; then
		say "the guest did not finish its run (crash, hang or timeout); last lines:"
		tail -n 30 "$log"
		hard=$((hard + 1))
	fi
	kernel_errors "$log" || hard=$((hard + 1))
	hard=$((hard + $(tests_left_over "$log")))
	if [ "$strict" = 1 ] && ! why=$(pmd_entries_made "$log"); then
		say "the patched kernel made no PMD swap entry: $why"
		hard=$((hard + 1))
	fi
	r=$(count_tap "$log" "$st_tap")
	read -r pass fail skip flaky ntests <<<"$r"
	[ "$ntests" -gt 0 ] || { say "no test ran"; hard=$((hard + 1)); }
	# mm selftest cases that pass on stock but not here run once more, alone
	# with the other cases of their program: one that passes then is a flake.
	# Only when they are all that failed: nothing else is run again.
	read -r cases ids <<<"$(st_failed "$st_tap")"
	if [ "$flavour" = patched ] && [ "$hard" -eq 0 ] && [ "$cases" -gt 0 ] && [ "$cases" -eq "$fail" ]; then
		say "mm selftests: $cases case(s) not ok, running again:$(printf ' %s' $ids)"
		grep '^not ok ' "$st_tap" | sed 's/^/#   /'
		st_rerun $ids
		case $? in
		0) selftests_tap "$log" 0 "$out/rerun/results" "$ids" >"$st_tap" ;;
		1) hard=$((hard + 1)) ;;
		esac
		r=$(count_tap "$log" "$st_tap" 2>/dev/null)
		read -r pass fail skip flaky ntests <<<"$r"
		names=$(sed -n 's/^ok [0-9]* \(.*\) # FLAKY .*/\1/p' "$st_tap" | awk '{ printf "%s%s", (NR > 1 ? "; " : ""), $0 }')
	fi
	if [ "$st_tap" != /dev/null ]; then
		# the mm selftests: one line per program, every case not ok or
		# flaky, and every case that fails (or only sometimes passes) on
		# stock too
		awk '/^=== TAP BEGIN /{ id = $4; p = s = f = k = fl = 0; next }
		/^=== TAP END /{ printf "# %s: %d passed, %d failed, %d skipped (%d of them fail on stock too)%s\n", id, p, f, s, k, fl ? ", " fl " flaky" : ""; next }
		/^1\.\./ { next }
		/^not ok / { f++; print; next }
		/^ok .* # FLAKY / { fl++; print; next }
		/^ok .*# SKIP (known stock failure|flaky on stock)/ { s++; k++; print; next }
		/^ok .*# SKIP/ { s++; next }
		/^ok / { p++ }' "$st_tap"
		if [ -n "${judge_tmp:-}" ]; then
			say "mm selftests: full TAP and results removed with the temporary directory (UZ_JUDGE_OUT=<dir> keeps them)"
		else
			say "mm selftests: full TAP in $st_tap, results in $out/selftests/results"
		fi
	fi
	finish "$pass" $((fail + hard)) "$skip" "$flaky" "$names"
}

# 1 (and the lines) if the guest's kernel complained; the selftests' own
# output (between SELFTEST BEGIN/END) is not kernel output
kernel_errors() {	# log
	local errs
	errs=$(awk '/^=== SELFTEST BEGIN /{ s = 1 } /^=== SELFTEST END /{ s = 0; next } !s { print NR ": " $0 }' "$1" |
		grep -E 'BUG:|WARNING:|Kernel panic|Oops|general protection fault|Bad swap|Unused swap|soft lockup|blocked for more than|rcu: INFO:|detected stalls|Write-error on swap') || return 0
	say "the guest kernel log has BUG/WARNING/panic/lockup/stall lines:"
	head -n 20 <<<"$errs"
	return 1
}

# --- bench -------------------------------------------------------------------
# kernel/bench/thp_refault.c on the stock and the patched kernel, 2 GB guest
# with 1 GB of zram; the results go to $UZ_BENCH_OUT (default
# $work/bench-results), never into the repo.
bench_mb=${UZ_BENCH_MB:-512}
bench_rounds=${UZ_BENCH_ROUNDS:-5}

bench_boot() {
	local dir=$out/bench list
	mkdir -p "$dir"
	gcc -static -O2 -Wall -Wextra -Werror -o "$dir/thp_refault" "$kdir/bench/thp_refault.c" ||
		die "bench does not compile"
	list=$dir/initramfs.list
	{
		cpio_base
		echo "dir /bench 0755 0 0"
		echo "file /bench/thp_refault $dir/thp_refault 0755 0 0"
	} >"$list"
	gen_cpio "$list" "$dir/initramfs.cpio"
	qemu_mem=(-m 2G -smp 2)
	boot_append="transparent_hugepage=madvise UZ_MODE=bench UZ_ZRAM=1G UZ_BENCH_MB=$bench_mb UZ_BENCH_ROUNDS=$bench_rounds"
	boot "$dir/initramfs.cpio" "$dir/serial.log"
	local log=$dir/serial.log.txt
	grep -q '^=== BENCH END rc 0' "$log" || {
		tail -n 30 "$log"
		die "bench run on $flavour failed (log: $log)"
	}
	kernel_errors "$log" || die "bench run on $flavour: kernel errors (log: $log)"
	awk '/^=== BENCH BEGIN/{ p = 1; next } /^=== BENCH END/{ p = 0 } p' "$log" >"$dir/bench.txt"
}

bench_main() {
	local f res=${UZ_BENCH_OUT:-$work/bench-results} stamp
	stamp=$(date -u +%Y%m%dT%H%M%SZ)
	mkdir -p "$res"
	for f in stock patched; do
		set_flavour "$f"
		prepare_kernel
		bench_boot
		cp "$out/bench/bench.txt" "$res/$stamp-$f.txt"
	done
	awk -v mb="$bench_mb" -f "$kdir/bench/report.awk" \
		"$res/$stamp-stock.txt" "$res/$stamp-patched.txt" | tee "$res/$stamp-report.txt"
	say "bench results: $res/$stamp-{stock,patched,report}.txt"
	exit 0
}

# --- cross -------------------------------------------------------------------
# The series' mm/ built for arm64 and riscv (tinyconfig with THP, swap, THP
# migration and userfaultfd), which no test boots: it must compile, and
# pmd_swap_entries_supported() must be false there (no pmd_swp_mkexclusive:
# their entries would lose the exclusive bit), as the preprocessed vmscan.c
# shows; the x86_64 build beside it must have it true.
cross_gcc() {	# arch: the Debian cross compiler's prefix
	case $1 in
	arm64) echo aarch64-linux-gnu- ;;
	riscv) echo riscv64-linux-gnu- ;;
	x86_64) echo "" ;;	# the host's: the one where it must be true
	*) return 1 ;;
	esac
}

cross_one() {	# arch: 0 when mm/ builds and the answer is as expected
	local arch=$1 cc dir want got
	cc=$(cross_gcc "$arch") || { say "cross: no compiler known for $arch"; return 1; }
	dir=$work/build-cross-$arch
	mkdir -p "$dir"
	local mk=(make -C "$src" O="$dir" ARCH="$arch" CROSS_COMPILE="$cc" CC="ccache ${cc}gcc")
	step "$arch: tinyconfig" "$dir/config.log" "${mk[@]}" tinyconfig
	"$src/scripts/config" --file "$dir/.config" -e 64BIT -e MMU -e BLOCK -e SWAP \
		-e TRANSPARENT_HUGEPAGE -e MIGRATION -e COMPACTION -e USERFAULTFD \
		-e ADVISE_SYSCALLS -e PROC_FS -e SYSFS
	step "$arch: olddefconfig" "$dir/config.log" "${mk[@]}" olddefconfig
	local o
	for o in TRANSPARENT_HUGEPAGE ARCH_ENABLE_THP_MIGRATION SWAP MIGRATION USERFAULTFD; do
		grep -q "^CONFIG_$o=y" "$dir/.config" || { say "cross: $arch has no CONFIG_$o"; return 1; }
	done
	step "$arch: build mm/" "$dir/build.log" "${mk[@]}" -j"$jobs" mm/
	step "$arch: preprocess mm/vmscan.c" "$dir/vmscan.log" "${mk[@]}" mm/vmscan.i
	# shrink_folio_list()'s test, as the compiler sees it (the line above
	# its "!folio_test_anon(folio) ||"): "!false" where there are none,
	# "!1" where there are
	got=$(awk '/!folio_test_anon\(folio\) \|\|/ && prev ~ /if \(!/ { gsub(/^[ \t]+/, "", prev); print prev; exit } { prev = $0 }' \
		"$dir/mm/vmscan.i")
	want="if (!false ||"
	[ "$arch" = x86_64 ] && want="if (!1 ||"
	if [ "$got" != "$want" ]; then
		say "cross: $arch: pmd_swap_entries_supported() is not what it should be in mm/vmscan.i (found '$got')"
		return 1
	fi
	say "cross: $arch: mm/ builds; shrink_folio_list() tests '$got'"
	return 0
}

cross_main() {
	local a cc pass=0 fail=0 pkgs=()
	[ ${#cross_arches[@]} -gt 0 ] || cross_arches=(arm64 riscv x86_64)
	mkdir -p "$work"
	for a in "${cross_arches[@]}"; do
		cc=$(cross_gcc "$a") || die "cross: no compiler known for $a (arm64, riscv, x86_64)"
		[ -n "$cc" ] && pkgs+=("gcc-${cc%-}")
	done
	prepare_source "${pkgs[@]}"
	for a in "${cross_arches[@]}"; do
		if cross_one "$a"; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
	done
	finish "$pass" "$fail" 0
}

# --- main ----------------------------------------------------------------------
# The flavour's tree, pristine plus (for patched) the series, under its
# lock, with what the host needs installed (and the packages given).
prepare_source() {	# [more packages]
	# one run per flavour at a time; the pristine tree is shared by both
	exec 8>"$work/.lock-$tree"
	if ! flock -n 8; then
		say "another '$tree' run is using $work: waiting for it"
		flock 8
	fi
	need_pkgs "$@"
	exec 9>"$work/.lock-pristine"
	flock 9
	prepare_pristine
	prepare_worktree
	exec 9>&-
}

prepare_kernel() {
	mkdir -p "$out"
	say "flavour $flavour, tree $src"
	prepare_source
	configure
	build_kernel
}

# UZ_JUDGE_LOG=<log>: judge that log (and UZ_JUDGE_RERUN_LOG=<log> as its
# rerun's) with the selftest list UZ_SELFTESTS selects, as the run that
# wrote it did. Its files (selftests.tap, selftests/, rerun/) go to a private
# temporary directory, removed at the end, or to UZ_JUDGE_OUT=<dir>, kept:
# never into $work/out-<flavour>, which a real run may be using.
judge_only() {
	local w
	[ -r "$UZ_JUDGE_LOG" ] || die "UZ_JUDGE_LOG: cannot read $UZ_JUDGE_LOG"
	[ -z "${UZ_JUDGE_RERUN_LOG:-}" ] || [ -r "$UZ_JUDGE_RERUN_LOG" ] ||
		die "UZ_JUDGE_RERUN_LOG: cannot read $UZ_JUDGE_RERUN_LOG"
	if [ -n "${UZ_JUDGE_OUT:-}" ]; then
		out=$(realpath -m "$UZ_JUDGE_OUT")
		w=$(realpath -m "$work")
		case $out/ in "$w"/out-*) die "UZ_JUDGE_OUT must not be a run's own directory ($out)" ;; esac
		mkdir -p "$out" || die "cannot create $out"
	else
		out=$(mktemp -d "${TMPDIR:-/tmp}/uzswap-judge.XXXXXX") || die "mktemp failed"
		judge_tmp=$out
		trap 'rm -rf "$judge_tmp"' EXIT
	fi
	st_select
	judge "$UZ_JUDGE_LOG" 0
}

# Each prefix of the series (patches 1..k) built and booted on its own,
# with the tests and the mm selftest cow (UZ_BISECT_SELFTESTS="id ..." for
# others, "none" for none), in a tree of its own (src-bisect:
# the patched one keeps its incremental build). A prefix without the last
# patch makes no PMD swap entry: the tests that need one skip, the rest must
# pass and the kernel log stay clean; the whole series is judged as
# "patched" is. Stops at the first prefix that does not build. One closing
# line: a prefix is one test. UZ_BISECT_FROM=k starts at patches 1..k.
bisect_main() {
	local n k rc bad=() name
	bisect_pass=0 bisect_fail=0
	n=$(ls "$kdir"/patches/*.patch 2>/dev/null | wc -l)
	[ "$n" -gt 0 ] || die "no patches in $kdir/patches"
	# cow swaps out, forks and faults back 4 KB pages and small THPs: the
	# stock paths the series touches on its way (do_swap_page, fork)
	UZ_SELFTESTS=${UZ_BISECT_SELFTESTS:-cow}
	for ((k = ${UZ_BISECT_FROM:-1}; k <= n; k++)); do
		set_flavour patched bisect
		series_upto=$k
		[ "$k" -lt "$n" ] && strict=0
		name=$(ls "$kdir"/patches/*.patch | sort | sed -n "${k}p")
		say "=== bisect $k/$n: ${name##*/}"
		prepare_kernel
		build_selftests
		build_initramfs
		boot "$out/initramfs.cpio" "$out/serial.log"
		cp "$out/serial.log.txt" "$out/serial-$k.log.txt"
		(judge "$out/serial.log.txt" 0) >"$out/judge-$k.txt" 2>&1
		rc=$?
		grep -E '^kernel: |^not ok ' "$out/judge-$k.txt" | sed "s/^/  [$k] /"
		if [ $rc -eq 0 ]; then
			bisect_pass=$((bisect_pass + 1))
		else
			bisect_fail=$((bisect_fail + 1))
			bad+=("$k")
		fi
	done
	[ ${#bad[@]} -eq 0 ] || say "bisect: failed at patch(es) ${bad[*]} (logs: $out/judge-<k>.txt, serial-<k>.log.txt)"
	finish "$bisect_pass" "$bisect_fail" 0
}

# the whole run is one function, so editing this file while it runs is safe
main() {
	# UZ_JUDGE_LOG=file: only judge a serial log already captured
	if [ -n "${UZ_JUDGE_LOG:-}" ]; then judge_only; fi
	mkdir -p "$work" "$CCACHE_DIR"
	if [ "$mode" = bench ]; then bench_main; fi
	if [ "$mode" = cross ]; then cross_main; fi
	if [ "$mode" = bisect ]; then bisect_main; fi
	prepare_kernel
	if [ "$mode" = vm ]; then echo "bzImage $build/arch/x86/boot/bzImage"; exit 0; fi
	build_selftests
	build_initramfs
	boot "$out/initramfs.cpio" "$out/serial.log"
	# a full stock run records stock.expected
	local record=0
	[ "$flavour" = stock ] && [ "${UZ_SELFTESTS:-all}" = all ] && record=1
	judge "$out/serial.log.txt" "$record"
}
main; exit $?
