# SPDX-License-Identifier: MIT
# Busy loops beside a benchmark (sourced by bench.sh and overhead.sh): one
# per CPU, at our nice, each in a session of its own as another service's
# work would be (with autogrouping on, the scheduler shares the CPUs
# between sessions first).

HOG_PIDS=
# hogs_start: 0, or 1 with a message when a loop is not its session's
# leader (then none is left running)
hogs_start() {
	local i
	for i in $(seq "$(nproc)"); do
		setsid sh -c 'while :; do :; done' &
		HOG_PIDS="$HOG_PIDS $!"
	done
	# setsid runs the loop itself when it is no group leader, as here:
	# then each pid is its session's, and kill reaches every loop
	sleep 0.2
	for i in $HOG_PIDS; do
		# the session is field 6 of /proc/PID/stat (after "(comm)")
		[ "$(sed 's/.*) //' "/proc/$i/stat" 2>/dev/null | cut -d' ' -f4)" = "$i" ] && continue
		hogs_stop
		echo "a busy loop is not its session's leader (setsid forked)" >&2
		return 1
	done
}
hogs_stop() {
	[ -n "$HOG_PIDS" ] || return 0
	kill $HOG_PIDS 2>/dev/null
	wait $HOG_PIDS 2>/dev/null
	HOG_PIDS=
}
