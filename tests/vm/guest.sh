#!/bin/busybox sh
# SPDX-License-Identifier: MIT
# /init of tests/vm/cgv2.sh's guest: the memory controller on cgroup v2
# (which the build machine has on v1), uzswapd on its defaults with
# automatic eviction, and jobs under the agent in v2 cgroups limited by
# memory.max or memory.high.  No kernel swap.  Prints TAP between
# "=== TAP BEGIN" and "=== TAP END", then the daemon's log and the
# kernel's, and powers off.
/bin/busybox --install -s /bin
export PATH=/bin:/usr/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
CG=/sys/fs/cgroup
mount -t cgroup2 cgroup2 $CG
echo "=== GUEST $(uname -r) $(nproc) CPUs, $(awk '/MemTotal/ { print $2 }' /proc/meminfo) kB"

SOCK=/run/uzswap.sock AGENT=/usr/lib/libuzswap.so
FILL=/usr/bin/vm_fill
JOB_MAX_S=150
n=0 failed=0
ok() { n=$((n + 1)); echo "ok $n - $*"; }
not_ok() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $*"; }
skip() { n=$((n + 1)); echo "ok $n - $* # SKIP"; }
check() {	# description command...: ok when the command succeeds
	d=$1
	shift
	if "$@"; then ok "$d"; else not_ok "$d"; fi
}
# the guest's clock before each case (where a slow run spent its time)
stamp() { echo "# $(cut -d' ' -f1 /proc/uptime) s: $*"; }
# key's value in a flat-keyed cgroup file (memory.events)
key() { awk -v k="$2" '$1 == k { print $2 }' "$1"; }

# the line of cgroup $1 in `uzswapctl stats -g` (raw, bytes): CGROUP
# USAGE LIMIT PRESSURE, "" when the daemon has no client there
cg_line() {
	uzswapctl --socket "$SOCK" stats -g -r -n -b 2>/dev/null |
		awk -v c="$1" '$1 == c { print $1, $3, $4, $6 }'
}

# run_job NAME MIB RATE SECONDS [none]: vm_fill (MIB at RATE MB/s, 0 as
# fast as it can, checked after SECONDS) in cgroup NAME, in the
# background ($job); under the agent unless the last word is "none"
run_job() {
	agent=$AGENT
	[ "${5:-}" = none ] && agent=
	LD_PRELOAD=$agent UZSWAP_SOCKET=$SOCK \
		sh -c 'echo $$ >"$1/cgroup.procs" && shift && exec "$@"' sh "$CG/$1" \
		$FILL "$2" "$3" "$4" >/tmp/${1##*/}.out 2>&1 &
	job=$!
	# a job that crawls (throttled at memory.high) is ended after
	# JOB_MAX_S, and says so, rather than running into the boot's timeout
	(sleep $JOB_MAX_S; kill -0 $job 2>/dev/null && echo "# $1 still ran after $JOB_MAX_S s: killed" &&
		{ stuck_report $job "$CG/$1"; kill -9 $job; }) &
}
# stuck_report PID CGROUP: what a job past its time was doing, as TAP
# comments: each thread's state, wait channel and system call, its
# cgroup's files, its line in the daemon's stats and the daemon's log
stuck_report() { stuck_facts "$@" 2>&1 | sed 's/^/# stuck: /' | cut -c1-300; }
stuck_facts() {
	for t in /proc/$1/task/*; do
		echo "thread ${t##*/} $(cat $t/comm): $(cut -d' ' -f3 $t/stat)" \
			"wchan $(cat $t/wchan) syscall $(cat $t/syscall)"
	done
	for f in memory.current memory.high memory.max memory.events memory.pressure; do
		echo "$f: $(tr '\n' ' ' <$2/$f)"
	done
	grep -E '^(anon|anon_thp|file|inactive_anon|active_anon) ' $2/memory.stat | tr '\n' ' '
	echo
	# bounded: a daemon that does not answer must not keep the job alive
	timeout 5 uzswapctl --socket "$SOCK" stats -r -b 2>&1
	tail -n 40 /tmp/uzswapd.log
}
# the job's own lines, as TAP comments
job_said() { sed 's/^/# /' /tmp/${1##*/}.out | cut -c1-200; }
# limited_run NAME FILE RATE: 192 MiB at RATE under the agent in a new
# cgroup NAME whose FILE (memory.max, memory.high) is 128 MiB, waited
# for: its exit in $rc
limited_run() {
	mkdir $CG/$1 && echo $((128 << 20)) >$CG/$1/$2
	run_job $1 192 $3 3
	wait $job
	rc=$?
	job_said $1
}

echo "=== TAP BEGIN"
echo "TAP version 13"
if echo +memory >$CG/cgroup.subtree_control; then
	ok "the memory controller is enabled on cgroup v2"
else
	not_ok "the memory controller is enabled on cgroup v2"
	echo "1..$n"
	echo "=== TAP END"
	reboot -f
fi

# the kernel's command line may name the cases to run (uzonly=a,b: a
# quick look while working on one) and ask for the daemon's debug log
only=$(sed -n 's/.*uzonly=\([a-z,]*\).*/\1/p' /proc/cmdline)
wanted() { [ -z "$only" ] || case ,$only, in *,$1,*) ;; *) return 1 ;; esac; }
verbose=
grep -q uzverbose /proc/cmdline && verbose=-v

