#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "xmalloc.h"

#define ARENA_ALIGN	16
#define ARENA_MAXCHUNK	(8u << 20)

struct chunk {
	struct chunk	*next;
	size_t		 size;
	size_t		 used;
	/* Data follows, aligned to ARENA_ALIGN. */
};

struct arena {
	struct chunk	*head;
	size_t		 chunk;		/* size of the next chunk */
	size_t		 bytes;		/* all chunks, for accounting */
};

#define CHUNK_HDR	((sizeof(struct chunk) + ARENA_ALIGN - 1) & \
			    ~(size_t)(ARENA_ALIGN - 1))

struct arena *
arena_new(size_t chunk)
{
	struct arena	*a;

	a = xcalloc(1, sizeof *a);
	a->chunk = chunk < 4096 ? 4096 : chunk;
	return a;
}

void
arena_free(struct arena *a)
{
	struct chunk	*c, *next;

	if (a == NULL)
		return;
	for (c = a->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(a);
}

/* Start a new chunk able to hold at least size bytes. */
static struct chunk *
arena_grow(struct arena *a, size_t size)
{
	struct chunk	*c;
	size_t		 n;

	n = a->chunk;
	if (size > n / 4) {
		/* A large block gets a chunk of its own, behind the head. */
		if (size > SIZE_MAX - CHUNK_HDR)
			fatalx("arena: allocation of %zu bytes", size);
		c = xmalloc(CHUNK_HDR + size);
		c->size = c->used = size;
		a->bytes += size;
		if (a->head != NULL) {
			c->next = a->head->next;
			a->head->next = c;
		} else {
			c->next = NULL;
			a->head = c;
		}
		return c;
	}
	c = xmalloc(CHUNK_HDR + n);
	c->size = n;
	c->used = 0;
	c->next = a->head;
	a->head = c;
	a->bytes += n;
	if (a->chunk < ARENA_MAXCHUNK)
		a->chunk *= 2;
	return c;
}

/* Forget every allocation, keeping the newest chunk for reuse. */
void
arena_reset(struct arena *a)
{
	struct chunk	*c, *next;

	if (a->head == NULL)
		return;
	for (c = a->head->next; c != NULL; c = next) {
		next = c->next;
		a->bytes -= c->size;
		free(c);
	}
	a->head->next = NULL;
	a->head->used = 0;
}

void *
arena_alloc(struct arena *a, size_t size)
{
	struct chunk	*c = a->head;
	size_t		 need;
	void		*p;

	if (size == 0)
		size = 1;
	need = (size + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
	if (need < size)
		fatalx("arena: allocation of %zu bytes", size);
	if (c == NULL || c->size - c->used < need) {
		c = arena_grow(a, need);
		if (c->used == c->size)		/* a chunk of its own */
			return (char *)c + CHUNK_HDR;
	}
	p = (char *)c + CHUNK_HDR + c->used;
	c->used += need;
	return p;
}

char *
arena_strndup(struct arena *a, const char *s, size_t n)
{
	char	*p;

	p = arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

size_t
arena_bytes(const struct arena *a)
{
	return a->bytes;
}
