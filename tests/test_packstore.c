/*
 * Unit tests for src/packstore.c: a target's packed snapshots in SQLite.
 * Every snapshot stored reads back as the profile received (its samples,
 * stack by stack, as pprof adds them up), across segments, reopening,
 * drops that re-code a segment, a corrupt body, a malformed profile and
 * kill -9 while writing; a reader kept from one read to the next
 * gives the same bytes as a read afresh, however the database changed
 * between (grown, thinned out, made again); a writer shrunk between puts
 * codes what one kept codes; and a repeat (the newest
 * snapshot again with new times) stores the very rows that the profile
 * with those times stored again would.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "packstore.h"
#include "profile.h"
#include "symtab.h"
#include "xmalloc.h"
#include "tap.h"
#include "pbuild.h"

#define MAX	((size_t)64 << 20)
#define RUN	150		/* over two segments and a part */
#define T0	1700000000000LL	/* the first snapshot's time */
#define STEP	30000		/* ms between snapshots: 64 in 32 min */

/*
 * The kth profile of a growing process: 40 stacks at first, one more
 * every third snapshot, a few growing, labels on some, gzipped.
 */
static uint8_t *
gen(int k, size_t *len)
{
	struct pb	*b = pb_heap();
	uint64_t	 m, f[10], l[20];
	char		 fn[32];
	uint8_t		*raw, *gz;
	size_t		 rawlen;
	int		 i, nstk = 40 + k / 3;

	m = pb_mapping(b, 0x400000, 0x800000, "/usr/bin/app");
	for (i = 0; i < 10; i++) {
		snprintf(fn, sizeof fn, "main.work%d", i);
		f[i] = pb_func(b, fn, "/src/app.go");
	}
	for (i = 0; i < 20; i++)
		l[i] = pb_loc(b, m, 0x401000 + 32 * i, 1, f[i % 10],
		    (int64_t)(100 + i));
	for (i = 0; i < nstk; i++) {
		int64_t	v = i % 4 == 0 ? (int64_t)k * 1000 : 7 * i;

		pb_sample(b, 3, l[i % 20], l[(i / 20 + 3) % 20],
		    l[(i / 7 + 11) % 20], (int64_t)(i + 1), v + 4096,
		    (int64_t)(2 * i + k), v * 3);
		if (i % 9 == 0)
			pb_label(b, "span", i % 2 ? "a" : "b", 0, NULL);
	}
	b->p.time_nanos = (T0 + (int64_t)k * STEP) * 1000000;
	b->p.default_sample_type = pb_str(b, "inuse_space");
	raw = pb_pack(b, &rawlen);
	free(b);
	gz = pb_gzip(raw, rawlen, len);
	free(raw);
	return gz;
}

/*
 * The profiles test_shaped() puts: gen()'s, or those given on the command
 * line (--shaped), in order.
 */
static void	**prof_data;
static size_t	 *prof_len;
static int	  nprof;

/* The kth profile put, the caller's to free. */
static uint8_t *
prof(int k, size_t *len)
{
	uint8_t	*p;

	if (nprof == 0)
		return gen(k, len);
	*len = prof_len[k];
	p = xmalloc(*len);
	memcpy(p, prof_data[k], *len);
	return p;
}

/* A sample as compared: a hash of its stack and labels, its values. */
struct cell {
	uint64_t	 h;
	int64_t		 v[4];
};

static int
cell_cmp(const void *a, const void *b)
{
	const struct cell	*x = a, *y = b;

	return x->h < y->h ? -1 : x->h > y->h;
}

/* p's samples, those of one stack and labels added up, sorted. */
static struct cell *
cells(const struct profile *p, size_t *n)
{
	struct cell	*c = calloc(p->nsamples + 1, sizeof *c);
	size_t		 i, j, w = 0;

	for (i = 0; i < p->nsamples; i++) {
		uint64_t	h = 1469598103934665603ULL ^ p->labelset[i];

		for (j = p->stack_off[i]; j < p->stack_off[i + 1]; j++)
			h = (h ^ p->stacks[j]) * 1099511628211ULL;
		c[i].h = h;
		for (j = 0; j < p->ntypes && j < 4; j++)
			c[i].v[j] = p->values[i * p->ntypes + j];
	}
	qsort(c, p->nsamples, sizeof *c, cell_cmp);
	for (i = 0; i < p->nsamples; i++) {
		if (w > 0 && c[w - 1].h == c[i].h) {
			for (j = 0; j < 4; j++)
				c[w - 1].v[j] += c[i].v[j];
			continue;
		}
		c[w++] = c[i];
	}
	*n = w;
	return c;
}

/* Whether b (a snapshot read back) holds the samples of profile a. */
static bool
same(const void *a, size_t alen, const void *b, size_t blen)
{
	struct symtab	*st = symtab_new();
	struct profile	*pa, *pb;
	struct cell	*ca = NULL, *cb = NULL;
	size_t		 na = 0, nb = 0;
	char		*cause = NULL;
	bool		 eq = false;

	pa = profile_decode(a, alen, MAX, st, &cause);
	pb = pa == NULL ? NULL : profile_decode(b, blen, MAX, st, &cause);
	if (pa != NULL && pb != NULL) {
		ca = cells(pa, &na);
		cb = cells(pb, &nb);
		eq = pa->ntypes == pb->ntypes &&
		    pa->time_nanos == pb->time_nanos && na == nb &&
		    memcmp(ca, cb, na * sizeof *ca) == 0;
	} else
		printf("# decode: %s\n", cause);
	free(ca);
	free(cb);
	free(cause);
	profile_free(pa);
	profile_free(pb);
	symtab_free(st);
	return eq;
}

/*
 * Whether the snapshot stored at T0 + t * STEP reads back from ps as
 * prof(k).
 */
static bool
reads_back_as(struct packstore *ps, int k, int t, uint32_t seq)
{
	uint8_t	*in;
	void	*out;
	size_t	 inlen, outlen;
	char	*cause = NULL;
	bool	 eq;

	if (packstore_read(ps, T0 + (int64_t)t * STEP, seq, MAX, true, &out,
	    &outlen, &cause) == -1) {
		printf("# read %d: %s\n", k, cause);
		free(cause);
		return false;
	}
	in = prof(k, &inlen);
	eq = same(in, inlen, out, outlen);
	free(in);
	free(out);
	return eq;
}

/* Whether snapshot k reads back from ps as gen(k) made it. */
static bool
reads_back(struct packstore *ps, int k, uint32_t seq)
{
	return reads_back_as(ps, k, k, seq);
}

/* The same, for the first snapshot of that time. */
static bool
reads_back_at(struct packstore *ps, int k, int t)
{
	return reads_back_as(ps, k, t, 0);
}

/*
 * Whether the snapshot at the time of the tth reads back through rd as
 * gen(k) made it, in the same bytes as a read without a reader.
 */
static bool
reads_back_with_at(struct packstore *ps, struct packstore_reader *rd, int k,
    int t)
{
	uint8_t	*in;
	void	*out, *fresh;
	size_t	 inlen, outlen, freshlen;
	char	*cause = NULL;
	bool	 eq;

	if (packstore_read_with(ps, rd, T0 + (int64_t)t * STEP, 0, MAX, true,
	    &out, &outlen, &cause) == -1) {
		printf("# read %d with a reader: %s\n", t, cause);
		free(cause);
		return false;
	}
	if (packstore_read(ps, T0 + (int64_t)t * STEP, 0, MAX, true, &fresh,
	    &freshlen, &cause) == -1) {
		printf("# read %d: %s\n", t, cause);
		free(cause);
		free(out);
		return false;
	}
	in = gen(k, &inlen);
	eq = same(in, inlen, out, outlen) && outlen == freshlen &&
	    memcmp(out, fresh, outlen) == 0;
	free(in);
	free(out);
	free(fresh);
	return eq;
}

static bool
reads_back_with(struct packstore *ps, struct packstore_reader *rd, int k)
{
	return reads_back_with_at(ps, rd, k, k);
}

static int	put_parsed(struct packstore *, int64_t, const void *, size_t,
		    uint32_t *, char **);

/*
 * Store prof(k) as taken at the time of the tth snapshot: from its
 * protobuf, or from profile.c's parse of it as heapwatchd's store puts it.
 */
static int
put_as(struct packstore *ps, int k, int t, bool parsed, uint32_t *seq)
{
	uint8_t	*in;
	size_t	 len;
	char	*cause = NULL;
	int	 rc;

	in = prof(k, &len);
	if (parsed)
		rc = put_parsed(ps, T0 + (int64_t)t * STEP, in, len, seq,
		    &cause);
	else
		rc = packstore_put(ps, T0 + (int64_t)t * STEP, in, len, MAX,
		    seq, &cause);
	if (rc == -1) {
		printf("# put %d: %s\n", k, cause);
		free(cause);
	}
	free(in);
	return rc;
}

static int
put_at(struct packstore *ps, int k, int t, uint32_t *seq)
{
	return put_as(ps, k, t, false, seq);
}

static int
put(struct packstore *ps, int k, uint32_t *seq)
{
	return put_at(ps, k, k, seq);
}

/* Whether the listed snapshot at time t is there, and a key. */
static int
listed(struct packstore *ps, int64_t t, size_t *count)
{
	struct packstore_snap	*v;
	size_t			 n, i;
	char			*cause = NULL;
	int			 r = -1;

	if (packstore_list(ps, &v, &n, &cause) == -1) {
		free(cause);
		return -2;
	}
	for (i = 0; i < n; i++)
		if (v[i].time_ms == t)
			r = v[i].key;
	if (count != NULL)
		*count = n;
	free(v);
	return r;
}