printf '[daemon]\ncodec=lz4\nauto=on\n' >/etc/uzswapd.conf
# start_daemon: uzswapd on $SOCK ($daemon), its log added to
# /tmp/uzswapd.log; 0 once it listens
start_daemon() {
	rm -f $SOCK
	uzswapd $verbose --socket $SOCK --config /etc/uzswapd.conf >>/tmp/uzswapd.log 2>&1 &
	daemon=$!
	for i in $(seq 100); do [ -S $SOCK ] && return 0; sleep 0.1; done
	return 1
}
# until_high DIR WANT: wait up to 5 s for DIR's memory.high to be WANT
# ("max", or "num": a number); 0 when it is
until_high() {
	for i in $(seq 50); do
		case $2:$(cat $1/memory.high) in
		max:max | num:[0-9]*) return 0 ;;
		esac
		sleep 0.1
	done
	return 1
}
start_daemon
check "uzswapd starts on cgroup v2" [ -S $SOCK ]

# 1. The premise: without the agent, 256 MiB in 128 MiB is OOM-killed
case_control() {
	stamp control
	mkdir $CG/control && echo $((128 << 20)) >$CG/control/memory.max
	run_job control 256 0 0 none
	wait $job
	rc=$?
	check "without the agent, 256 MiB in a memory.max of 128 MiB is OOM-killed (exit $rc)" \
		[ "$rc" = 137 -a "$(key $CG/control/memory.events oom_kill)" -ge 1 ]
	rmdir $CG/control
}
wanted control && case_control

# 2. memory.max: 192 MiB at 20 MB/s in 128 MiB under the agent finishes,
# every byte right; the daemon reads the v2 limit and pressure, and
# brakes the cgroup with memory.high while it manages it
case_jobmax() {
	stamp jobmax
	mkdir $CG/jobmax && echo $((128 << 20)) >$CG/jobmax/memory.max
	run_job jobmax 192 20 3
	# while it runs: the daemon sees the cgroup, its limit and its pressure
	sleep 6
	line=$(cg_line /jobmax)
	brake=$(cat $CG/jobmax/memory.high)
	echo "# stats -g while it runs: ${line:-(none)}; memory.high $brake"
	wait $job
	rc=$?
	job_said jobmax
	check "under the agent, 192 MiB at 20 MB/s in a memory.max of 128 MiB finishes, every byte right (exit $rc)" [ "$rc" = 0 ]
	check "... with no OOM kill (memory.events oom_kill $(key $CG/jobmax/memory.events oom_kill))" \
		[ "$(key $CG/jobmax/memory.events oom_kill)" = 0 ]
	set -- $line
	check "... and the daemon read its v2 limit (CG-LIMIT ${3:--})" [ "${3:-}" = $((128 << 20)) ]
	case ${4:-} in
	*"(m)"*) not_ok "... and its own memory.pressure (PRESSURE $4: the machine's)" ;;
	[0-9]*%) ok "... and its own memory.pressure (PRESSURE $4)" ;;
	*) not_ok "... and its own memory.pressure (PRESSURE ${4:--})" ;;
	esac
	case $brake in
	[0-9]*) check "... while it ran, its memory.high stood under memory.max ($brake)" \
		[ "$brake" -lt $((128 << 20)) ] ;;
	*) not_ok "... while it ran, its memory.high stood under memory.max ($brake)" ;;
	esac
	# put back once the daemon has seen the client go
	for i in $(seq 50); do
		[ "$(cat $CG/jobmax/memory.high)" = max ] && break
		sleep 0.1
	done
	check "... and is max again after it ($(cat $CG/jobmax/memory.high))" \
		[ "$(cat $CG/jobmax/memory.high)" = max ]
	rmdir $CG/jobmax
	check "uzswapd is still running after the cgroup went away" kill -0 $daemon
}
wanted jobmax && case_jobmax

