#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "xmalloc.h"

/*
 * A hash of bytes: four lanes of 64-bit words mixed independently, so that
 * long keys (the stacks of samples) hash at several words a cycle, then
 * folded together with the tail and the length.
 */
uint64_t
hash_bytes(const void *data, size_t len, uint64_t seed)
{
	const unsigned char	*p = data;
	uint64_t		 h0, h1, h2, h3, w[4], t;
	size_t			 n = len;

	h0 = seed ^ 0x9e3779b97f4a7c15ULL;
	h1 = seed ^ 0xc2b2ae3d27d4eb4fULL;
	h2 = seed ^ 0x165667b19e3779f9ULL;
	h3 = seed ^ 0x27d4eb2f165667c5ULL;
	while (n >= 32) {
		memcpy(w, p, 32);
		h0 = (h0 ^ w[0]) * 0xff51afd7ed558ccdULL;
		h1 = (h1 ^ w[1]) * 0xc4ceb9fe1a85ec53ULL;
		h2 = (h2 ^ w[2]) * 0xff51afd7ed558ccdULL;
		h3 = (h3 ^ w[3]) * 0xc4ceb9fe1a85ec53ULL;
		h0 ^= h0 >> 29;
		h1 ^= h1 >> 31;
		h2 ^= h2 >> 29;
		h3 ^= h3 >> 31;
		p += 32;
		n -= 32;
	}
	h0 = hash_word(h0, h1);
	h0 = hash_word(h0, h2);
	h0 = hash_word(h0, h3);
	while (n >= 8) {
		memcpy(&t, p, 8);
		h0 = hash_word(h0, t);
		p += 8;
		n -= 8;
	}
	if (n > 0) {
		t = 0;
		memcpy(&t, p, n);
		h0 = hash_word(h0, t);
	}
	return hash_word(h0, len);
}

/*
 * Empty tables of n slots. A large one is written all over at random as
 * it fills, a page fault each 4 KiB otherwise: the sets of a diff's
 * 130,000 merged samples took 40% of its 2,500 faults.
 */
static void
hash_set_alloc(struct idset *s, size_t n)
{
	s->ids = xmalloc_populate(xcalloc(n, sizeof *s->ids),
	    n * sizeof *s->ids);
	s->hashes = xmalloc_populate(xcalloc(n, sizeof *s->hashes),
	    n * sizeof *s->hashes);
	s->mask = n - 1;
}

void
hash_set_init(struct idset *s, size_t hint)
{
	size_t	n = 16;

	while (n < hint * 2)
		n *= 2;
	hash_set_alloc(s, n);
	s->count = 0;
}

void
hash_set_free(struct idset *s)
{
	free(s->ids);
	free(s->hashes);
	s->ids = s->hashes = NULL;
	s->count = s->mask = 0;
}

uint32_t
hash_set_find(const struct idset *s, uint32_t hash, hash_set_eq_cb eq,
    const void *ctx, const void *key)
{
	uint32_t	i = hash & s->mask;

	while (s->ids[i] != 0) {
		if (s->hashes[i] == hash && eq(ctx, s->ids[i] - 1, key))
			return s->ids[i] - 1;
		i = (i + 1) & s->mask;
	}
	return HASH_NONE;
}

/* Put an id in its first free slot; the set never holds more than half. */
static void
hash_set_place(struct idset *s, uint32_t hash, uint32_t id)
{
	uint32_t	i = hash & s->mask;

	while (s->ids[i] != 0)
		i = (i + 1) & s->mask;
	s->ids[i] = id + 1;
	s->hashes[i] = hash;
}

void
hash_set_add(struct idset *s, uint32_t hash, uint32_t id)
{
	uint32_t	*ids, *hashes, i, n;

	if ((s->count + 1) * 2 > s->mask + 1) {
		ids = s->ids;
		hashes = s->hashes;
		n = s->mask + 1;
		hash_set_alloc(s, n * 2);
		for (i = 0; i < n; i++)
			if (ids[i] != 0)
				hash_set_place(s, hashes[i], ids[i] - 1);
		free(ids);
		free(hashes);
	}
	hash_set_place(s, hash, id);
	s->count++;
}

/*
 * Linear probing leaves no tombstone: the entries after the hole that
 * could live in it (their home slot is not between the hole and them) move
 * up, so that a lookup still finds each before the first empty slot.
 */
void
hash_set_remove(struct idset *s, uint32_t hash, uint32_t id)
{
	uint32_t	i = hash & s->mask, j, home;

	while (s->ids[i] != id + 1) {
		if (s->ids[i] == 0)
			return;
		i = (i + 1) & s->mask;
	}
	s->ids[i] = 0;
	s->count--;
	for (j = (i + 1) & s->mask; s->ids[j] != 0; j = (j + 1) & s->mask) {
		home = s->hashes[j] & s->mask;
		if (i <= j ? i < home && home <= j : i < home || home <= j)
			continue;
		s->ids[i] = s->ids[j];
		s->hashes[i] = s->hashes[j];
		s->ids[j] = 0;
		i = j;
	}
}

static bool
hash_map_eq(const void *ctx, uint32_t pos, const void *key)
{
	const uint64_t	*keys = ctx;

	return keys[pos] == *(const uint64_t *)key;
}

/*
 * Index ids[0..n) by value. Profiles number their tables 1..n, or keep the
 * ids of a larger program's table for the entries they use (321 locations
 * numbered up to 1,340 in a profile of 75,000 deep stacks), so a dense
 * array serves nearly always: up to 16 slots an id, 64 bytes, where hashing
 * takes some 24 and made looking up the stacks' 1.3 million location ids a
 * quarter of decoding such a profile. Anything sparser falls back to
 * hashing. Returns -1 and sets *dup when an id appears twice.
 */
int
hash_map_build(struct idmap *m, const uint64_t *ids, size_t n, uint64_t *dup)
{
	uint64_t	max = 0;
	size_t		i;
	uint32_t	h;

	memset(m, 0, sizeof *m);
	for (i = 0; i < n; i++)
		if (ids[i] > max)
			max = ids[i];
	if (max <= 16 * (uint64_t)n + 4096) {
		m->ndense = max + 1;
		m->dense = xcalloc(m->ndense, sizeof *m->dense);
		for (i = 0; i < n; i++) {
			if (m->dense[ids[i]] != 0) {
				*dup = ids[i];
				hash_map_free(m);
				return -1;
			}
			m->dense[ids[i]] = i + 1;
		}
		return 0;
	}
	m->keys = xreallocarray(NULL, n + 1, sizeof *m->keys);
	memcpy(m->keys, ids, n * sizeof *ids);
	hash_set_init(&m->sparse, n);
	for (i = 0; i < n; i++) {
		h = (uint32_t)hash_word(0, ids[i]);
		if (hash_set_find(&m->sparse, h, hash_map_eq, m->keys,
		    &ids[i]) != HASH_NONE) {
			*dup = ids[i];
			hash_map_free(m);
			return -1;
		}
		hash_set_add(&m->sparse, h, i);
	}
	return 0;
}

uint32_t
hash_map_get_sparse(const struct idmap *m, uint64_t id)
{
	if (m->sparse.ids == NULL)
		return HASH_NONE;
	return hash_set_find(&m->sparse, (uint32_t)hash_word(0, id),
	    hash_map_eq, m->keys, &id);
}

void
hash_map_free(struct idmap *m)
{
	free(m->dense);
	m->dense = NULL;
	free(m->keys);
	m->keys = NULL;
	if (m->sparse.ids != NULL)
		hash_set_free(&m->sparse);
}
