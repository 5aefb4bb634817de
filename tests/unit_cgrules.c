/* SPDX-License-Identifier: MIT */
/* [cgroup PATH] and [unit NAME] sections of uzswapd.conf (config.c and
 * src/daemon/cgrules.c): parsed, refused with a reason, and matched to a
 * client's memory cgroup by the longest reach. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cgrules.h"
#include "config.h"
#include "protocol.h"
#include "t.h"

#define MB (1ull << 20)

/* @text parsed over the defaults into @cfg: 0 or -errno, @why set */
static int parse(struct config *cfg, const char *text, char *why, size_t len)
{
	FILE *f = fmemopen((void *)text, strlen(text), "r");
	int err;

	config_defaults(cfg);
	why[0] = 0;
	err = config_parse(cfg, f, "t.conf", why, len);
	fclose(f);
	return err;
}

static const char conf[] =
	"[daemon]\n"
	"auto = off\n"
	"auto-step = 5\n"
	"target = 90%\n"
	"min-age = 0\n" /* no inactive list */
	"readahead = 0\n"
	"limit-hold = 500\n"
	"[cgroup /system.slice]\n"
	"auto-step = 2\n"
	"[cgroup /system.slice/db.service]\n"
	"auto = on\n"
	"target = 512M\n"
	"auto-pressure = 20\n"
	"[unit web.service]\n"
	"auto = on\n"
	"auto-guard = 300\n"
	"target = none\n"
	"min-age = 30\n"
	"readahead = 16\n"
	"finish-after = 32\n"
	"limit-hold = off\n"
	"[cgroup /system.slice/db.service]\n" /* again: into the same */
	"auto-refaults = 50\n";

static void matching(void)
{
	static struct config cfg;
	const struct cg_rule *r;
	struct auto_config s;
	char why[256];

	t_assert(!parse(&cfg, conf, why, sizeof(why)), "parse: %s", why);
	t_assert(cfg.n_cg == 3, "3 sections, not %u", cfg.n_cg);

	cg_settings(&cfg, "/system.slice/db.service", &s, &r);
	t_assert(r && !strcmp(r->name, "/system.slice/db.service"), "db: its own");
	t_assert(s.on && s.target_bytes == 512 * MB && !s.target_pct &&
		 s.pressure_pct == 20 && s.refault_pct == 50 && s.step_pct == 5,
		 "db: on, 512M, pressure 20, refaults 50 (later section), step "
		 "from [daemon] (%d %llu %u %u %u %u)", s.on,
		 (unsigned long long)s.target_bytes, s.target_pct, s.pressure_pct,
		 s.refault_pct, s.step_pct);
	cg_settings(&cfg, "/system.slice/db.service/worker", &s, &r);
	t_assert(r && !strcmp(r->name, "/system.slice/db.service"), "below db: db's");
	cg_settings(&cfg, "/system.slice/db.services", &s, &r);
	t_assert(r && !strcmp(r->name, "/system.slice"),
		 "db.services is not db.service: /system.slice's");
	t_assert(!s.on && s.step_pct == 2 && s.target_pct == 90,
		 "/system.slice: off, step 2, target 90%% from [daemon]");
	cg_settings(&cfg, "/system.slice/web.service", &s, &r);
	t_assert(r && r->kind == CG_RULE_UNIT, "web: the unit reaches further");
	t_assert(s.on && s.guard_s == 300 && !s.target_pct && !s.target_bytes &&
		 s.min_age_s == 30 && s.readahead == 16 && s.finish_after == 32 &&
		 !s.hold_ms,
		 "web: on, guard 300, target none, min-age 30, readahead 16, "
		 "finish-after 32, limit-hold off");
	cg_settings(&cfg, "/user.slice/user-1000.slice/web.service.x", &s, &r);
	t_assert(!r && !s.on && s.target_pct == 90 && !s.min_age_s &&
		 !s.readahead && s.finish_after == UZ_REFILL_FINISH_DEFAULT &&
		 s.hold_ms == 500,
		 "web.service.x: no section, [daemon]'s (min-age 0, readahead "
		 "0, finish-after the default, limit-hold 500)");
	cg_settings(&cfg, "", &s, &r);
	t_assert(!r, "no cgroup: no section");
}

static void refused(void)
{
	static const struct {
		const char *text, *why;
	} bad[] = {
		{ "[cgroup system.slice]\n", "not a cgroup path" },
		{ "[cgroup /a//b]\n", "not a cgroup path" },
		{ "[cgroup /a/../b]\n", "not a cgroup path" },
		{ "[cgroup /a/]\n", "not a cgroup path" },
		{ "[unit a/b.service]\n", "not a unit name" },
		{ "[unit ]\n", "unknown section" },
		{ "[cgroups /a]\n", "unknown section" },
		{ "[cgroup /a]\nauto-interval = 500\n", "for [daemon] only" },
		{ "[cgroup /a]\nsocket = /x\n", "unknown key 'socket' in [cgroup /a]" },
		{ "[cgroup /a]\ntarget = 0%\n", "target must be" },
		{ "[cgroup /a]\ntarget = 101%\n", "target must be" },
		{ "[cgroup /a]\ntarget = 1M\n", "target must be" },
		{ "[cgroup /a]\ntarget = lots\n", "target must be" },
		{ "[daemon]\ntarget = -5%\n", "target must be" },
		{ "[cgroup /a]\nmin-age = 3601\n", "min-age must be 0 to 3600" },
		{ "[daemon]\nmin-age = 1s\n", "min-age must be 0 to 3600" },
		{ "[cgroup /a]\nreadahead = 65\n", "readahead must be 0 to 64 blocks" },
		{ "[daemon]\nreadahead = -1\n", "readahead must be 0 to 64" },
		{ "[daemon]\nfinish-after = 0\n", "finish-after must be 1 to 32 refills" },
		{ "[unit x.service]\nfinish-after = 33\n", "finish-after must be 1 to 32" },
		{ "[daemon]\nlimit-hold = 10001\n", "limit-hold must be 0 to 10000 ms (or off)" },
		{ "[cgroup /a]\nlimit-hold = on\n", "limit-hold must be 0 to 10000" },
	};
	static struct config cfg;
	char why[256], many[80 * 20];
	size_t i, n = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int err = parse(&cfg, bad[i].text, why, sizeof(why));

		t_assert(err && strstr(why, bad[i].why) && strstr(why, "t.conf:"),
			 "'%s' refused with '%s', not '%s'", bad[i].text,
			 bad[i].why, why);
	}
	for (i = 0; i <= UZ_CG_RULES_MAX; i++)
		n += (size_t)snprintf(many + n, sizeof(many) - n, "[unit u%zu.service]\n", i);
	t_assert(parse(&cfg, many, why, sizeof(why)) && strstr(why, "more than 64"),
		 "65 sections refused: '%s'", why);
	t_assert(!parse(&cfg, "[cgroup /]\ntarget = 1G\n", why, sizeof(why)),
		 "[cgroup /] is a path: %s", why);
}

int main(void)
{
	matching();
	refused();
	printf("cgrules: sections parsed, matched by reach and refused with a "
	       "reason\n");
	return 0;
}