static void
test_run(const char *path)
{
	struct packstore	*ps;
	char			*cause = NULL;
	uint32_t		 seq;
	size_t			 n;
	int			 k, bad = 0;
	bool			 keys = true;

	ok(packstore_open(path, 0, &ps, &cause) == 0 && ps == NULL,
	    "a missing database is no error without create");
	ok(packstore_open(path, PACKSTORE_CREATE, &ps, &cause) == 0 &&
	    ps != NULL, "a database is made");
	for (k = 0; k < RUN; k++) {
		if (put(ps, k, &seq) == -1 || seq != 0)
			bad++;
		/* Closed and trimmed between puts, as the store does. */
		if (k % 3 != 0)
			packstore_idle(ps);
	}
	ok(bad == 0, "%d snapshots stored, the connection closed between "
	    "most", RUN);
	for (k = 0; k < RUN; k++)
		if (listed(ps, T0 + (int64_t)k * STEP, NULL) !=
		    (k % PACKSTORE_SEGMENT == 0))
			keys = false;
	ok(keys, "a key snapshot every %d", PACKSTORE_SEGMENT);
	for (k = 0, bad = 0; k < RUN; k++)
		if (!reads_back(ps, k, 0))
			bad++;
	ok(bad == 0, "every snapshot reads back as received (%d bad)", bad);
	ok(put(ps, RUN - 1, &seq) == 0 && seq == 1,
	    "a second snapshot in one millisecond takes sequence 1");
	ok(reads_back(ps, RUN - 1, 1) && reads_back(ps, RUN - 1, 0),
	    "... and both read back");
	packstore_close(ps);

	ok(packstore_open(path, 0, &ps, &cause) == 0 && ps != NULL,
	    "the database opens again");
	ok(put(ps, RUN, &seq) == 0 && listed(ps, T0 + RUN * STEP, &n) == 0 &&
	    n == RUN + 2, "the writer goes on in the segment after reopening");
	ok(reads_back(ps, RUN, 0) && reads_back(ps, 70, 0),
	    "... and what it wrote reads back");
	packstore_close(ps);
}

/* Drop every snapshot of the first segment but one in ten. */
static void
test_drop(const char *path)
{
	struct packstore	*ps;
	struct packstore_snap	 v[PACKSTORE_SEGMENT];
	char			*cause = NULL;
	size_t			 nv = 0, removed = 0, n;
	int			 k, bad = 0;

	if (packstore_open(path, 0, &ps, &cause) == -1 || ps == NULL) {
		ok(0, "open: %s", cause);
		return;
	}
	for (k = 0; k < PACKSTORE_SEGMENT; k++)
		if (k % 10 != 3) {
			memset(&v[nv], 0, sizeof v[nv]);
			v[nv++].time_ms = T0 + (int64_t)k * STEP;
		}
	ok(packstore_drop(ps, v, nv, MAX, &removed, &cause) == 0 &&
	    removed == nv, "%zu snapshots dropped from the middle", nv);
	ok(listed(ps, T0 + 3 * STEP, &n) == 1 && n == RUN + 2 - nv,
	    "the segment's first survivor is a key: it was coded again");
	for (k = 3; k < PACKSTORE_SEGMENT; k += 10)
		if (!reads_back(ps, k, 0))
			bad++;
	for (k = PACKSTORE_SEGMENT; k <= RUN; k++)
		if (!reads_back(ps, k, 0))
			bad++;
	ok(bad == 0, "the survivors and the other segments read back");
	k = packstore_read(ps, T0 + 4 * STEP, 0, MAX, true, (void **)&v[0],
	    &n, &cause);
	ok(k == -1 && strstr(cause, "no snapshot") != NULL,
	    "a dropped snapshot is not found: %s", cause);
	free(cause);
	cause = NULL;

	/* The newest segment's first ten: kept, not listed. */
	for (k = 0, nv = 0; k < 10; k++) {
		memset(&v[nv], 0, sizeof v[nv]);
		v[nv++].time_ms = T0 + (int64_t)(2 * PACKSTORE_SEGMENT + k) *
		    STEP;
	}
	ok(packstore_drop(ps, v, nv, MAX, &removed, &cause) == 0 &&
	    removed == 10 && listed(ps, T0 + 2 * PACKSTORE_SEGMENT * STEP,
	    NULL) == -1, "the newest segment's first ten are dropped");
	ok(reads_back(ps, 2 * PACKSTORE_SEGMENT + 10, 0) &&
	    reads_back(ps, RUN, 0), "... and the rest of it reads back");
	packstore_close(ps);
}

static int	put(struct packstore *, int, uint32_t *);

/*
 * Make the database dir/name, its path into path[0..len); said, and
 * false, when it cannot be made.
 */
static bool
open_new(const char *dir, const char *name, char *path, size_t len,
    struct packstore **ps)
{
	char	*cause = NULL;

	snprintf(path, len, "%s/%s", dir, name);
	if (packstore_open(path, PACKSTORE_CREATE, ps, &cause) == 0)
		return true;
	ok(0, "open %s: %s", name, cause);
	free(cause);
	return false;
}


/* Drop snapshots k0, k0 + 1, ... below k1 but one in ten. */
static size_t
drop_most(struct packstore *ps, int k0, int k1)
{
	struct packstore_snap	 v[PACKSTORE_SEGMENT];
	char			*cause = NULL;
	size_t			 nv = 0, removed = 0;
	int			 k;

	for (k = k0; k < k1 && nv < PACKSTORE_SEGMENT; k++)
		if (k % 10 != 3) {
			memset(&v[nv], 0, sizeof v[nv]);
			v[nv++].time_ms = T0 + (int64_t)k * STEP;
		}
	if (packstore_drop(ps, v, nv, MAX, &removed, &cause) == -1) {
		printf("# drop: %s\n", cause);
		free(cause);
	}
	return removed;
}

/*
 * A reader kept across puts, reads out of order, a segment coded again
 * under it and a database made again in its place.
 */
static void
test_reader(const char *path)
{
	struct packstore	*ps;
	struct packstore_reader	*rd;
	char			*cause = NULL, side[160];
	uint32_t		 seq;
	size_t			 held;
	int			 k, bad = 0;
	static const int	 order[] = { RUN - 1, 5, 70, 69, 130, 2, 64,
				    63, RUN - 1 };

	if (packstore_open(path, PACKSTORE_CREATE, &ps, &cause) == -1 ||
	    ps == NULL) {
		ok(0, "open: %s", cause);
		return;
	}
	rd = packstore_reader_new();
	held = packstore_reader_held(rd);
	for (k = 0; k < RUN; k++) {
		if (put(ps, k, &seq) == -1 || !reads_back_with(ps, rd, k))
			bad++;
		if (k % 2 == 0)
			packstore_idle(ps);
		/* A writer forgotten, as the store does past its budget. */
		if (k % 7 == 0) {
			if (packstore_writer_held(ps) == 0)
				bad++;
			packstore_writer_forget(ps);
			if (packstore_writer_held(ps) != 0)
				bad++;
		}
	}
	ok(bad == 0, "the newest read through a reader after each of %d "
	    "puts, the writer forgotten after some, is as received and as "
	    "read afresh (%d bad)", RUN, bad);
	ok(packstore_reader_held(rd) > held, "the reader holds its "
	    "dictionary between reads: %zu bytes",
	    packstore_reader_held(rd));
	for (k = 0, bad = 0; k < (int)(sizeof order / sizeof *order); k++)
		if (!reads_back_with(ps, rd, order[k]))
			bad++;
	ok(bad == 0, "reads out of order and across segments (%d bad)", bad);

	/* Held in the first segment, which a drop then codes again. */
	ok(reads_back_with(ps, rd, 3) && drop_most(ps, 0,
	    PACKSTORE_SEGMENT) > 0 && listed(ps, T0 + 3 * STEP, NULL) == 1,
	    "the reader's segment is coded again after it read there");
	for (k = 13, bad = 0; k < PACKSTORE_SEGMENT; k += 10)
		if (!reads_back_with(ps, rd, k))
			bad++;
	ok(bad == 0 && reads_back_with(ps, rd, RUN - 1),
	    "... and it reads that segment's survivors and the newest");

	/* Another database in its place, with other dictionary rows. */
	packstore_close(ps);
	snprintf(side, sizeof side, "%s-old", path);
	if (rename(path, side) == -1) {
		ok(0, "rename");
		packstore_reader_free(rd);
		return;
	}
	snprintf(side, sizeof side, "%s-wal", path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	if (packstore_open(path, PACKSTORE_CREATE, &ps, &cause) == -1 ||
	    ps == NULL) {
		ok(0, "open again: %s", cause);
		packstore_reader_free(rd);
		return;
	}
	for (k = 100, bad = 0; k < 110; k++)
		if (put(ps, k, &seq) == -1)
			bad++;
	for (k = 100; k < 110; k++)
		if (!reads_back_with(ps, rd, k))
			bad++;
	ok(bad == 0, "a database made again in its place is read afresh");
	packstore_reader_free(rd);
	packstore_close(ps);
}

/* Run sql on the database, through a connection: rows changed, or -1. */
static int
sql_run(const char *path, const char *sql)
{
	sqlite3		*db;
	int		 n = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK)
		n = sqlite3_changes(db);
	sqlite3_close(db);
	return n;
}

/* Run an UPDATE of one row on the database, through a connection. */
static bool
corrupt_sql(const char *path, const char *sql)
{
	return sql_run(path, sql) == 1;
}

/* Overwrite the body of the snapshot at time_ms with a corrupt one. */
static bool
corrupt_body(const char *path, int64_t time_ms)
{
	char	sql[256];

	snprintf(sql, sizeof sql, "UPDATE snap SET body = substr(body, 1, 6)"
	    " || x'00112233' || substr(body, 11) WHERE time_ms = %lld",
	    (long long)time_ms);
	return corrupt_sql(path, sql);
}

