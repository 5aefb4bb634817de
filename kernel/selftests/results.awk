# SPDX-License-Identifier: MIT
# Reads a guest serial log (CRs removed) and prints one line per result of the
# mm selftests that /init ran, tab-separated:
#   <id> <n> <status> <context> <description> <note>
# <n> numbers a program's results in order; <status> is PASS, XFAIL, SKIP or
# FAIL; <context> is the last "[RUN] ..." (cow, gup_longterm) or "Run test:"
# (khugepaged) line before the result, <note> a reason or exit code that is
# not part of the result's name. Three output styles are understood:
#   kselftest TAP          ok 3 desc / not ok 3 desc / ok 3 # SKIP desc
#   uffd-unit-tests        Testing <name>... done|skipped [reason: x]|failed [reason: x]
#   khugepaged             <desc>.... ESC[32mOK ESC[0m  (31 fail, 33 skip)
# Each program also gets a result of its own: "ran to the end" (killed by a
# signal or its timeout: FAIL), or, if it printed no result at all,
# "exit status" (0 PASS, 4 SKIP, else FAIL).
# Only mawk/POSIX awk features: CI machines have mawk.

function clean(s) {
	gsub(/\033\[[0-9;]*m/, "", s)
	gsub(/\t/, " ", s)
	gsub(/[\001-\037]/, "", s)
	sub(/^[ ]+/, "", s)
	sub(/[ .]+$/, "", s)
	return s
}

function emit(status, desc, note) {
	n++
	printf "%s\t%d\t%s\t%s\t%s\t%s\n", id, n, status, ctx, clean(desc), clean(note)
}

# a uffd test whose result never came (the program died in it)
function flush_pending(note) {
	if (pending != "") emit("FAIL", pending, note)
	pending = ""
}

/^=== SELFTEST BEGIN / {
	id = $4; rc = $5 + 0; secs = $6 + 0
	n = 0; ctx = ""; pending = ""; inblock = 1; prev = ""
	next
}
/^=== SELFTEST END / {
	if (!inblock) next
	flush_pending("no result: the program ended inside this test")
	if (n == 0) {
		st = rc == 0 ? "PASS" : (rc == 4 ? "SKIP" : "FAIL")
		printf "%s\texit\t%s\t\texit status\trc %d in %d s\n", id, st, rc, secs
	}
	st = rc < 128 ? "PASS" : "FAIL"
	note = "rc " rc " in " secs " s"
	if (rc == 137) note = note " (killed: timeout?)"
	printf "%s\tend\t%s\t\tran to the end (exit status below 128)\t%s\n", id, st, note
	inblock = 0
	next
}
!inblock { next }

{
	line = $0
	sub(/[ \t]+$/, "", line)
}

# contexts
line ~ /^# \[RUN\] / { ctx = clean(substr(line, 9)); next }
line ~ /^Run test: / { ctx = clean(substr(line, 11)); next }

# kselftest TAP (top level only: nested TAP is prefixed with "# ")
line ~ /^(not )?ok [0-9]+( |$)/ {
	notok = line ~ /^not /
	rest = line
	sub(/^(not )?ok [0-9]+ */, "", rest)
	st = notok ? "FAIL" : "PASS"
	note = ""
	if (rest ~ /^# *SKIP/) { st = "SKIP"; sub(/^# *SKIP */, "", rest) }
	else if (rest ~ /^# *XFAIL/) { st = "XFAIL"; sub(/^# *XFAIL */, "", rest) }
	else if (rest ~ /^# *error/) { st = "FAIL"; sub(/^# *error */, "", rest) }
	else if (match(rest, / # *SKIP/)) {
		st = "SKIP"; note = substr(rest, RSTART + RLENGTH); rest = substr(rest, 1, RSTART - 1)
	}
	emit(st, rest, note)
	next
}

# uffd-unit-tests: "Testing <name>... " then the result, usually on the
# same line, after any output of the test itself
line ~ /^Testing .*\.\.\. ?/ {
	flush_pending("no result before the next test")
	i = index(line, "... ")
	if (i == 0) { pending = substr(line, 9); sub(/\.\.\.$/, "", pending); next }
	pending = substr(line, 9, i - 9)
	line = substr(line, i + 4)
}
pending != "" {
	if (line ~ /(^|[ .])done$/) { emit("PASS", pending, ""); pending = ""; next }
	if (match(line, /skipped \[reason: /)) {
		note = substr(line, RSTART + RLENGTH); sub(/\]$/, "", note)
		emit("SKIP", pending, note); pending = ""; next
	}
	if (match(line, /failed \[reason: /)) {
		note = substr(line, RSTART + RLENGTH); sub(/\]$/, "", note)
		emit("FAIL", pending, note); pending = ""; next
	}
	next
}

# khugepaged: colored OK / Fail / Skip after the test's own message
match(line, /\033\[3[123]m/) {
	color = substr(line, RSTART + 3, 1)
	desc = substr(line, 1, RSTART - 1)
	word = substr(line, RSTART + RLENGTH)
	if (clean(desc) == "") desc = prev
	st = color == "2" ? "PASS" : (color == "1" ? "FAIL" : "SKIP")
	emit(st, desc, word)
	next
}

{ if (clean(line) != "") prev = line }
