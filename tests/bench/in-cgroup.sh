#!/bin/sh
# SPDX-License-Identifier: MIT
# in-cgroup.sh CGROUP_DIR COMMAND...: run COMMAND in that cgroup (v1 or
# v2 directory), moving this shell there first, so that nothing of the
# command is charged elsewhere.
cg=$1
shift
echo $$ >"$cg/cgroup.procs" || exit 99
exec "$@"