static void
test_corrupt(const char *path)
{
	struct packstore	*ps;
	char			*cause = NULL, *first = NULL;
	void			*out;
	size_t			 len, kept, bad, n, before;
	uint32_t		 seq;
	uint8_t			 junk[64];
	const int		 hit = PACKSTORE_SEGMENT + 20;
	int			 rc;
	bool			 broken;

	if (packstore_open(path, 0, &ps, &cause) == -1 || ps == NULL) {
		ok(0, "open: %s", cause);
		return;
	}
	listed(ps, 0, &before);
	memset(junk, 0x5a, sizeof junk);
	rc = packstore_put(ps, T0 + 999 * STEP, junk, sizeof junk, MAX, &seq,
	    &cause);
	ok(rc == -1 && cause != NULL, "a malformed profile is refused: %s",
	    cause);
	free(cause);
	cause = NULL;
	listed(ps, 0, &n);
	ok(n == before, "... and nothing of it is stored");

	ok(corrupt_body(path, T0 + (int64_t)hit * STEP), "a body is corrupted");
	rc = packstore_read(ps, T0 + (int64_t)hit * STEP, 0, MAX, true, &out,
	    &len, &cause);
	ok(rc == -1 && cause != NULL, "reading it is an error: %s", cause);
	free(cause);
	cause = NULL;
	ok(packstore_read(ps, T0 + (int64_t)(hit + 1) * STEP, 0, MAX, true,
	    &out, &len, &cause) == -1, "... and so is the next, coded on it");
	free(cause);
	cause = NULL;
	ok(reads_back(ps, hit - 1, 0) && reads_back(ps, 2 *
	    PACKSTORE_SEGMENT + 10, 0), "the one before and the next segment "
	    "read back");
	rc = packstore_check(ps, MAX, &kept, &bad, &first, &broken, &cause);
	ok(rc == 0 && bad == (size_t)(2 * PACKSTORE_SEGMENT - hit) &&
	    first != NULL,
	    "the check sets aside the rest of the segment (%zu): %s", bad,
	    first);
	free(first);
	listed(ps, 0, &n);
	ok(n == before - bad && kept == n, "... which are no longer listed");

	/* A dictionary blob corrupt: every read fails, none crashes. */
	ok(corrupt_sql(path, "UPDATE dict SET blob = substr(blob, 1, 6) ||"
	    " x'00112233' || substr(blob, 11) WHERE n = 1"),
	    "the first dictionary blob is corrupted");
	rc = packstore_read(ps, T0 + 3 * STEP, 0, MAX, true, &out, &len,
	    &cause);
	ok(rc == -1 && cause != NULL, "a read is an error: %s", cause);
	free(cause);
	cause = NULL;
	rc = packstore_check(ps, MAX, &kept, &bad, &first, &broken, &cause);
	ok(rc == -1 && broken, "the check says the database is corrupt: %s",
	    cause);
	free(cause);
	packstore_close(ps);
}

/*
 * Every row of the database at path (the dictionary's, then the
 * snapshots'), each column as text or hex, one row a line; NULL when it
 * cannot be read.
 */
static char *
dump_db(const char *path)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	const char	*sql[] = { "SELECT * FROM dict ORDER BY n",
	    "SELECT * FROM snap ORDER BY n" };
	char		*buf = NULL;
	size_t		 len = 0;
	FILE		*f;
	int		 i, c, k;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK) {
		sqlite3_close(db);
		return NULL;
	}
	f = open_memstream(&buf, &len);
	for (k = 0; k < 2; k++) {
		if (sqlite3_prepare_v2(db, sql[k], -1, &st, NULL) != SQLITE_OK)
			break;
		fprintf(f, "%s\n", sql[k]);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (i = 0; i < sqlite3_column_count(st); i++) {
				const uint8_t	*b = sqlite3_column_blob(st, i);

				fprintf(f, "%s=", sqlite3_column_name(st, i));
				if (sqlite3_column_type(st, i) == SQLITE_BLOB)
					for (c = 0; c < sqlite3_column_bytes(st,
					    i); c++)
						fprintf(f, "%02x", b[c]);
				else
					fprintf(f, "%s",
					    sqlite3_column_text(st, i));
				fputc(' ', f);
			}
			fputc('\n', f);
		}
		sqlite3_finalize(st);
	}
	fclose(f);
	sqlite3_close(db);
	if (k < 2) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * The snapshot time_ms-seq of ps as pprof, decoded: its time and duration
 * compared with tn and dn; its bytes in *out.
 */
static bool
read_times(struct packstore *ps, int64_t time_ms, uint32_t seq, int64_t tn,
    int64_t dn, void **out, size_t *len)
{
	struct profile	*p;
	char		*cause = NULL;
	bool		 good;

	*out = NULL;
	if (packstore_read(ps, time_ms, seq, MAX, false, out, len,
	    &cause) == -1) {
		printf("# read: %s\n", cause);
		free(cause);
		return false;
	}
	if ((p = profile_decode(*out, *len, MAX, NULL, &cause)) == NULL) {
		printf("# decode: %s\n", cause);
		free(cause);
		return false;
	}
	good = p->time_nanos == tn && p->duration_nanos == dn;
	if (!good)
		printf("# times %lld %lld, not %lld %lld\n",
		    (long long)p->time_nanos, (long long)p->duration_nanos,
		    (long long)tn, (long long)dn);
	profile_free(p);
	return good;
}

/* data coded from profile.c's parse, as heapwatchd's store puts it. */
static int
put_parsed(struct packstore *ps, int64_t time_ms, const void *data,
    size_t len, uint32_t *seq, char **cause)
{
	struct profile_raw	*raw;
	struct profile_view	 v;
	struct profile		*p;
	int			 rc;

	if ((p = profile_decode_parsed(data, len, MAX, NULL, &raw,
	    cause)) == NULL)
		return -1;
	profile_raw_view(raw, &v);
	rc = packstore_put_parsed(ps, time_ms, &v, len, MAX, seq, cause);
	profile_raw_free(raw);
	profile_free(p);
	return rc;
}

#define REPEATS	4

/*
 * The contract of a repeat, for the gzipped profile p named what: in one
 * database p then REPEATS copies of it with new times (each its fields 9
 * and 10 rewritten), stored through the full path; in another p then as
 * many repeats, the writer forgotten before the first (with each, before
 * every one), so that a repeat is coded from the newest row alone, the
 * one before last after an hour so that it starts a segment (a key,
 * which reads the writer back); both databases must hold the same rows,
 * byte for byte, and each snapshot read back as the same pprof with the
 * new times. Then a profile that differs, put after both (after a repeat
 * with the writer kept, or with each, one without it), must be stored
 * alike.
 */
static void
check_repeat(const char *dir, const uint8_t *p, size_t plen,
    const char *what, bool each)
{
	struct packstore	*full = NULL, *rep = NULL;
	char			 pa[256], pb[256], *cause = NULL, *da, *db;
	uint8_t			*q[REPEATS];
	size_t			 qlen[REPEATS], alen, blen;
	int64_t			 t[REPEATS + 1], tn[REPEATS], dn[REPEATS];
	uint32_t		 sa, sb;
	void			*oa, *ob;
	int			 i, bad = 0, rb = 0, bare = 0;

	snprintf(pa, sizeof pa, "%s/full.db", dir);
	snprintf(pb, sizeof pb, "%s/repeat.db", dir);
	unlink(pa);
	unlink(pb);
	t[0] = T0;
	for (i = 0; i < REPEATS; i++) {
		t[i + 1] = t[i] + (i == REPEATS - 2 ? 3600 * 1000 : STEP);
		tn[i] = t[i + 1] * 1000000 + 123456;
		dn[i] = i == 1 ? 0 : 1000000 + i;	/* and one without */
		q[i] = pb_retime(p, plen, tn[i], dn[i], &qlen[i]);
	}
	if (q[0] == NULL) {
		ok(0, "%s: the profile's times rewritten", what);
		goto out;
	}
	if (packstore_open(pa, PACKSTORE_CREATE, &full, &cause) == -1 ||
	    packstore_open(pb, PACKSTORE_CREATE, &rep, &cause) == -1) {
		ok(0, "%s: open: %s", what, cause);
		free(cause);
		goto out;
	}
	if (packstore_put(full, T0, p, plen, MAX, &sa, &cause) == -1 ||
	    packstore_put(rep, T0, p, plen, MAX, &sb, &cause) == -1) {
		ok(0, "%s: put: %s", what, cause);
		free(cause);
		goto out;
	}
	packstore_idle(rep);
	for (i = 0; i < REPEATS; i++) {
		if (i == 0 || each)
			packstore_writer_forget(rep);
		if (put_parsed(full, t[i + 1], q[i], qlen[i], &sa,
		    &cause) == -1 || packstore_put_repeat(rep, t[i + 1],
		    tn[i], dn[i], qlen[i], MAX, &sb, &cause) != 0) {
			printf("# %s: %s\n", what, cause);
			free(cause);
			cause = NULL;
			bad++;
		}
		/* Coded from the newest row, the writer stays unread. */
		if (packstore_writer_held(rep) == 0)
			bare++;
		packstore_idle(full);
		packstore_idle(rep);
	}
	ok(bad == 0, "%s: %d repeats stored, the writer forgotten before %s",
	    what, REPEATS, each ? "each" : "the first");
	ok(bare == (each ? REPEATS - 1 : REPEATS - 2), "%s: %d repeats of "
	    "%d not a key were coded without reading the writer back", what,
	    bare, each ? REPEATS - 1 : REPEATS - 2);
	da = dump_db(pa);
	db = dump_db(pb);
	ok(da != NULL && db != NULL && strcmp(da, db) == 0,
	    "%s: the repeats stored the very rows and blobs of the profile "
	    "stored again with their times (%zu bytes of rows)", what,
	    da != NULL ? strlen(da) : 0);
	if (da != NULL && db != NULL && strcmp(da, db) != 0) {
		for (i = 0; da[i] == db[i]; i++)
			continue;
		printf("# first difference at byte %d: %.60s | %.60s\n", i,
		    da + i, db + i);
	}
	free(da);
	free(db);
	for (i = 0, bad = 0; i < REPEATS; i++) {
		if (!read_times(full, t[i + 1], 0, tn[i], dn[i], &oa, &alen) ||
		    !read_times(rep, t[i + 1], 0, tn[i], dn[i], &ob, &blen) ||
		    alen != blen || memcmp(oa, ob, alen) != 0)
			bad++;
		free(oa);
		free(ob);
	}
	ok(bad == 0, "%s: each reads back as the same pprof, with its new "
	    "times", what);
	/* A profile that differs goes on from a repeat as from a put. */
	if (put_parsed(full, t[REPEATS] + STEP, p, plen, &sa, &cause) == -1 ||
	    packstore_put(rep, t[REPEATS] + STEP, p, plen, MAX, &sb,
	    &cause) == -1) {
		printf("# %s\n", cause);
		free(cause);
		rb = -1;
	}
	da = dump_db(pa);
	db = dump_db(pb);
	ok(rb == 0 && da != NULL && db != NULL && strcmp(da, db) == 0,
	    "%s: the profile put after a repeat %s is stored alike", what,
	    each ? "without the writer" : "with the writer kept");
	free(da);
	free(db);
out:
	packstore_close(full);
	packstore_close(rep);
	for (i = 0; i < REPEATS; i++)
		free(q[i]);
}

