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
# the tests need (the root shares this kernel, /sys and /dev).
# Exit 0 when every command run passed.
#
# Everything that mounts or runs in the root (mmdebstrap, the binds, the
# README's commands) runs in a mount and pid namespace of its own
# (unshare): when this script ends, however it ends, the kernel kills every
# process in it and drops every mount, so that nothing is left bound under
# the root. Only then, in this machine's own mount namespace, is the root
# removed, after checking that nothing is mounted under it there.
set -uo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.." || exit 2
repo=$PWD
t0=${UZ_FRESH_T0:-$EPOCHSECONDS}
say() { printf 'fresh: [%4ds] %s\n' $((EPOCHSECONDS - t0)) "$*"; }

if [ "${1:-}" = --inner ]; then
	# In the namespaces, as their init (pid 1): exiting kills every
	# process in them. SIGTERM (sent by the outer script) ends it.
	trap 'exit 130' TERM HUP
	root=$UZ_FRESH_ROOT log=$UZ_FRESH_LOG base=$UZ_FRESH_BASE
	# the binds below must stay in here: refuse to mount anything unless
	# every mount of this namespace is private (no propagation to the host)
	if grep -qE ' (shared|master):' /proc/self/mountinfo; then
		say "the mount namespace is not private; not mounting anything"
		exit 1
	fi

	mmdebstrap --variant=minbase bookworm "$root" \
		"deb http://deb.debian.org/debian bookworm main" \
		"deb http://deb.debian.org/debian bookworm-updates main" \
		"deb http://deb.debian.org/debian-security bookworm-security main" >"$log" 2>&1 &
	wait $! || { tail -n 20 "$log"; say "mmdebstrap failed"; exit 1; }
	cp /etc/resolv.conf "$root/etc/resolv.conf"

	# a clone of HEAD, as CI and a user get it: uncommitted changes are not in it
	[ -z "$(git -C "$repo" status --porcelain --untracked-files=no)" ] ||
		say "note: uncommitted changes in $repo are not part of this check"
	git clone -q --no-local "$repo" "$root/root/uzswap" || { say "git clone failed"; exit 1; }
	say "cloned $(git -C "$root/root/uzswap" log -1 --format='%h %s' | cut -c1-70)"

	# /proc of this pid namespace (its processes only); this machine's
	# /sys and /dev; the ccache
	mount -t proc proc "$root/proc" || { say "mount of /proc failed"; exit 1; }
	mount --rbind /sys "$root/sys" || { say "bind of /sys failed"; exit 1; }
	mount --rbind /dev "$root/dev" || { say "bind of /dev failed"; exit 1; }
	if [ "$UZ_FRESH_COLD" = 0 ]; then
		mkdir -p "$UZ_FRESH_CCACHE" "$root/var/tmp/uzswap-ccache"
		mount --bind "$UZ_FRESH_CCACHE" "$root/var/tmp/uzswap-ccache" ||
			{ say "bind of the ccache $UZ_FRESH_CCACHE failed"; exit 1; }
	fi

	# One README command in the root, with a clean environment and no
	# standard input, as CI runs it. Progress: the command's last line
	# every 30 s; its whole output goes to the log.
	run_in_root() {	# name command
		local name=$1 cmd=$2 out=$base/$(basename "$root")-$1.out start=$EPOCHSECONDS pid rc
		say "$name: $cmd (output: $out)"
		chroot "$root" /usr/bin/env -i --default-signal PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root TERM=dumb CI=true LANG=C.UTF-8 \
			/bin/bash -c "cd /root/uzswap && $cmd" </dev/null >"$out" 2>&1 &
		pid=$!
		while kill -0 "$pid" 2>/dev/null; do
			# (sleep in the background: a SIGTERM ends the wait at once)
			for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null && { sleep 1 & wait $!; }; done
			kill -0 "$pid" 2>/dev/null &&
				say "$name: $((EPOCHSECONDS - start)) s, $(tail -c 300 "$out" | tr '\r' '\n' | grep -v '^ *$' | tail -n 1 | cut -c1-90)"
		done
		wait "$pid"
		rc=$?
		say "$name: exit $rc after $((EPOCHSECONDS - start)) s; last lines:"
		tail -n 5 "$out" | sed 's/^/    /'
		return $rc
	}

	status=0
	if [ "$UZ_FRESH_ONLY" != ci ]; then
		run_in_root demo "DEMO_MB=256 ./scripts/demo.sh" || status=1
	fi
	if [ "$UZ_FRESH_ONLY" != demo ]; then
		run_in_root ci "bash .ci/run" || status=1
	fi
	exit $status
