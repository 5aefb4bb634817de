#!/bin/sh
# SPDX-License-Identifier: MIT
# kernel/check.sh's judging of the mm selftests and their rerun, on
# crafted serial logs (no kernel build, no boot): a real failure is never
# reported as flaky or passed (kernel/selftests/judge-cases.sh).
: "${top_srcdir:=.}"
command -v bash >/dev/null || { echo "SKIP: no bash"; exit 77; }
exec bash "$top_srcdir/kernel/selftests/judge-cases.sh"