/*
 * Repeats refused: nothing to repeat, not the last one stored, or a
 * segment that does not read back.
 */
static void
test_repeat_refused(const char *dir)
{
	struct packstore	*ps, *other;
	char			 path[256], *cause = NULL;
	uint8_t			*p;
	size_t			 len, n;
	uint32_t		 seq;
	uint64_t		 bodies;
	int			 rc;

	if (!open_new(dir, "refused.db", path, sizeof path, &ps))
		return;
	rc = packstore_put_repeat(ps, T0, 1, 2, 100, MAX, &seq, &cause);
	ok(rc == 1 && cause != NULL && strstr(cause, "no snapshot to repeat")
	    != NULL, "a repeat on an empty database is refused: %s", cause);
	free(cause);
	cause = NULL;
	ok(listed(ps, 0, &n) == -1 && n == 0, "... and stores nothing");
	ok(put(ps, 0, &seq) == 0 && packstore_put_repeat(ps, T0 + STEP, 1, 2,
	    100, MAX, &seq, &cause) == 0, "after a put, a repeat is stored");
	free(cause);
	cause = NULL;

	/* Another connection stores a profile of its own. */
	p = gen(7, &len);
	if (packstore_open(path, 0, &other, &cause) == -1 ||
	    other == NULL || packstore_put(other, T0 + 2 * STEP, p, len, MAX,
	    &seq, &cause) == -1) {
		ok(0, "the other put: %s", cause);
		free(cause);
		free(p);
		packstore_close(ps);
		return;
	}
	packstore_close(other);
	rc = packstore_put_repeat(ps, T0 + 3 * STEP, 1, 2, 100, MAX, &seq,
	    &cause);
	ok(rc == 1 && cause != NULL, "a repeat when the newest is not the "
	    "connection's last put is refused: %s", cause);
	free(cause);
	cause = NULL;
	rc = listed(ps, 0, &n);
	ok(rc == -1 && n == 3 && reads_back(ps, 0, 0),
	    "... and stores nothing (%zu listed)", n);
	ok(put(ps, 4, &seq) == 0 && reads_back(ps, 4, 0),
	    "a put goes on after a refused repeat");
	/*
	 * A body before the newest in its segment damaged on disk: a
	 * repeat without the writer is refused as one with it is, rather
	 * than coded on a segment that does not read back.
	 */
	ok(put(ps, 5, &seq) == 0 && corrupt_body(path, T0 + 4 * STEP),
	    "a put, then the body before it damaged");
	packstore_writer_forget(ps);
	rc = packstore_put_repeat(ps, T0 + 6 * STEP, 1, 2, 100, MAX, &seq,
	    &cause);
	ok(rc == 1 && cause != NULL && strstr(cause, "does not read back") !=
	    NULL, "... then a repeat without the writer is refused: %s", cause);
	free(cause);
	cause = NULL;
	rc = listed(ps, T0 + 6 * STEP, &n);
	ok(rc == -1 && n == 5, "... and stores nothing (%zu listed)", n);
	/* The writer read back knows its next is a key: it stays. */
	bodies = packstore_bodies_read(ps);
	rc = packstore_put_repeat(ps, T0 + 6 * STEP, 1, 2, 100, MAX, &seq,
	    &cause);
	ok(rc == 1 && packstore_bodies_read(ps) == bodies, "... and again, "
	    "the segment not read back again (%llu bodies read)",
	    (unsigned long long)(packstore_bodies_read(ps) - bodies));
	free(cause);
	cause = NULL;

	/*
	 * A dictionary that does not read is a failure, not a refusal:
	 * coding the profile in full would need it too (and, on a lock
	 * held, wait as long again).
	 */
	ok(put(ps, 7, &seq) == 0 && corrupt_sql(path, "UPDATE dict SET blob ="
	    " substr(blob, 1, 6) || x'00112233' || substr(blob, 11) WHERE n ="
	    " 1"), "a put, then the first dictionary blob damaged");
	packstore_writer_forget(ps);
	/* Over an hour on: a key, which the writer codes. */
	rc = packstore_put_repeat(ps, T0 + 200 * STEP, 1, 2, 100, MAX, &seq,
	    &cause);
	ok(rc == -1 && cause != NULL, "... then a repeat that must read it "
	    "fails: %s", cause);
	free(cause);
	cause = NULL;
	rc = listed(ps, T0 + 200 * STEP, &n);
	ok(rc == -1 && n == 6, "... and stores nothing (%zu listed)", n);
	free(p);
	packstore_close(ps);
}

/*
 * kill -9 a writer at random moments, puts and repeats: what is listed
 * reads back.
 */
static void
test_kill(const char *path)
{
	struct packstore	*ps;
	struct packstore_snap	*v;
	char			*cause = NULL, *first = NULL;
	void			*out;
	size_t			 n, i, kept, bad, unread = 0, total = 0;
	uint32_t		 seq;
	pid_t			 pid;
	int			 round, k, t, status, fd[2];
	bool			 broken;
	char			 c;

	for (round = 0; round < 8; round++) {
		if (pipe(fd) == -1) {
			ok(0, "pipe");
			return;
		}
		if ((pid = fork()) == 0) {
			close(fd[0]);
			if (packstore_open(path, PACKSTORE_CREATE, &ps,
			    &cause) == -1)
				_exit(1);
			for (k = 0; ; k++) {
				t = 1000 + round * 100000 + k;
				/* Every third a repeat of the one before. */
				if (k % 3 == 2 ? packstore_put_repeat(ps, T0 +
				    (int64_t)t * STEP, (T0 + (int64_t)t *
				    STEP) * 1000000, 1000, 100, MAX, &seq,
				    &cause) != 0 : put_at(ps, k % 90, t,
				    &seq) == -1)
					_exit(1);
				/* The database is made: the parent may kill. */
				if (k == 0 && (write(fd[1], "", 1) != 1 ||
				    close(fd[1]) == -1))
					_exit(1);
			}
		}
		close(fd[1]);
		/*
		 * After the first put, however slow the machine, then long
		 * enough for some more, at any point of one.
		 */
		while (read(fd[0], &c, 1) == -1 && errno == EINTR)
			continue;
		close(fd[0]);
		usleep(20000 + (useconds_t)(random() % 200000));
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		if (packstore_open(path, 0, &ps, &cause) == -1 ||
		    ps == NULL) {
			ok(0, "open after kill -9: %s", cause);
			return;
		}
		if (packstore_check(ps, MAX, &kept, &bad, &first, &broken,
		    &cause) == -1 || bad != 0) {
			printf("# check: %s %s\n", cause, first);
			unread++;
		}
		if (packstore_list(ps, &v, &n, &cause) == 0) {
			for (i = 0; i < n; i++)
				if (packstore_read(ps, v[i].time_ms, v[i].seq,
				    MAX, false, &out, &kept, &cause) == -1) {
					printf("# %s\n", cause);
					free(cause);
					cause = NULL;
					unread++;
				} else
					free(out);
			total = n;
			free(v);
		}
		packstore_close(ps);
	}
	ok(unread == 0, "after 8 kill -9 of a writer of puts and repeats, all "
	    "%zu listed read back", total);
}

/*
 * Make the databases dir/name[i].db, their paths in path[i], opened in
 * ps[i]; false when one does not open.
 */
static bool
open_three(const char *dir, const char *const *name, char (*path)[256],
    struct packstore **ps)
{
	char	*cause = NULL;
	int	 i;

	for (i = 0; i < 3; i++) {
		snprintf(path[i], 256, "%s/%s.db", dir, name[i]);
		if (packstore_open(path[i], PACKSTORE_CREATE, &ps[i],
		    &cause) == -1) {
			ok(0, "open %s: %s", name[i], cause);
			free(cause);
			return false;
		}
	}
	return true;
}

/*
 * A writer shrunk to its newest snapshot (packstore_writer_shrink(), as
 * the store's budget does) codes what a writer kept codes, and one
 * forgotten after each put: three databases given the same puts, one
 * of them by another connection midway and one a repeat (coded from the
 * newest row alone where the writer is not kept), hold the same rows
 * byte for byte. The shrunk writer reads back only the bodies stored
 * since it shrank, those two, where a forgotten one reads its segment
 * at each put; and it does not code on a segment that a body damaged on
 * disk has broken.
 */
