/* SPDX-License-Identifier: MIT */
/*
 * [cgroup PATH] and [unit NAME] sections of uzswapd.conf: which one a
 * client's memory cgroup falls under, and the automatic loop's settings
 * that gives it.
 */
#ifndef UZD_CGRULES_H
#define UZD_CGRULES_H

#include <stddef.h>

#include "config.h"

/*
 * Open the section of @kind and @name in @cfg (the one already there
 * when a file or a drop-in names it again: later keys win), its index to
 * *@section.  0, or -EINVAL with the reason in @why (a bad name, too
 * many sections).
 */
int cg_rule_section(struct config *cfg, int kind, const char *name,
		    int *section, char *why, size_t len);

/*
 * The settings of a client in memory cgroup @path ("" when it has
 * none): [daemon]'s, with the keys of the section that matches @path
 * best set over them.  The best match is the longest: a [cgroup P]
 * section matches P and every cgroup below it; a [unit N] one, a path
 * with a component N, as far as that component.  The section, or NULL,
 * to *@rule.
 */
void cg_settings(const struct config *cfg, const char *path,
		 struct auto_config *out, const struct cg_rule **rule);

#endif
