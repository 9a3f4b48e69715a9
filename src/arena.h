/* A bump allocator: many small allocations, freed all at once. */
#ifndef ARENA_H
#define ARENA_H

#include <stddef.h>

struct arena;

struct arena	*arena_new(size_t chunk);
void		 arena_free(struct arena *);
void		 arena_reset(struct arena *);
void		*arena_alloc(struct arena *, size_t);
char		*arena_strndup(struct arena *, const char *, size_t);
size_t		 arena_bytes(const struct arena *);

#endif