static void
test_shrink(const char *dir)
{
	static const char	*name[] = { "kept", "shrunk", "forgot" };
	struct packstore	*ps[3] = { NULL }, *other;
	char			 path[3][256], *cause = NULL, *dump[3] = { 0 };
	uint32_t		 seq;
	uint64_t		 bodies[3];
	int64_t			 t;
	size_t			 held, most = 0, big = 0;
	int			 i, k, bad = 0, unread = 0;

	if (!open_three(dir, name, path, ps))
		goto out;
	for (k = 0; k < RUN; k++)
		for (i = 0; i < 3; i++) {
			if (k == RUN / 2 + 4) {
				/*
				 * Another connection stores one between, which
				 * adds nothing to the dictionary (no new stack
				 * since k - 1).
				 */
				if (packstore_open(path[i], 0, &other,
				    &cause) == -1 || put(other, k, &seq) ==
				    -1)
					bad++;
				packstore_close(other);
				free(cause);
				cause = NULL;
				continue;
			}
			if (k == RUN / 2 + 20) {
				/* The last profile again, 1 s on. */
				t = T0 + (int64_t)(k - 1) * STEP + 1000;
				if (packstore_put_repeat(ps[i], t, t * 1000000,
				    0, 100, MAX, &seq, &cause) != 0) {
					printf("# repeat: %s\n", cause);
					bad++;
				}
				free(cause);
				cause = NULL;
			}
			if (put(ps[i], k, &seq) == -1)
				bad++;
			packstore_idle(ps[i]);
			if (i == 1) {
				held = packstore_writer_held(ps[i]);
				if (held > big)
					big = held;
				held = packstore_writer_shrink(ps[i]);
				if (held > most)
					most = held;
				if (packstore_writer_held(ps[i]) != held)
					bad++;
			} else if (i == 2)
				packstore_writer_forget(ps[i]);
		}
	for (i = 0; i < 3; i++) {
		bodies[i] = packstore_bodies_read(ps[i]);
		for (k = 0; k < RUN; k += 7)
			if (!reads_back(ps[i], k, 0))
				unread++;
		dump[i] = dump_db(path[i]);
	}
	ok(bad == 0 && unread == 0, "%d puts kept, shrunk and forgotten, one "
	    "by another connection, and a repeat, all read back (%d failed, "
	    "%d unread)", RUN, bad, unread);
	ok(dump[0] != NULL && dump[1] != NULL && dump[2] != NULL &&
	    strcmp(dump[0], dump[1]) == 0 && strcmp(dump[0], dump[2]) == 0,
	    "... and hold the same rows, byte for byte");
	ok(most > 0 && most * 4 < big, "a writer shrunk keeps %zu bytes at "
	    "most, kept %zu", most, big);
	ok(bodies[1] == 2 && bodies[2] > RUN, "bodies read back: %llu by "
	    "the writer shrunk (the other connection's and the repeat), %llu "
	    "by the writer kept, %llu by the one forgotten",
	    (unsigned long long)bodies[1], (unsigned long long)bodies[0],
	    (unsigned long long)bodies[2]);

	/*
	 * A body damaged on disk before the shrunk writer's snapshot, then
	 * its own: its next is a key that reads back, as the forgotten
	 * writer's, not a delta on a segment that does not read.
	 */
	for (k = RUN; k < RUN + 2; k++) {
		for (i = 1; i < 3; i++) {
			if (!corrupt_body(path[i], T0 + (int64_t)(k == RUN ?
			    RUN - 3 : RUN) * STEP) || put(ps[i], k, &seq) == -1)
				bad++;
			else if (listed(ps[i], T0 + (int64_t)k * STEP, NULL) !=
			    1 || !reads_back(ps[i], k, 0))
				bad++;
			packstore_idle(ps[i]);
			if (i == 1)
				(void)packstore_writer_shrink(ps[i]);
			else
				packstore_writer_forget(ps[i]);
		}
	}
	ok(bad == 0, "a body damaged before a shrunk writer's snapshot, then "
	    "that snapshot's own: each next put is a key that reads back");
out:
	for (i = 0; i < 3; i++) {
		packstore_close(ps[i]);
		free(dump[i]);
	}
}

/*
 * A shrunk writer given a parsed profile of the shape of the last it
 * coded (gen() adds a stack every third profile; the two between change
 * values only) codes it from what it kept, without its dictionary
 * (packstore_put_shaped()): the same rows, byte for byte, as a writer
 * kept and one forgotten after each put, through repeats of the last
 * profile stored between (coded from the newest row alone where the
 * writer is not kept), segments ended by their count, and another
 * connection's put, after which the next is coded by the writer's path.
 * With profiles given (nprof), those, and at least least coded by shape.
 */
static void
test_shaped(const char *dir, uint64_t least)
{
	int			 run = nprof > 0 ? nprof : RUN;
	/*
	 * Another connection's put: for gen()'s, of the shape of the one
	 * before, so that the next put, of that shape too, matches the
	 * shrunk writer's digest while the newest row is another's, which
	 * it must not code on (the rows compared below would differ).
	 */
	int			 other_k = nprof > 0 ? run / 2 : RUN / 2 + 1;
	uint8_t			*in;
	size_t			 inlen;
	static const char	*name[] = { "skept", "sshrunk", "sforgot" };
	struct packstore	*ps[3] = { NULL }, *other;
	char			 path[3][256], *cause = NULL, *dump[3] = { 0 };
	uint32_t		 seq;
	uint64_t		 shaped[3];
	int64_t			 t;
	int			 i, k, bad = 0, unread = 0, rb;

	if (!open_three(dir, name, path, ps))
		goto out;
	for (k = 0; k < run; k++)
		for (i = 0; i < 3; i++) {
			if (k == other_k) {
				in = prof(k, &inlen);
				if (packstore_open(path[i], 0, &other,
				    &cause) == -1 || packstore_put(other, T0 +
				    (int64_t)k * STEP, in, inlen, MAX, &seq,
				    &cause) == -1)
					bad++;
				free(in);
				packstore_close(other);
				free(cause);
				cause = NULL;
				continue;
			}
			/* Not after another's put: that one, not repeated. */
			if (k % 5 == 2 && k != other_k + 1) {
				/* The last profile again, 1 and 2 s on. */
				for (rb = 1; rb <= 2; rb++) {
					t = T0 + (int64_t)(k - 1) * STEP +
					    1000 * rb;
					if (packstore_put_repeat(ps[i], t,
					    t * 1000000, 0, 100, MAX, &seq,
					    &cause) != 0) {
						printf("# repeat: %s\n", cause);
						bad++;
					}
					free(cause);
					cause = NULL;
				}
			}
			if (put_as(ps[i], k, k, true, &seq) == -1)
				bad++;
			packstore_idle(ps[i]);
			if (i == 1)
				(void)packstore_writer_shrink(ps[i]);
			else if (i == 2)
				packstore_writer_forget(ps[i]);
		}
	for (i = 0; i < 3; i++) {
		shaped[i] = packstore_shaped_puts(ps[i]);
		for (k = 0; k < run; k += nprof > 0 ? 1 : 7)
			if (!reads_back(ps[i], k, 0))
				unread++;
		dump[i] = dump_db(path[i]);
	}
	ok(bad == 0 && unread == 0, "%d parsed puts kept, shrunk and "
	    "forgotten, with repeats between and one by another connection, "
	    "all read back (%d failed, %d unread)", run, bad, unread);
	ok(dump[0] != NULL && dump[1] != NULL && dump[2] != NULL &&
	    strcmp(dump[0], dump[1]) == 0 && strcmp(dump[0], dump[2]) == 0,
	    "... and hold the same rows, byte for byte");
	ok(shaped[1] >= least && shaped[0] == 0 && shaped[2] == 0, "puts "
	    "coded by shape: %llu by the writer shrunk (at least %llu), %llu "
	    "kept, %llu forgotten", (unsigned long long)shaped[1],
	    (unsigned long long)least, (unsigned long long)shaped[0],
	    (unsigned long long)shaped[2]);
out:
	for (i = 0; i < 3; i++) {
		packstore_close(ps[i]);
		free(dump[i]);
	}
}

/* Open dir/name as the writer's and another connection's database. */
static bool
open_two(const char *dir, const char *name, struct packstore **ps,
    struct packstore **other)
{
	char	path[256], *cause = NULL;

	*ps = *other = NULL;
	if (!open_new(dir, name, path, sizeof path, ps))
		return false;
	if (packstore_open(path, 0, other, &cause) == 0)
		return true;
	ok(0, "open %s again: %s", name, cause);
	free(cause);
	return false;
}

/*
 * A writer kept whole while another connection drops its whole segment
 * and stores as many rows again, of other profiles already in the
 * dictionary: the newest row and dictionary blob have the numbers the
 * writer knows (SQLite gives an emptied table's rowids again), the
 * contents are others. A repeat of the writer's last snapshot is refused,
 * and its next put reads the segment back rather than code a delta on a
 * snapshot that is no longer there.
 */
static void
test_remade(const char *dir)
{
	struct packstore	*ps, *other;
	struct packstore_snap	 v[6];
	char			*cause = NULL;
	uint32_t		 seq;
	size_t			 removed = 0;
	int			 k, rc, bad = 0;

	if (!open_two(dir, "remade.db", &ps, &other))
		goto out;
	for (k = 0; k < 6; k++)
		if (put(ps, k, &seq) == -1)
			bad++;
	memset(v, 0, sizeof v);
	for (k = 0; k < 6; k++)
		v[k].time_ms = T0 + (int64_t)k * STEP;
	if (packstore_drop(other, v, 6, MAX, &removed, &cause) == -1) {
		printf("# drop: %s\n", cause);
		free(cause);
		cause = NULL;
		bad++;
	}
	/* The same six in reverse: row 6 is gen(0), not gen(5). */
	for (k = 0; k < 6; k++)
		if (put_at(other, 5 - k, 10 + k, &seq) == -1)
			bad++;
	ok(bad == 0 && removed == 6 && listed(ps, T0, NULL) == -1,
	    "another connection dropped the segment and stored six again");
	rc = packstore_put_repeat(ps, T0 + 16 * STEP, 0, 0, 100, MAX, &seq,
	    &cause);
	ok(rc == 1 && listed(ps, T0 + 16 * STEP, NULL) == -1,
	    "a repeat of the writer's last is refused: %s", cause);
	free(cause);
	cause = NULL;
	ok(put_at(ps, 6, 16, &seq) == 0 && reads_back_at(ps, 6, 16),
	    "the writer's next snapshot reads back");
	for (k = 0, bad = 0; k < 6; k++)
		if (!reads_back_at(ps, 5 - k, 10 + k))
			bad++;
	ok(bad == 0, "... and so do the other connection's");
out:
	packstore_close(other);
	packstore_close(ps);
}

/* The one integer that sql answers on the database at path; -1 if none. */
static int64_t
sql_int(const char *path, const char *sql)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	int64_t		 v = -1;

	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			v = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return v;
}

/* The rows of segment seg in the database at path, dropped or not. */
static long long
seg_rows(const char *path, int seg)
{
	char	sql[64];

	snprintf(sql, sizeof sql, "SELECT count(*) FROM snap WHERE seg = %d",
	    seg);
	return sql_int(path, sql);
}

