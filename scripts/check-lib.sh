# SPDX-License-Identifier: MIT
# Sourced by test.sh, check-clang.sh and check-sanitize.sh: what they share.

# copy_sources SRC DEST: a copy of the sources without SRC's build products
# (an in-place configured tree cannot also be built out of tree): in a git
# checkout, the files git knows of and the new ones it does not ignore;
# elsewhere (a make dist tarball), what make distdir copies when the tree
# is configured, else the whole tree less objects, libraries and
# configure's results. Sets $how; returns 1 when DEST has no configure.ac.
# Prints only what make distdir prints.
copy_sources() {
	local src=$1 dest=$2
	mkdir -p "$dest" || return 1
	if command -v git >/dev/null && [ "$(git -C "$src" rev-parse --show-toplevel 2>/dev/null)" = "$src" ]; then
		how="the files git knows of"
		git -C "$src" ls-files -z --cached --others --exclude-standard |
			(cd "$src" && xargs -0 cp --parents -t "$dest" 2>/dev/null)
	elif [ -f "$src/Makefile" ]; then
		how="no git checkout: make distdir"
		make -C "$src" -s distdir distdir="$dest" || return 1
	else
		how="no git checkout, not configured: the whole tree less build products"
		tar -C "$src" --exclude='*.o' --exclude='*.lo' --exclude='*.la' --exclude=.libs \
			--exclude=.deps --exclude=./config.status --exclude=./config.log \
			--exclude=./config.cache --exclude=./autom4te.cache --exclude=./Makefile \
			--exclude=./libtool -cf - . | tar -C "$dest" -xf -
	fi
	[ -f "$dest/configure.ac" ]
}

# check_summary OUT RC: after `make check >OUT 2>&1` exited RC, in the
# build directory: print the per-test lines and each failure's log, and
# set $pass, $fail and $skip from the harness's totals (a failed make
# with no failed test, such as a build error, counts as one failure).
check_summary() {
	local out=$1 rc=$2 log
	grep -E '^(PASS|FAIL|SKIP|XFAIL|XPASS|ERROR):' "$out"
	if [ "$rc" -ne 0 ]; then
		for log in $(grep -lE '^:test-result: (FAIL|ERROR)' $(find tests -name '*.trs') 2>/dev/null); do
			echo "=== ${log%.trs}.log"
			tail -n 60 "${log%.trs}.log"
		done
		grep -q '^# TOTAL' "$out" || tail -n 40 "$out"
	fi
	pass=$(check_count "$out" PASS)
	fail=$(( $(check_count "$out" FAIL) + $(check_count "$out" ERROR) + $(check_count "$out" XPASS) ))
	skip=$(check_count "$out" SKIP)
	[ "$rc" -ne 0 ] && [ "$fail" -eq 0 ] && fail=1
	return 0
}
check_count() { awk -v k="# $2:" '$1" "$2 == k { s += $3 } END { print s + 0 }' "$1"; }