fi

usage() { echo "usage: $0 [--cold] [--keep] [--only demo|ci]" >&2; exit 2; }
cold=0 keep=0 only=
while [ $# -gt 0 ]; do
	case $1 in
	--cold) cold=1 ;;
	--keep) keep=1 ;;
	--only)
		[ $# -ge 2 ] || { echo "$0: --only needs a value: demo or ci" >&2; usage; }
		case $2 in demo|ci) only=$2 ;; *) echo "$0: --only takes demo or ci, not '$2'" >&2; usage ;; esac
		shift ;;
	*) usage ;;
	esac
	shift
done
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (chroot, mounts)" >&2; exit 2; }
for c in unshare setpriv flock; do
	command -v $c >/dev/null || { echo "$0: $c (util-linux) not found" >&2; exit 2; }
done

base=${UZ_FRESH_DIR:-/var/tmp/uzswap-fresh}
ccache_dir=${UZ_CCACHE:-/var/tmp/uzswap-ccache}
mkdir -p "$base" && base=$(readlink -f "$base") || exit 1

# The mount points at or below a directory in this mount namespace, from
# /proc/self/mountinfo (which escapes space, tab, newline and backslash).
mounts_under() {	# dir
	local _id _parent _dev _fsroot mp _rest
	while read -r _id _parent _dev _fsroot mp _rest; do
		mp=${mp//\\040/ } mp=${mp//\\011/$'\t'}
		mp=${mp//\\012/$'\n'} mp=${mp//\\134/\\}
		case $mp in "$1"|"$1"/*) printf '%s\n' "$mp" ;; esac
	done </proc/self/mountinfo
}
# A root in use: a check-fresh running now holds its lock, or (an older
# check-fresh) a process has its root or working directory in it.
in_use() {	# dir
	flock -n "$1" true 2>/dev/null || return 0
	find /proc/[0-9]*/root /proc/[0-9]*/cwd -maxdepth 0 -printf '%l\n' 2>/dev/null |
		D=$1 awk '$0 == ENVIRON["D"] || index($0, ENVIRON["D"] "/") == 1 { f = 1 } END { exit !f }'
}
# How to remove a root that is not in use, safely: unmount what is still
# bound under it (made private first, so that no unmount reaches this
# machine's own mounts), then remove it without crossing file systems.
removal_advice() {	# dir
	local top
	top=$(mounts_under "$1" | awk '
		{ for (i = 1; i <= n; i++) if (index($0, t[i]) == 1) next; t[++n] = $0 "/"; print }')
	if [ -n "$top" ]; then
		say "  mounts left under it (an interrupted older check-fresh); do NOT rm it before they are gone:"
		while IFS= read -r m; do say "    mount --make-rprivate $(printf %q "$m") && umount -R $(printf %q "$m")"; done <<<"$top"
		say "  then check that grep -F $(printf %q "$(basename "$1")") /proc/self/mountinfo prints nothing, then:"
	fi
	say "    rm -rf --one-file-system $(printf %q "$1")"
}

# roots that earlier runs left behind
for d in "$base"/root.*; do
	[ -d "$d" ] && [ ! -L "$d" ] || continue
	if in_use "$d"; then
		say "note: $d is in use by a check-fresh running now; leave it"
	else
		say "warning: $d was left by an earlier run; to remove it:"
		removal_advice "$d"
	fi
done

if ! command -v mmdebstrap >/dev/null; then
	say "installing mmdebstrap"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mmdebstrap >/dev/null ||
		{ say "could not install mmdebstrap"; exit 1; }
fi

upid="" ipid="" spid="" stopping=0 interrupted=0
# Ctrl-C, SIGTERM, SIGHUP: end the namespaces' init, and with it every
# process in them (SIGKILL if it has not ended within 5 s); then clean up.
stop() {
	interrupted=1
	[ -n "$upid" ] && [ $stopping = 0 ] || return 0
	stopping=1
	say "interrupted: stopping everything in the root"
	if [ -n "$ipid" ]; then kill -TERM "$ipid"; else kill -KILL "$upid"; fi 2>/dev/null
	sleep 5 &
	spid=$!
}
trap stop INT TERM HUP

root=$(mktemp -d "$base/root.XXXXXX") || exit 1
log=$base/$(basename "$root").log
# held until this script ends: tells later runs that this root is in use
exec 9<"$root" && flock -n 9 || { say "could not lock $root"; exit 1; }
say "Debian 12 minbase root in $root (log: $log)"

export UZ_FRESH_T0=$t0 UZ_FRESH_ROOT=$root UZ_FRESH_LOG=$log UZ_FRESH_BASE=$base \
	UZ_FRESH_ONLY=$only UZ_FRESH_COLD=$cold UZ_FRESH_CCACHE=$ccache_dir
# setpriv: unshare gets SIGKILL if this script dies (even of SIGKILL);
# --kill-child: the namespaces' init gets SIGKILL if unshare dies.
setpriv --pdeathsig KILL \
	unshare --mount --propagation private --fork --pid --mount-proc --kill-child=SIGKILL \
	/bin/bash "$self" --inner 9<&- &
upid=$!
[ $interrupted = 1 ] && stop
# the init, as this machine sees it: unshare's only child
for _ in $(seq 100); do
	[ $stopping = 0 ] || break
	ipid=$(cat /proc/$upid/task/$upid/children 2>/dev/null) || break
	ipid=${ipid%% *}
	[ -n "$ipid" ] && break
	sleep 0.02
done
# wait returns early when a trapped signal arrives: wait until unshare,
# and so the init and every process in the namespaces, is gone
while :; do
	if [ -n "$spid" ]; then wait -n "$upid" "$spid"; else wait "$upid"; fi 2>/dev/null
	status=$?
	kill -0 "$upid" 2>/dev/null || break
	if [ -n "$spid" ] && ! kill -0 "$spid" 2>/dev/null; then
		say "still running after 5 s: SIGKILL"
		kill -KILL "${ipid:-$upid}" 2>/dev/null
		spid=
	fi
done
[ -n "$spid" ] && kill "$spid" 2>/dev/null
[ -n "$ipid" ] && while kill -0 "$ipid" 2>/dev/null; do sleep 0.1; done

# The namespaces are gone, with their mounts. Remove the root, never
# following into a mount: refuse if anything is mounted under it here.
left=$(mounts_under "$root")
if [ -n "$left" ]; then
	say "mounts under $root; not removing it:"
	printf '    %s\n' "$left"
	removal_advice "$root"
elif [ "$keep" = 1 ]; then
	say "kept $root"
else
	say "removing $root"
	rm -rf --one-file-system "$root"
	if [ -e "$root" ]; then
		say "$root is not all removed$([ $interrupted = 1 ] && echo " (interrupted)"); nothing is mounted under it; remove it with:"
		removal_advice "$root"
	fi
fi

if [ $interrupted = 1 ]; then
	say "interrupted after $((EPOCHSECONDS - t0)) s"
	exit 130
elif [ $status -eq 0 ]; then
	say "passed in $((EPOCHSECONDS - t0)) s"
else
	say "FAILED after $((EPOCHSECONDS - t0)) s"
fi
exit $status