/*
 * A database of n snapshots, closed, the body of the hit-th damaged, then
 * opened again as *ps: what says so.
 */
static bool
stored_damaged(const char *dir, const char *name, char *path, size_t len,
    int n, int hit, struct packstore **ps, const char *what)
{
	char		*cause = NULL;
	uint32_t	 seq;
	int		 k, bad = 0;

	if (!open_new(dir, name, path, len, ps))
		return false;
	for (k = 0; k < n; k++)
		if (put(*ps, k, &seq) == -1)
			bad++;
	packstore_close(*ps);
	ok(bad == 0 && corrupt_body(path, T0 + (int64_t)hit * STEP), "%s",
	    what);
	if (packstore_open(path, 0, ps, &cause) == 0)
		return true;
	ok(0, "open again: %s", cause);
	free(cause);
	return false;
}

/*
 * A damaged body among a segment's dropped rows after its last listed
 * one: coding the segment again needs none of them, so it is coded again
 * all the same, and the next segment after it.
 */
static void
test_recode_damaged_tail(const char *dir)
{
	struct packstore	*ps;
	struct packstore_snap	 v[2 * PACKSTORE_SEGMENT];
	char			 path[256], *cause = NULL;
	size_t			 nv = 0, removed = 0;
	int			 k, bad = 0;

	if (!stored_damaged(dir, "tail.db", path, sizeof path,
	    2 * PACKSTORE_SEGMENT + 2, PACKSTORE_SEGMENT - 1, &ps,
	    "two segments and more stored, the first's last body damaged"))
		return;
	/* All but the first of each of the two segments dropped. */
	memset(v, 0, sizeof v);
	for (k = 0; k < 2 * PACKSTORE_SEGMENT; k++)
		if (k % PACKSTORE_SEGMENT != 0)
			v[nv++].time_ms = T0 + (int64_t)k * STEP;
	if (packstore_drop(ps, v, nv, MAX, &removed, &cause) == -1 ||
	    packstore_drop(ps, v, 1, MAX, &removed, &cause) == -1) {
		printf("# drop: %s\n", cause);
		free(cause);
		bad++;
	}
	ok(bad == 0 && seg_rows(path, 1) == 1 && seg_rows(path, 2) == 1,
	    "both are coded again, their dropped rows deleted (%lld and %lld "
	    "rows left)", seg_rows(path, 1), seg_rows(path, 2));
	ok(reads_back(ps, 0, 0) && reads_back(ps, PACKSTORE_SEGMENT, 0),
	    "and what they keep reads back");
	packstore_close(ps);
}

/* Into v, the first segment's snapshots but its key and row kept: how many. */
static size_t
first_but(struct packstore_snap *v, int kept)
{
	size_t	n = 0;
	int	k;

	memset(v, 0, PACKSTORE_SEGMENT * sizeof *v);
	for (k = 1; k < PACKSTORE_SEGMENT; k++)
		if (k != kept)
			v[n++].time_ms = T0 + (int64_t)k * STEP;
	return n;
}

/*
 * A damaged body among the rows that coding a segment again reads, found
 * after start-up (packstore_check() did not see it): the drop says so and
 * sets aside the snapshots that depend on it, as packstore_check() would,
 * and a later drop codes the next half-empty segment again, which the
 * damaged one, the first that a sweep finds, kept from it before.
 */
static void
test_recode_damaged(const char *dir)
{
	struct packstore	*ps;
	struct packstore_snap	 v[PACKSTORE_SEGMENT];
	char			 path[256], sql[128], *cause = NULL;
	size_t			 nv = 0, removed = 0;
	int			 k, rc, bad = 0;
	const int		 hit = 5, kept = 10;

	if (!stored_damaged(dir, "damaged.db", path, sizeof path,
	    3 * PACKSTORE_SEGMENT + 2, hit, &ps, "three segments and more "
	    "stored, one body of the first damaged since"))
		return;
	/* Of the first segment, all but its key and one after the damage. */
	nv = first_but(v, kept);
	rc = packstore_drop(ps, v, nv, MAX, &removed, &cause);
	ok(rc == 1 && cause != NULL && strstr(cause, "segment 1:") != NULL &&
	    strstr(cause, "; 1 snapshot set aside") != NULL,
	    "a drop that leaves it half empty says why it is not coded again "
	    "(%d: %s)", rc, cause != NULL ? cause : "nothing");
	free(cause);
	cause = NULL;
	snprintf(sql, sizeof sql, "SELECT state FROM snap WHERE time_ms ="
	    " %lld", T0 + (long long)kept * STEP);
	is_int(removed, nv + 1, "the dropped and the one set aside are no "
	    "longer listed");
	is_int(sql_int(path, sql), 2, "the one coded against the damaged "
	    "body is set aside, not deleted");
	ok(reads_back(ps, 0, 0), "the key before it still reads back");

	/* Then most of the second, a snapshot at a time. */
	for (k = PACKSTORE_SEGMENT + 1; k < 2 * PACKSTORE_SEGMENT; k++) {
		v[0].time_ms = T0 + (int64_t)k * STEP;
		if (packstore_drop(ps, v, 1, MAX, &removed, &cause) != 0) {
			printf("# drop %d: %s\n", k, cause ? cause : "none");
			free(cause);
			cause = NULL;
			bad++;
		}
	}
	ok(bad == 0 && seg_rows(path, 2) == 1 && seg_rows(path, 1) ==
	    PACKSTORE_SEGMENT, "the second is coded again (%lld rows left), "
	    "the first kept whole (%lld)", seg_rows(path, 2),
	    seg_rows(path, 1));
	ok(reads_back(ps, PACKSTORE_SEGMENT, 0) &&
	    reads_back(ps, 2 * PACKSTORE_SEGMENT + 1, 0),
	    "what the others keep reads back");
	packstore_close(ps);
}

/*
 * Setting aside what a damaged body leaves unreadable can fail too (the
 * disk full at that moment; here a trigger refuses it): the drops stand,
 * the drop says so, and the next drop's sweep tries again.
 */
static void
test_recode_aside_fails(const char *dir)
{
	struct packstore	*ps;
	struct packstore_snap	 v[PACKSTORE_SEGMENT];
	char			 path[256], sql[128], *cause = NULL;
	size_t			 nv, removed = 0;
	const int		 kept = 10;
	int			 rc;

	if (!stored_damaged(dir, "asidefail.db", path, sizeof path,
	    3 * PACKSTORE_SEGMENT + 2, 5, &ps, "three segments and more "
	    "stored, one body of the first damaged since"))
		return;
	ok(sql_run(path, "CREATE TRIGGER full BEFORE UPDATE OF state ON snap"
	    " WHEN NEW.state = 2 BEGIN SELECT RAISE(ABORT, 'disk full');"
	    " END") == 0, "setting aside refused");
	nv = first_but(v, kept);
	rc = packstore_drop(ps, v, nv, MAX, &removed, &cause);
	ok(rc == 1 && removed == nv && cause != NULL &&
	    strstr(cause, "segment 1:") != NULL &&
	    strstr(cause, "not set aside:") != NULL &&
	    strstr(cause, "disk full") != NULL,
	    "the drops stand (%zu of %zu), and it says why none is set aside "
	    "(%d: %s)", removed, nv, rc, cause != NULL ? cause : "nothing");
	free(cause);
	cause = NULL;
	snprintf(sql, sizeof sql, "SELECT state FROM snap WHERE time_ms ="
	    " %lld", T0 + (long long)kept * STEP);
	is_int(sql_int(path, sql), 0, "the one after the damage is listed");

	ok(sql_run(path, "DROP TRIGGER full") == 0, "then allowed again");
	v[0].time_ms = T0 + (int64_t)(PACKSTORE_SEGMENT + 1) * STEP;
	rc = packstore_drop(ps, v, 1, MAX, &removed, &cause);
	ok(rc == 1 && removed == 2 && cause != NULL &&
	    strstr(cause, "; 1 snapshot set aside") != NULL,
	    "the next drop, elsewhere, sets it aside (%d, %zu: %s)", rc,
	    removed, cause != NULL ? cause : "nothing");
	free(cause);
	is_int(sql_int(path, sql), 2, "set aside, not deleted");
	packstore_close(ps);
}

/*
 * A relative path that starts with "file:" (a relative storage.path so
 * named) is the file of that name, not a URI for another.
 */
static void
test_file_colon(const char *dir)
{
	struct packstore	*ps;
	struct stat		 sb;
	char			*cause = NULL;
	uint32_t		 seq;
	int			 here;
	bool			 made = false;

	if ((here = open(".", O_RDONLY | O_DIRECTORY)) == -1 ||
	    chdir(dir) == -1) {
		ok(0, "into %s: %s", dir, strerror(errno));
		if (here != -1)
			close(here);
		return;
	}
	if (packstore_open("file:uri.db", PACKSTORE_CREATE, &ps,
	    &cause) == 0) {
		made = put(ps, 0, &seq) == 0 && reads_back(ps, 0, 0);
		packstore_close(ps);
	} else {
		printf("# open: %s\n", cause);
		free(cause);
	}
	ok(made && stat("file:uri.db", &sb) == 0 && stat("uri.db", &sb) ==
	    -1, "a relative path \"file:uri.db\" is that file, not uri.db");
	if (fchdir(here) == -1)
		ok(0, "back: %s", strerror(errno));
	close(here);
}

/* Segments older than the newest that drops left half empty. */
static long long
half_empty(const char *path)
{
	return sql_int(path, "SELECT count(*) FROM (SELECT seg FROM snap"
	    " WHERE seg < (SELECT max(seg) FROM snap) GROUP BY seg HAVING"
	    " max(state) = 1 AND 2 * sum(state) >= count(*))");
}

/*
 * Drops one at a time through one connection, as retention's tiers thin
 * a month out at each put: each segment a drop leaves half empty is coded
 * again by that drop, though most drops read only the segments they
 * touch, not every segment's rows; the newest segment once another
 * starts; one left half empty by another connection within
 * PACKSTORE_SWEEP drops.
 */
