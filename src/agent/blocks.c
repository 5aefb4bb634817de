/* SPDX-License-Identifier: MIT */
/* This process's evicted blocks: an open-addressing table by address. */
#include <errno.h>
#include <string.h>

#include "blocks.h"
#include "store.h"

static struct block *table;
static uint32_t mask;
/* how many, for application threads too (blocks_may_hold) */
static struct addr_hint hint = ADDR_HINT_INIT;

/*
 * The table as it was when a fork began.  The agent goes on acting on
 * the application's events while the kernel copies the address space,
 * so the child's copy of the live table may be caught half-changed: the
 * child starts from this copy, made before, instead.
 */
static struct block *snap;
static uint32_t snap_count;

void blocks_free(void)
{
	if (table)
		map_release(table, (size_t)(mask + 1) * sizeof(*table));
	table = NULL;
	addr_hint_set(&hint, 0);
}

int blocks_init(uint32_t capacity)
{
	uint32_t n = 64;

	/* keep the load under one half so probes stay short */
	while (n < 2 * capacity)
		n <<= 1;
	table = map_anon((size_t)n * sizeof(*table), 0);
	if (!table)
		return -ENOMEM;
	mask = n - 1;
	addr_hint_set(&hint, 0);
	return 0;
}

static uint32_t slot_of(uint64_t addr)
{
	uint64_t h = (addr >> 21) * 0x9e3779b97f4a7c15ull;

	return (uint32_t)(h >> 32) & mask;
}

struct block *blocks_find(uint64_t addr)
{
	uint32_t i;

	if (!table)
		return NULL;
	for (i = slot_of(addr);; i = (i + 1) & mask) {
		if (table[i].addr == addr)
			return &table[i];
		if (!table[i].addr)
			return NULL;
	}
}

struct block *blocks_insert(uint64_t addr)
{
	uint32_t i;

	if (hint.count + 1 > mask / 2)
		return NULL;
	for (i = slot_of(addr); table[i].addr; i = (i + 1) & mask)
		;
	memset(&table[i], 0, sizeof(table[i]));
	table[i].addr = addr;
	addr_hint_add(&hint, addr);
	return &table[i];
}

/* Delete slot @i, shifting later members of its probe run back so that
 * lookups need no tombstones. */
static void slot_delete(uint32_t i)
{
	uint32_t j = i, home;

	table[i].addr = 0;
	for (;;) {
		j = (j + 1) & mask;
		if (!table[j].addr)
			break;
		home = slot_of(table[j].addr);
		/* leave j alone if its home lies cyclically in (i, j] */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		table[i] = table[j];
		table[j].addr = 0;
		i = j;
	}
	addr_hint_set(&hint, hint.count - 1);
}

void blocks_remove(struct block *b)
{
	store_unref(b->rec);
	slot_delete((uint32_t)(b - table));
}

struct block *blocks_rekey(struct block *b, uint64_t new_addr)
{
	struct block copy = *b, *nb;

	slot_delete((uint32_t)(b - table));
	nb = blocks_insert(new_addr);
	/* the slot just freed guarantees room */
	copy.addr = new_addr;
	*nb = copy;
	return nb;
}

void blocks_for_each(void (*fn)(struct block *, void *), void *arg)
{
	uint32_t i;

	for (i = 0; table && i <= mask; i++)
		if (table[i].addr)
			fn(&table[i], arg);
}

uint32_t blocks_collect(uint64_t start, uint64_t end, uint64_t *out,
			uint32_t max)
{
	uint32_t i, n = 0;

	for (i = 0; table && i <= mask && n < max; i++)
		if (table[i].addr && table[i].addr + UZ_BLOCK_SIZE > start &&
		    table[i].addr < end)
			out[n++] = table[i].addr;
	return n;
}

uint32_t blocks_count(void)
{
	return hint.count;
}

int blocks_may_hold(uint64_t start, uint64_t len)
{
	return addr_hint_may_hold(&hint, start, len);
}

int blocks_snapshot(void (*fn)(struct block *, void *), void *arg)
{
	uint32_t i;

	snap_count = 0;
	if (!table)
		return 0;
	if (!snap)
		snap = map_anon((size_t)(mask / 2 + 1) * sizeof(*snap), 0);
	if (!snap)
		return -ENOMEM;
	for (i = 0; i <= mask; i++)
		if (table[i].addr) {
			snap[snap_count++] = table[i];
			if (fn)
				fn(&table[i], arg);
		}
	return 0;
}

void blocks_from_snapshot(void)
{
	uint32_t i;

	if (!table)
		return;
	/* dropped, not cleared slot by slot: writing every slot would give
	 * each child its own copy of the whole table (MBs per fork) */
	if (mem_zap(table, (size_t)(mask + 1) * sizeof(*table)))
		for (i = 0; i <= mask; i++)
			table[i].addr = 0;
	addr_hint_set(&hint, 0);
	for (i = 0; i < snap_count; i++)
		*blocks_insert(snap[i].addr) = snap[i];
}

void blocks_snapshot_each(void (*fn)(struct block *, void *), void *arg)
{
	uint32_t i;

	for (i = 0; i < snap_count; i++)
		fn(&snap[i], arg);
}

const struct block *blocks_snapshot_find(uint64_t addr)
{
	uint32_t i;

	for (i = 0; i < snap_count; i++)
		if (snap[i].addr == addr)
			return &snap[i];
	return NULL;
}