# 3. memory.high alone (no max), the same job: the kernel would throttle
# it, the agent too, as soon as it is over; the daemon keeps it under
case_jobhigh() {
	stamp jobhigh
	limited_run jobhigh memory.high 20
	high=$(key $CG/jobhigh/memory.events high)
	check "under the agent, 192 MiB at 20 MB/s in a memory.high of 128 MiB finishes in time, every byte right (exit $rc; $high high events)" \
		[ "$rc" = 0 ]
	rmdir $CG/jobhigh
}
wanted jobhigh && case_jobhigh

# 4. As fast as it can (about 90 MB/s in this guest): on cgroup v1 the
# job is held in the freezer while its memory is taken out; here it is
# the brake that slows it (without it: OOM-killed)
case_jobfast() {
	stamp jobfast
	limited_run jobfast memory.max 0
	check "under the agent, 192 MiB as fast as it can in a memory.max of 128 MiB finishes, every byte right (exit $rc)" \
		[ "$rc" = 0 -a "$(key $CG/jobfast/memory.events oom_kill)" = 0 ]
	rmdir $CG/jobfast
}
wanted jobfast && case_jobfast

# 5. A limit lowered at run time: the daemon takes the job below it
case_jobmove() {
	stamp jobmove
	mkdir $CG/jobmove
	run_job jobmove 192 0 20
	sleep 8
	use=$(cat $CG/jobmove/memory.current)
	new=$((use + (16 << 20)))
	echo "# jobmove uses $use bytes; memory.max lowered to $new"
	echo $new >$CG/jobmove/memory.max
	sleep 6
	after=$(cat $CG/jobmove/memory.current)
	echo "# 6 s later it uses $after"
	check "a memory.max lowered at run time is followed (usage $after below 85 % of $new)" \
		[ "$after" -lt $((new / 100 * 85)) ]
	wait $job
	rc=$?
	job_said jobmove
	check "... and that job finishes, every byte right (exit $rc)" [ "$rc" = 0 ]
	rmdir $CG/jobmove
}
wanted jobmove && case_jobmove

# 6. The brake's bookkeeping, three slow jobs at once: a value someone
# else writes is theirs (until the loop starts over: a reload, a new
# client); a reload turning auto off puts the value back (and on again
# brakes again); a daemon killed with SIGKILL has the next one put back
# what it lowered
case_brakes() {
	stamp brakes
	for c in ka kr kk; do
		mkdir $CG/$c && echo $((128 << 20)) >$CG/$c/memory.max
		run_job $c 32 8 40
		eval pid_$c=$job
	done
	check "brakes: each job's cgroup is braked" \
		until_high $CG/ka num && until_high $CG/kr num && until_high $CG/kk num
	echo max >$CG/ka/memory.high
	sleep 3 # a look or more (auto-interval 2 s)
	check "brakes: a memory.high someone else wrote is left to them ($(cat $CG/ka/memory.high))" \
		[ "$(cat $CG/ka/memory.high)" = max ]
	printf '[daemon]\ncodec=lz4\nauto=off\n' >/etc/uzswapd.conf
	kill -HUP $daemon
	until_high $CG/kr max
	check "brakes: a reload turning auto off puts memory.high back ($(cat $CG/kr/memory.high))" \
		[ "$(cat $CG/kr/memory.high)" = max ]
	# (on again, the loop starts over: every limited cgroup is braked)
	printf '[daemon]\ncodec=lz4\nauto=on\n' >/etc/uzswapd.conf
	kill -HUP $daemon
	until_high $CG/kr num
	check "brakes: and on again brakes again ($(cat $CG/kr/memory.high))" \
		[ "$(cat $CG/kr/memory.high)" != max ]
	kill -9 $daemon
	wait $daemon 2>/dev/null
	left=$(cat $CG/kk/memory.high)
	start_daemon
	sleep 0.5
	check "brakes: a daemon started after a SIGKILL puts back what the killed one lowered ($left, then the log: $(grep -c 'putting back' /tmp/uzswapd.log) put back)" \
		grep -q "putting back $CG/kk/memory.high" /tmp/uzswapd.log
	for c in ka kr kk; do
		eval wait \$pid_$c
		rc=$?
		job_said $c
		check "brakes: job $c finishes, every byte right (exit $rc)" [ "$rc" = 0 ]
	done
	for c in ka kr kk; do
		until_high $CG/$c max
		rmdir $CG/$c
	done
}
wanted brakes && case_brakes