static void
test_halfempty(const char *dir)
{
	struct packstore	*ps;
	struct packstore_snap	 v;
	char			 path[256], sql[160], *cause = NULL;
	uint32_t		 seq;
	size_t			 removed;
	int			 k, bad = 0, left = 0, drops = 0;
	long long		 seg;

	if (!open_new(dir, "half.db", path, sizeof path, &ps))
		return;
	for (k = 0; k < 8 * PACKSTORE_SEGMENT; k++)
		if (put(ps, k, &seq) == -1)
			bad++;
	ok(bad == 0, "eight segments stored");
	memset(&v, 0, sizeof v);
	/* Of the first six segments, all but one in ten, one a drop. */
	for (k = 0; k < 6 * PACKSTORE_SEGMENT && bad == 0; k++) {
		if (k % 10 == 0)
			continue;
		v.time_ms = T0 + (int64_t)k * STEP;
		if (packstore_drop(ps, &v, 1, MAX, &removed, &cause) == -1 ||
		    removed != 1) {
			printf("# drop %d: %s\n", k, cause ? cause : "none");
			bad++;
		}
		drops++;
		if (half_empty(path) != 0)
			left++;
	}
	ok(bad == 0 && left == 0, "%d drops, one at a time: none leaves a "
	    "segment half empty (%d did)", drops, left);
	ok(packstore_sweeps(ps) > 0 && packstore_sweeps(ps) * 4 < (uint64_t)
	    drops, "%llu of them searched every segment",
	    (unsigned long long)packstore_sweeps(ps));
	is_int(sql_int(path, "SELECT count(*) FROM snap WHERE state = 0"),
	    8 * PACKSTORE_SEGMENT - drops, "the others are listed");

	/* Most of the newest segment dropped: it is coded once old. */
	for (k = 7 * PACKSTORE_SEGMENT + 1; k < 8 * PACKSTORE_SEGMENT - 8 &&
	    bad == 0; k++) {
		v.time_ms = T0 + (int64_t)k * STEP;
		if (packstore_drop(ps, &v, 1, MAX, &removed, &cause) == -1) {
			printf("# drop %d: %s\n", k, cause);
			bad++;
		}
	}
	snprintf(sql, sizeof sql, "SELECT count(*) FROM snap WHERE seg ="
	    " (SELECT max(seg) FROM snap) AND state = 1");
	ok(bad == 0 && sql_int(path, sql) == PACKSTORE_SEGMENT - 9, "the "
	    "newest segment, most of it dropped, is not coded again while "
	    "the newest");
	if (put(ps, 8 * PACKSTORE_SEGMENT, &seq) == -1)
		bad++;
	v.time_ms = T0 + STEP;	/* gone already: touches no segment */
	ok(bad == 0 && half_empty(path) == 1 && packstore_drop(ps, &v, 1,
	    MAX, &removed, &cause) == 0 && half_empty(path) == 0, "once a "
	    "put starts another, it is, at the next drop");
	/* The drop after that one sweeps, finding nothing. */
	if (packstore_drop(ps, &v, 1, MAX, &removed, &cause) == -1)
		bad++;

	/* Half of the seventh segment dropped by another connection. */
	snprintf(sql, sizeof sql, "SELECT seg FROM snap WHERE time_ms = %lld",
	    T0 + 6LL * PACKSTORE_SEGMENT * STEP);
	seg = sql_int(path, sql);
	snprintf(sql, sizeof sql, "UPDATE snap SET state = 1 WHERE seg = %lld"
	    " AND (time_ms - %lld) / %d %% 2 = 1 RETURNING n", seg, T0, STEP);
	ok(sql_int(path, sql) > 0 && half_empty(path) == 1, "another "
	    "connection leaves segment %lld half empty", seg);
	/* Drops of a snapshot gone already, which touch no segment. */
	v.time_ms = T0 + STEP;
	for (k = 0; k < PACKSTORE_SWEEP && half_empty(path) != 0; k++) {
		if (packstore_drop(ps, &v, 1, MAX, &removed, &cause) == -1) {
			printf("# drop: %s\n", cause);
			break;
		}
	}
	ok(half_empty(path) == 0, "found and coded again within %d drops "
	    "(%d)", PACKSTORE_SWEEP, k);
	ok(reads_back(ps, 6 * PACKSTORE_SEGMENT, 0) &&
	    reads_back(ps, 7 * PACKSTORE_SEGMENT - 2, 0) &&
	    reads_back(ps, 8 * PACKSTORE_SEGMENT - 1, 0),
	    "what they keep reads back");
	packstore_close(ps);
	free(cause);
}

/*
 * A reader kept while every snapshot is dropped (as retention does to a
 * folder's packed snapshots once it keeps files) and others are stored:
 * SQLite gives the emptied table's rowids again, the segment gets the
 * same number, and a writer made afresh numbers its serials from 1, so
 * the row the reader holds is there again under its number and serial
 * with another profile. A read past it is made from the segment's key,
 * not from what the reader holds.
 */
static void
test_reader_remade(const char *dir)
{
	struct packstore	*ps;
	struct packstore_reader	*rd;
	struct packstore_snap	 v[6];
	char			 path[256], *cause = NULL;
	uint32_t		 seq;
	size_t			 removed = 0;
	int			 k, bad = 0;

	if (!open_new(dir, "reader_remade.db", path, sizeof path, &ps))
		return;
	rd = packstore_reader_new();
	for (k = 0; k < 6; k++)
		if (put(ps, k, &seq) == -1)
			bad++;
	ok(bad == 0 && reads_back_with(ps, rd, 2),
	    "six stored, the third read through a reader");
	memset(v, 0, sizeof v);
	for (k = 0; k < 6; k++)
		v[k].time_ms = T0 + (int64_t)k * STEP;
	if (packstore_drop(ps, v, 6, MAX, &removed, &cause) == -1) {
		printf("# drop: %s\n", cause);
		free(cause);
		bad++;
	}
	packstore_writer_forget(ps);
	/* The same six in reverse: row 3 is gen(3) now, not gen(2). */
	for (k = 0; k < 6; k++)
		if (put_at(ps, 5 - k, 10 + k, &seq) == -1)
			bad++;
	ok(bad == 0 && removed == 6, "all six dropped, six others stored");
	for (k = 3, bad = 0; k < 6; k++)
		if (!reads_back_with_at(ps, rd, 5 - k, 10 + k))
			bad++;
	ok(bad == 0, "the reader reads the rows after the one it held as "
	    "stored, not on the profile it held (%d bad)", bad);
	packstore_reader_free(rd);
	packstore_close(ps);
}

/*
 * The same, where the newest rows' bodies are byte for byte the writer's
 * own: a repeat's body holds the times and serials, not the snapshot it
 * repeats, so gen(1) repeated after another connection remade the
 * segment ends as gen(0) repeated with the same times did.
 */
static void
test_remade_repeat(const char *dir)
{
	struct packstore	*ps, *other;
	struct packstore_snap	 v[2];
	char			*cause = NULL;
	uint32_t		 seq;
	size_t			 removed = 0;
	int64_t			 nanos = (T0 + 5 * STEP) * 1000000;
	int			 rc, bad = 0;

	if (!open_two(dir, "remade-repeat.db", &ps, &other))
		goto out;
	if (put(ps, 0, &seq) == -1 || packstore_put_repeat(ps, T0 + STEP,
	    nanos, 0, 100, MAX, &seq, &cause) != 0)
		bad++;
	memset(v, 0, sizeof v);
	v[0].time_ms = T0;
	v[1].time_ms = T0 + STEP;
	if (packstore_drop(other, v, 2, MAX, &removed, &cause) == -1 ||
	    put_at(other, 1, 2, &seq) == -1 ||
	    packstore_put_repeat(other, T0 + 3 * STEP, nanos, 0, 100, MAX,
	    &seq, &cause) != 0)
		bad++;
	ok(bad == 0 && removed == 2, "another connection stored gen(1) and "
	    "a repeat of it in place of the writer's gen(0) and its repeat%s%s",
	    cause != NULL ? ": " : "", cause != NULL ? cause : "");
	free(cause);
	cause = NULL;
	rc = packstore_put_repeat(ps, T0 + 4 * STEP, nanos, 0, 100, MAX, &seq,
	    &cause);
	ok(rc == 1, "the writer's repeat is refused: %s", cause);
	free(cause);
	cause = NULL;
	ok(put_at(ps, 2, 5, &seq) == 0 && reads_back_at(ps, 2, 5) &&
	    reads_back_at(ps, 1, 2), "its next snapshot reads back, and so "
	    "does the other connection's");
out:
	packstore_close(other);
	packstore_close(ps);
}

/*
 * pread(2), as SQLite reads a database's pages through it: the kernel's,
 * counted in preads while counting is set.
 */
static int	preads;
static bool	counting;

ssize_t
pread(int fd, void *buf, size_t n, off_t off)
{
	if (counting)
		preads++;
	return syscall(SYS_pread64, fd, buf, n, off);
}

ssize_t
pread64(int fd, void *buf, size_t n, off_t off)
{
	return pread(fd, buf, n, off);
}

