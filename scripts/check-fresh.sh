#!/bin/bash
# SPDX-License-Identifier: MIT
# Run the README's two commands in a fresh Debian 12 root that holds only
# the minimal base system (mmdebstrap --variant=minbase) and a clone of this
# repository's HEAD: first scripts/demo.sh (its smaller install list must be
# enough on its own), then .ci/run (the test command). A program a script
# needs but does not install fails here, not on a user's machine.
#
#   check-fresh.sh [--cold] [--keep] [--only demo|ci]
#     --cold   do not share the kernel build's ccache with this machine
#              (by default $UZ_CCACHE, /var/tmp/uzswap-ccache, is bound in:
#              it holds compiled objects only, never packages or tools)
#     --keep   keep the root afterwards (its path is printed)
#     --only   run only the demo or only the test command
# Needs root, network access to Debian's archive, and the kernel features
# the tests need (the root shares this kernel, /proc, /sys and /dev).
# Exit 0 when every command run passed.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
cold=0 keep=0 only=
while [ $# -gt 0 ]; do
	case $1 in
	--cold) cold=1 ;;
	--keep) keep=1 ;;
	--only) only=${2:-}; shift ;;
	*) echo "usage: $0 [--cold] [--keep] [--only demo|ci]" >&2; exit 2 ;;
	esac
	shift
done
case $only in ''|demo|ci) ;; *) echo "$0: --only takes demo or ci" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (chroot, mounts)" >&2; exit 2; }

t0=$SECONDS
say() { printf 'fresh: [%4ds] %s\n' $((SECONDS - t0)) "$*"; }

base=${UZ_FRESH_DIR:-/var/tmp/uzswap-fresh}
ccache_dir=${UZ_CCACHE:-/var/tmp/uzswap-ccache}
mkdir -p "$base"
root=$(mktemp -d "$base/root.XXXXXX")
log=$base/$(basename "$root").log
mounts=()

# Unmount everything below the root, innermost first, and only then remove
# it: an rm that crossed into a bound /dev or /sys would wipe the host's.
cleanup() {
	local m i
	for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
		m=${mounts[$i]}
		umount -R "$m" 2>/dev/null || umount -R -l "$m" 2>/dev/null
	done
	if findmnt -rn -o TARGET | grep -q "^$root/"; then
		say "mounts left under $root; not removing it"
		findmnt -rn -o TARGET | grep "^$root/"
		return
	fi
	if [ "$keep" = 1 ]; then
		say "kept $root"
	else
		rm -rf --one-file-system "$root"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

bind() {	# host path, path in the root, [rbind]
	mkdir -p "$root$2"
	mount "--${3:-bind}" "$1" "$root$2" || { say "mount $1 failed"; exit 1; }
	# changes inside never propagate back to the host (an umount -R of a
	# shared bind would unmount the host's own cgroup or pts mounts)
	mount --make-rslave "$root$2"
	mounts+=("$root$2")
}

if ! command -v mmdebstrap >/dev/null; then
	say "installing mmdebstrap"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null ||
		{ say "could not install mmdebstrap"; exit 1; }
fi

say "Debian 12 minbase root in $root (log: $log)"
mmdebstrap --variant=minbase bookworm "$root" \
	"deb http://deb.debian.org/debian bookworm main" \
	"deb http://deb.debian.org/debian bookworm-updates main" \
	"deb http://deb.debian.org/debian-security bookworm-security main" >"$log" 2>&1 ||
	{ tail -n 20 "$log"; say "mmdebstrap failed"; exit 1; }
cp /etc/resolv.conf "$root/etc/resolv.conf"

# a clone of HEAD, as CI and a user get it: uncommitted changes are not in it
[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
	say "note: uncommitted changes in $repo are not part of this check"
git clone -q --no-local "$repo" "$root/root/uzswap" || { say "git clone failed"; exit 1; }
say "cloned $(git -C "$root/root/uzswap" log -1 --format='%h %s' | cut -c1-70)"

bind /proc /proc rbind
bind /sys /sys rbind
bind /dev /dev rbind
if [ "$cold" = 0 ]; then
	mkdir -p "$ccache_dir"
	bind "$ccache_dir" /var/tmp/uzswap-ccache
fi

# One README command in the root, with a clean environment and no
# standard input, as CI runs it. Progress: the command's last line every
# 30 s; its whole output goes to the log.
run_in_root() {	# name command
	local name=$1 cmd=$2 out=$base/$(basename "$root")-$1.out start=$SECONDS pid rc
	say "$name: $cmd (output: $out)"
	chroot "$root" /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME=/root TERM=dumb CI=true LANG=C.UTF-8 \
		/bin/bash -c "cd /root/uzswap && $cmd" </dev/null >"$out" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null && sleep 1; done
		kill -0 "$pid" 2>/dev/null &&
			say "$name: $((SECONDS - start)) s, $(tail -c 300 "$out" | tr '\r' '\n' | grep -v '^ *$' | tail -n 1 | cut -c1-90)"
	done
	wait "$pid"
	rc=$?
	say "$name: exit $rc after $((SECONDS - start)) s; last lines:"
	tail -n 5 "$out" | sed 's/^/    /'
	return $rc
}

status=0
if [ "$only" != ci ]; then
	run_in_root demo "DEMO_MB=256 ./scripts/demo.sh" || status=1
fi
if [ "$only" != demo ]; then
	run_in_root ci "bash .ci/run" || status=1
fi
if [ $status -eq 0 ]; then
	say "passed in $((SECONDS - t0)) s"
else
	say "FAILED after $((SECONDS - t0)) s"
fi
exit $status