# 7. An ancestor's limit (a slice's) is not braked: it binds siblings
# uzswapd does not manage
case_ancestor() {
	stamp ancestor
	mkdir $CG/slice && echo $((192 << 20)) >$CG/slice/memory.max &&
		echo +memory >$CG/slice/cgroup.subtree_control && mkdir $CG/slice/job
	run_job slice/job 32 8 2
	sleep 3
	high=$(cat $CG/slice/memory.high)
	wait $job
	rc=$?
	job_said slice/job
	check "a limited ancestor is not braked (its memory.high: $high), and its job finishes (exit $rc)" \
		[ "$high" = max -a "$rc" = 0 ]
	rmdir $CG/slice/job $CG/slice
}
wanted ancestor && case_ancestor

# 8. v2 has no usage threshold: memory.events.local wakes the daemon
# when the job meets the brake's memory.high.  With auto-interval at its
# longest (600 s), the daemon would look at the limit 150 s apart, and
# the job, throttled at the brake meanwhile, would not finish in 60 s
case_events() {
	stamp events
	kill $daemon
	wait $daemon
	printf '[daemon]\ncodec=lz4\nauto=on\nauto-interval=600000\n' >/etc/uzswapd.conf
	start_daemon
	max_was=$JOB_MAX_S
	JOB_MAX_S=60
	limited_run events memory.max 20
	JOB_MAX_S=$max_was
	check "with the limit polled 150 s apart, 192 MiB at 20 MB/s in a memory.max of 128 MiB finishes within 60 s: memory.events.local woke the daemon (exit $rc; $(key $CG/events/memory.events high) high events)" \
		[ "$rc" = 0 -a "$(key $CG/events/memory.events oom_kill)" = 0 ]
	until_high $CG/events max
	rmdir $CG/events
	kill $daemon
	wait $daemon
	printf '[daemon]\ncodec=lz4\nauto=on\n' >/etc/uzswapd.conf
	start_daemon
}
wanted events && case_events

# The kernel's log: no warning, BUG, oops or hung task, from any case
case_kernel_log() {
	dmesg | grep -E 'WARNING:|BUG:|Oops|blocked for more than|hung_task' >/tmp/complaints
	sed 's/^/# /' /tmp/complaints
	check "the kernel logged no warning, BUG, oops or hung task" [ ! -s /tmp/complaints ]
}
case_kernel_log

check "uzswapd is still running at the end" kill -0 $daemon
kill $daemon
wait $daemon
rc=$?
check "uzswapd stops on SIGTERM (exit $rc)" [ $rc = 0 ]
echo "1..$n"
echo "=== TAP END"
echo "=== DAEMON LOG BEGIN"
lines=60
[ -n "$verbose" ] && lines=600
tail -n $lines /tmp/uzswapd.log
echo "=== DAEMON LOG END"
echo 1 >/proc/sys/kernel/printk
echo "=== DMESG BEGIN"
dmesg | tail -n 80
echo "=== DMESG END"
echo "=== GUEST DONE"
reboot -f
