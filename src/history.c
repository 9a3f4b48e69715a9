#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "history.h"
#include "xmalloc.h"

/*
 * The points as varints: for each, the difference of its time from the
 * one before, then of its value, each zigzagged so that a small fall is a
 * small number (the first point's from 0). 10 bytes a varint at most.
 */
struct history {
	uint8_t		*b;
	size_t		 len, cap;
	size_t		 n;
	int64_t		 last_t, last_v;	/* of the last point */
};

struct history *
history_new(void)
{
	return xcalloc(1, sizeof(struct history));
}

void
history_free(struct history *h)
{
	if (h == NULL)
		return;
	free(h->b);
	free(h);
}

/*
 * Differences are taken modulo 2^64, so that any two int64 values have
 * one, which adding back undoes exactly.
 */
static void
put_delta(struct history *h, int64_t from, int64_t to)
{
	uint64_t	d = (uint64_t)to - (uint64_t)from;
	uint64_t	z = (d << 1) ^ (uint64_t)((int64_t)d >> 63);

	while (z >= 0x80) {
		h->b[h->len++] = (uint8_t)(z | 0x80);
		z >>= 7;
	}
	h->b[h->len++] = (uint8_t)z;
}

static int64_t
get_delta(const uint8_t *b, size_t *off, int64_t from)
{
	uint64_t	z = 0;
	unsigned int	shift = 0;
	uint8_t		c;

	do {
		c = b[(*off)++];
		z |= (uint64_t)(c & 0x7f) << shift;
		shift += 7;
	} while (c & 0x80);
	return (int64_t)((uint64_t)from + ((z >> 1) ^ -(z & 1)));
}

/* Append a point, with room made for it: two varints, 20 bytes at most. */
static void
history_put(struct history *h, int64_t t, int64_t v)
{
	if (h->cap - h->len < 20) {
		/* An eighth more each time: some 40 reallocations fill a
		 * history of 7 KB, and what is spare stays under 1 KB. */
		h->cap = h->len + h->len / 8 + 64;
		h->b = xreallocarray(h->b, h->cap, 1);
	}
	put_delta(h, h->n > 0 ? h->last_t : 0, t);
	put_delta(h, h->n > 0 ? h->last_v : 0, v);
	h->last_t = t;
	h->last_v = v;
	h->n++;
}

void
history_add(struct history *h, int64_t t, int64_t v)
{
	struct point	*p;
	size_t		 i, n;

	if (h->n == HISTORY_MAX) {
		p = xreallocarray(NULL, HISTORY_MAX, sizeof *p);
		n = history_read(h, p);
		h->len = 0;
		h->n = 0;
		for (i = 0; i < n; i += 2)
			history_put(h, p[i].t_ms, p[i].v);
		free(p);
	}
	history_put(h, t, v);
}

size_t
history_count(const struct history *h)
{
	return h->n;
}

bool
history_last(const struct history *h, struct point *p)
{
	if (h->n == 0)
		return false;
	p->t_ms = h->last_t;
	p->v = h->last_v;
	return true;
}

size_t
history_read(const struct history *h, struct point *out)
{
	size_t	off = 0, i;
	int64_t	t = 0, v = 0;

	for (i = 0; i < h->n; i++) {
		t = get_delta(h->b, &off, t);
		v = get_delta(h->b, &off, v);
		out[i].t_ms = t;
		out[i].v = v;
	}
	return h->n;
}

size_t
history_bytes(const struct history *h)
{
	return sizeof *h + h->cap;
}