/* Whether SQLite's plan for sql on the database at path names what. */
static bool
plan_uses(const char *path, const char *sql, const char *what)
{
	sqlite3		*db;
	sqlite3_stmt	*st;
	char		 q[512];
	const char	*d;
	bool		 found = false;

	snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
	if (sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_prepare_v2(db, q, -1, &st, NULL) == SQLITE_OK) {
		while (sqlite3_step(st) == SQLITE_ROW)
			if ((d = (const char *)sqlite3_column_text(st, 3)) !=
			    NULL && strstr(d, what) != NULL)
				found = true;
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return found;
}

/* Whether two listings are the same snapshots, sizes and keys. */
static bool
same_list(const struct packstore_snap *a, size_t na,
    const struct packstore_snap *b, size_t nb)
{
	size_t	i;

	if (na != nb)
		return false;
	for (i = 0; i < na; i++)
		if (a[i].time_ms != b[i].time_ms || a[i].seq != b[i].seq ||
		    a[i].size != b[i].size || a[i].stored != b[i].stored ||
		    a[i].key != b[i].key)
			return false;
	return true;
}

/*
 * What a listing reads through a cold connection, as at each put: the
 * index's pages, not the table's, bodies and all (a tenth of them or so
 * for these small profiles; 26 pages rather than 1,190 for a month of
 * the leak fixture's).
 */
static void
test_listing_reads(const char *dir)
{
	struct packstore	*ps;
	struct packstore_snap	*v = NULL;
	char			 path[256], sql[160], *cause = NULL;
	uint32_t		 seq;
	size_t			 n = 0, removed = 0;
	int64_t			 pages;
	int			 k, bad = 0;

	if (!open_new(dir, "reads.db", path, sizeof path, &ps))
		return;
	for (k = 0; k < 1000; k++)
		if (put_at(ps, k % 300, k, &seq) == -1)
			bad++;
	packstore_close(ps);
	pages = sql_int(path, "SELECT count(*) FROM dbstat WHERE name ="
	    " 'snap'");
	ok(bad == 0 && pages > 0, "1,000 snapshots stored, the table in %lld "
	    "pages", (long long)pages);
	ok(packstore_open(path, 0, &ps, &cause) == 0 && ps != NULL,
	    "the database opens again");
	preads = 0;
	counting = true;
	ok(ps != NULL && packstore_list(ps, &v, &n, &cause) == 0 && n == 1000,
	    "its 1,000 snapshots are listed");
	counting = false;
	ok(preads > 0 && preads * 3 < pages, "the listing reads %d pages, not "
	    "the table's %lld", preads, (long long)pages);

	/* Two whole segments dropped at once: both go. */
	free(v);
	v = xcalloc(2 * PACKSTORE_SEGMENT, sizeof *v);
	for (k = 0; k < 2 * PACKSTORE_SEGMENT; k++)
		v[k].time_ms = T0 + (int64_t)(PACKSTORE_SEGMENT + k) * STEP;
	ok(ps != NULL && packstore_drop(ps, v, 2 * PACKSTORE_SEGMENT, MAX,
	    &removed, &cause) == 0 && removed == 2 * PACKSTORE_SEGMENT,
	    "the second and third segments dropped in one");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM snap WHERE time_ms >="
	    " %lld AND time_ms < %lld", T0 + (long long)PACKSTORE_SEGMENT *
	    STEP, T0 + 3LL * PACKSTORE_SEGMENT * STEP);
	is_int(sql_int(path, sql), 0, "... and their rows go, both");
	is_int(sql_int(path, "SELECT count(*) FROM snap"),
	    1000 - 2 * PACKSTORE_SEGMENT, "the others stay");
	packstore_close(ps);
	free(v);
	free(cause);
}

/*
 * The listing's index: a database has it from its making, lists from it
 * alone, and one made without it (by an older heapwatch) is given it by
 * the next connection, listing the same snapshots, a connection opened
 * before that listing them from the table all the same.
 */
static void
test_indexed(const char *dir)
{
	struct packstore	*ps, *old = NULL;
	struct packstore_snap	*a = NULL, *b = NULL, *c = NULL;
	struct packstore_snap	 v[PACKSTORE_SEGMENT];
	char			 path[256], sql[128], *cause = NULL;
	uint32_t		 seq;
	size_t			 na = 0, nb = 0, nc = 0, nd, removed = 0;
	int			 k, bad = 0;
	sqlite3			*db;

	if (!open_new(dir, "indexed.db", path, sizeof path, &ps))
		return;
	for (k = 0; k < 100; k++)
		if (put(ps, k, &seq) == -1)
			bad++;
	ok(bad == 0 && drop_most(ps, 10, 60) > 0 &&
	    packstore_list(ps, &a, &na, &cause) == 0,
	    "100 snapshots stored, most of 50 dropped, %zu listed", na);
	packstore_close(ps);
	ok(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name ="
	    " 'snap_list'") == 1 && sql_int(path, "SELECT count(*) FROM snap"
	    " WHERE stored IS NOT length(body)") == 0,
	    "a database is made with the listing's index");
	ok(plan_uses(path, "SELECT time_ms, seq, size, stored, key FROM snap"
	    " WHERE state = 0 ORDER BY time_ms, seq", "snap_list"),
	    "... which SQLite would read for the listing");

	/* The database as an older heapwatch made it. */
	ok(sqlite3_open(path, &db) == SQLITE_OK && sqlite3_exec(db,
	    "DROP INDEX snap_list; ALTER TABLE snap DROP COLUMN stored;",
	    NULL, NULL, NULL) == SQLITE_OK, "the index taken away");
	sqlite3_close(db);
	ok(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name ="
	    " 'snap_list'") == 0, "... and gone");
	ok(packstore_open(path, 0, &old, &cause) == 0 && old != NULL &&
	    packstore_list(old, &c, &nc, &cause) == 0 &&
	    same_list(a, na, c, nc), "the next connection lists the same");
	ok(sql_int(path, "SELECT count(*) FROM sqlite_master WHERE name ="
	    " 'snap_list'") == 1 && sql_int(path, "SELECT count(*) FROM snap"
	    " WHERE stored IS NOT length(body)") == 0,
	    "... and has given the database its index");
	ok(packstore_open(path, 0, &ps, &cause) == 0 && ps != NULL &&
	    put(ps, 100, &seq) == 0 && packstore_list(ps, &b, &nb, &cause) ==
	    0 && nb == na + 1 && same_list(a, na, b, na),
	    "a put after it lists the snapshots and the new one");
	for (k = 60, bad = 0; k <= 100; k++)
		if (!reads_back(ps, k, 0))
			bad++;
	ok(bad == 0, "which read back");
	packstore_close(ps);
	free(c);
	c = NULL;
	ok(old != NULL && packstore_list(old, &c, &nc, &cause) == 0 &&
	    same_list(b, nb, c, nc),
	    "a connection opened before lists them too");
	/* The rest of the first segment dropped: its rows go. */
	for (k = 0, nd = 0; k < PACKSTORE_SEGMENT && old != NULL; k++)
		if (listed(old, T0 + (int64_t)k * STEP, NULL) >= 0) {
			memset(&v[nd], 0, sizeof v[nd]);
			v[nd++].time_ms = T0 + (int64_t)k * STEP;
		}
	ok(old != NULL && packstore_drop(old, v, nd, MAX, &removed,
	    &cause) == 0 && removed == nd && nd > 0,
	    "the first segment's last %zu dropped", nd);
	snprintf(sql, sizeof sql, "SELECT count(*) FROM snap WHERE time_ms <"
	    " %lld", T0 + (long long)PACKSTORE_SEGMENT * STEP);
	is_int(sql_int(path, sql), 0, "... and its rows go, dropped or not");
	snprintf(sql, sizeof sql, "SELECT count(*) FROM snap WHERE time_ms >="
	    " %lld", T0 + (long long)PACKSTORE_SEGMENT * STEP);
	is_int(sql_int(path, sql), 101 - PACKSTORE_SEGMENT,
	    "the next segment's stay");
	packstore_close(old);
	free(a);
	free(b);
	free(c);
	free(cause);
}

int
main(int argc, char **argv)
{
	char	 dir[] = "/tmp/test_packstore.XXXXXX", path[128];
	char	 cmd[160], *cause = NULL;
	uint8_t	*p;
	void	*data;
	size_t	 len;
	int	 i;

	if (mkdtemp(dir) == NULL)
		return 1;
	/*
	 * test_packstore --shaped LEAST PROFILE...: test_shaped() on real
	 * profiles, in the order scraped (tests/pack_pprof.sh's).
	 */
	if (argc > 3 && strcmp(argv[1], "--shaped") == 0) {
		nprof = argc - 3;
		prof_data = xcalloc((size_t)nprof, sizeof *prof_data);
		prof_len = xcalloc((size_t)nprof, sizeof *prof_len);
		for (i = 0; i < nprof; i++)
			if (profile_read_file(argv[i + 3], MAX, &prof_data[i],
			    &prof_len[i], &cause) == -1) {
				printf("Bail out! %s: %s\n", argv[i + 3],
				    cause);
				rmdir(dir);
				return 1;
			}
		test_shaped(dir, strtoull(argv[2], NULL, 10));
		for (i = 0; i < nprof; i++)
			free(prof_data[i]);
		free(prof_data);
		free(prof_len);
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
		return tap_done();
	}
	/*
	 * test_packstore --repeat PROFILE...: the repeat's contract on real
	 * profiles (tests/pack_pprof.sh's scrapes of the fixture).
	 */
	if (argc > 2 && strcmp(argv[1], "--repeat") == 0) {
		for (i = 2; i < argc; i++) {
			if (profile_read_file(argv[i], MAX, &data, &len,
			    &cause) == -1) {
				ok(0, "%s: %s", argv[i], cause);
				free(cause);
				continue;
			}
			check_repeat(dir, data, len, argv[i], false);
			check_repeat(dir, data, len, argv[i], true);
			free(data);
		}
		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			return 1;
		return tap_done();
	}
	p = gen(40, &len);
	check_repeat(dir, p, len, "gen", false);
	check_repeat(dir, p, len, "gen", true);
	free(p);
	test_repeat_refused(dir);
	snprintf(path, sizeof path, "%s/%s", dir, PACKSTORE_FILE);
	test_run(path);
	test_drop(path);
	test_indexed(dir);
	test_listing_reads(dir);
	test_corrupt(path);
	snprintf(path, sizeof path, "%s/reader.db", dir);
	test_reader(path);
	test_shrink(dir);
	/*
	 * Of 149 puts, 49 add a stack, and the one after another
	 * connection's is coded by the writer's path.
	 */
	test_shaped(dir, 95);
	test_remade(dir);
	test_remade_repeat(dir);
	test_reader_remade(dir);
	test_recode_damaged_tail(dir);
	test_recode_damaged(dir);
	test_recode_aside_fails(dir);
	test_file_colon(dir);
	test_halfempty(dir);
	snprintf(path, sizeof path, "%s/kill.db", dir);
	srandom((unsigned)getpid());
	test_kill(path);
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		return 1;
	return tap_done();
}
