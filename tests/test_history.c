/*
 * Unit tests for src/history.c: a target's history reads back exactly what
 * was added, thinned as a plain array of points would be, in fewer bytes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"
#include "history.h"
#include "tap.h"

/* The history as 16-byte points: what the compact one must equal. */
struct plain {
	struct point	p[HISTORY_MAX];
	size_t		n;
};

static void
plain_add(struct plain *h, int64_t t, int64_t v)
{
	size_t	i;

	if (h->n == HISTORY_MAX) {
		for (i = 0; i < HISTORY_MAX / 2; i++)
			h->p[i] = h->p[2 * i];
		h->n = HISTORY_MAX / 2;
	}
	h->p[h->n].t_ms = t;
	h->p[h->n].v = v;
	h->n++;
}

/* A 64-bit xorshift: the same series at every run. */
static uint64_t
rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static int
same(const struct history *h, const struct plain *ref)
{
	static struct point	out[HISTORY_MAX];
	size_t			n;

	n = history_read(h, out);
	return n == ref->n && history_count(h) == ref->n &&
	    memcmp(out, ref->p, n * sizeof *out) == 0;
}

int
main(void)
{
	static struct plain	 ref;
	static const int64_t	 odd[] = { INT64_MIN, INT64_MAX, 0, -1,
	    INT64_MAX, INT64_MIN, 1, INT64_MIN + 1 };
	struct history		*h = history_new();
	struct point		 last;
	uint64_t		 seed = 42;
	int64_t			 t = 1700000000000, v = 300 << 20;
	size_t			 i, bytes, most = 0;
	int			 equal = 1;

	ok(!history_last(h, &last) && history_count(h) == 0,
	    "a new history is empty");
	/*
	 * Scrapes a minute apart, give or take a second, of a heap that
	 * moves by up to 4 MiB either way: 5,000 of them, thinned four
	 * times, equal to the plain array after every point.
	 */
	for (i = 0; i < 5000; i++) {
		t += 59000 + (int64_t)(rnd(&seed) % 2000);
		v += (int64_t)(rnd(&seed) % (8 << 20)) - (4 << 20);
		history_add(h, t, v);
		plain_add(&ref, t, v);
		if (history_bytes(h) > most)
			most = history_bytes(h);
		if (i % 97 == 0 || i % 1024 == 1023 || i % 1024 == 0)
			equal &= same(h, &ref);
	}
	ok(equal && same(h, &ref), "5,000 points read back as a plain "
	    "array keeps them, thinned the same");
	ok(history_last(h, &last) && last.t_ms == t && last.v == v,
	    "the last point is the last added");
	ok(most <= 8704, "a full history takes %zu bytes at most, "
	    "against %zu as points", most,
	    (size_t)HISTORY_MAX * sizeof(struct point));
	history_free(h);

	/* Values and times at the ends of int64, going back and forth. */
	h = history_new();
	memset(&ref, 0, sizeof ref);
	for (i = 0; i < 3 * HISTORY_MAX; i++) {
		t = odd[i % 8];
		v = odd[(i * 3 + 1) % 8] ^ (int64_t)(rnd(&seed) & 0xff);
		history_add(h, t, v);
		plain_add(&ref, t, v);
	}
	ok(same(h, &ref), "extreme values and times going back read back "
	    "exactly");
	bytes = history_bytes(h);
	ok(bytes <= 23 * HISTORY_MAX + 128, "at 20 bytes a point they "
	    "take the most room, and no more: %zu bytes", bytes);
	history_free(h);
	history_free(NULL);
	return tap_done();
}
