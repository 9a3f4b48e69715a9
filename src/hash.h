/*
 * Hashing and two small tables: a set of 32-bit ids whose keys live
 * elsewhere (the caller hashes and compares), and a map from the 64-bit
 * ids of a pprof profile to positions in its tables.
 */
#ifndef HASH_H
#define HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HASH_NONE	UINT32_MAX

uint64_t	hash_bytes(const void *, size_t, uint64_t seed);

/* Fold one 64-bit word into a running hash. */
static inline uint64_t
hash_word(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ULL + (h << 6) + (h >> 2);
	h *= 0xbf58476d1ce4e5b9ULL;
	return h ^ (h >> 31);
}

typedef bool (*hash_set_eq_cb)(const void *ctx, uint32_t id, const void *key);

struct idset {
	uint32_t	*ids;		/* id + 1, 0 when empty */
	uint32_t	*hashes;
	uint32_t	 mask;
	uint32_t	 count;
};

void		hash_set_init(struct idset *, size_t hint);
void		hash_set_free(struct idset *);
uint32_t	hash_set_find(const struct idset *, uint32_t hash,
		    hash_set_eq_cb, const void *ctx, const void *key);
void		hash_set_add(struct idset *, uint32_t hash, uint32_t id);
/* Take id, added with hash, out of the set; nothing when absent. */
void		hash_set_remove(struct idset *, uint32_t hash, uint32_t id);

struct idmap {
	uint32_t	*dense;		/* position + 1 by id, when ids are small */
	size_t		 ndense;
	struct idset	 sparse;
	uint64_t	*keys;		/* a copy of the ids, when sparse */
};

int		hash_map_build(struct idmap *, const uint64_t *ids, size_t n,
		    uint64_t *dup);
uint32_t	hash_map_get_sparse(const struct idmap *, uint64_t id);

/* The position of id, or HASH_NONE. */
static inline uint32_t
hash_map_get(const struct idmap *m, uint64_t id)
{
	if (m->dense != NULL)
		return id < m->ndense ? m->dense[id] - 1 : HASH_NONE;
	return hash_map_get_sparse(m, id);
}
void		hash_map_free(struct idmap *);

#endif
