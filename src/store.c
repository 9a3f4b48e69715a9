#include "config.h"

#include <sys/file.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "durable.h"
#include "hash.h"
#include "packstore.h"
#include "profile.h"
#include "store.h"
#include "units.h"
#include "xmalloc.h"

#define STORE_SEQ_MAX		1000	/* snapshots in one millisecond */
#define STORE_TARGET_MAX	200	/* bytes in a target's name */
#define STORE_NAME_MAX		(STORE_ID_MAX + sizeof STORE_SUFFIX)
#define STORE_CACHE_USES	64	/* writes before a folder is read again */
/*
 * A folder of packed snapshots written out as pprof, which heapwatchd
 * kept in a target's folder before everything read them from memory; a
 * start-up removes what is left of it.
 */
#define STORE_OLD_PPROF		".pprof"

/*
 * The readers of packed targets kept between reads (packstore.h): a
 * reader holds its target's dictionary decoded, so that serving the
 * newest snapshots again and again, as the pages, the API and an alert's
 * attribution do, costs a snapshot's pprof rather than the whole
 * dictionary each time (45 ms for a target of 65,536 stacks). A reader
 * is as large as its dictionary, a snapshot and the newest as received
 * (below): 6.3 MB for 65,536 stacks, 90 KB for 700 (bench/pack.sh). They
 * are kept for the targets read last, up to STORE_READERS_HELD bytes in
 * all whatever the number of targets, so that 1,000 targets stay within
 * heapwatchd's 128 MiB: three targets of 65,536 stacks, or some 270 of
 * 700, being looked at keep theirs. A reader larger than that alone is
 * not kept.
 *
 * A target's reader also holds its newest snapshot as received, given by
 * each put while the reader is kept: serving it is then a copy (30 us for
 * 290 KB) where making it again from the pack takes 14 ms (pack_pprof()
 * and gzip) and opening the database alone some 300 us. This process is
 * the store's one writer, so the copy stays right: a put replaces it,
 * and retention and recovery, which alone remove snapshots, forget it.
 */
#define STORE_READERS_HELD	((size_t)24 << 20)

/*
 * While a caller holds a target (store_hold()), its reader keeps the
 * database open from one read to the next, so that reading a run of its
 * snapshots (a replay, `heapwatch judge`) does not open it for each: an
 * open is some 1 ms of system time (SQLite rebuilds its index of the log
 * for a first connection), where reading one of 1,441 snapshots of 30 KB
 * takes 0.2 ms. Not otherwise: a file open for writing, as a connection
 * holds its database, stops the file system from being made read-only.
 * A connection holds three files and up to 2 MB of SQLite's cache, so
 * only STORE_READERS_OPEN readers keep one, whatever the holds.
 */
#define STORE_READERS_OPEN	4

struct store_hold {
	char			*target;
	unsigned int		 n;
	LIST_ENTRY(store_hold)	 entry;
};

/*
 * A packed target's writer keeps its dictionary and newest snapshot from
 * one put to the next (packstore.h), so that a put codes one profile
 * rather than reading the dictionary and the segment back: 6.0 MB for a
 * target of 65,536 stacks, 394 KB for bench/scale.sh's of 3,000, 72 KB
 * for one of 700 (bench/pack.sh), which at 1,000 targets would be 6 GB,
 * 394 MB or 72 MB, past or most of heapwatchd's 128 MiB. Writers keep
 * theirs whole up to STORE_WRITERS_HELD bytes in all (STORE_HELD in a
 * store of a few packed targets, below). A put that finds them
 * over it shrinks its writer to the newest snapshot coded as a key
 * (packstore_writer_shrink(): 1.6 KB for 65,536 stacks, 15 to 17 KB for
 * bench/scale.sh's profile, 1.5 KB for 700), and the next put of that
 * target reads the dictionary back but, of the segment, only hashes its
 * bodies: with a segment of 60 behind it, a put of bench/scale.sh's
 * profile takes 3.5 to 4.1 ms of CPU rather than 5.5 to 6.4. Writers
 * shrunk keep theirs up to STORE_SHRUNK_HELD in all; past it a put
 * forgets its writer's, and the next reads the segment too. Targets that
 * keep theirs go on keeping them, rather than all taking turns: all are
 * put at their interval, so keeping those put last would forget each
 * before its next put.
 *
 * Byte for byte, a writer shrunk saves far more than one whole (a put of
 * bench/scale.sh's profile: some 2 ms for 15 KB against 6 ms for 394
 * KB; for 65,536 stacks that change little, whose deltas cost little
 * beside the key it codes, it is even), so writers shrunk get five times
 * what whole ones do: 20 MiB, every target of 1,000 of the sizes above
 * (bench/scale.sh's keys, 15 KB at zstd's level 3, are 17.4 at its
 * level 1, and their shapes' runs 8 bytes each: 17.5 MB for 1,000). At
 * 12 MiB, some 280 of those 1,000 forgot theirs at each put, and read
 * their segments back: with 20, heapwatchd took 5 to 15% less CPU a
 * profile (two pairs of runs of each of genprof's pairs, in turn,
 * FORMAT=pack GC=1 bench/scale.sh), its peak RSS 77 to 84 MiB against 75
 * to 95. A store of STORE_WRITERS_FEW packed targets or fewer (caches
 * counted, which a target moved to the file form still is) keeps whole
 * writers up to the 16 MiB, its shrunk ones a few KB: alone, a target of
 * 65,536 stacks keeps its 6.0 MB whole, where shrunk, each put read its
 * dictionary back, 116 million instructions a put rather than 45 (callgrind on
 * bench/packstore -p of many). Giving whole writers the 16 MiB less what
 * shrunk ones held instead let them take it all in a daemon's first
 * interval, before the targets put later were shrunk: 1,000 targets of
 * bench/scale.sh's profile peaked at 135.9 MiB of RSS, against 99.0 with
 * the few. Before, at 1,000 packed targets of 3,000 stacks every 10 s
 * (bench/scale.sh), 32 MiB of whole writers kept 80 rather than 40 for a
 * peak RSS of 134 MiB rather than 116, past the 128 aimed at, and the
 * daemon's CPU a profile was the same (6.7 and 6.8 ms).
 */
#define STORE_HELD		((size_t)16 << 20)	/* whole, a few targets */
#define STORE_WRITERS_FEW	8
#define STORE_WRITERS_HELD	((size_t)4 << 20)	/* whole, more */
#define STORE_SHRUNK_HELD	((size_t)20 << 20)

/*
 * With the syncs deferred (store_defer_sync()), the snapshots that
 * retention drops at a put are not deleted at once: a power loss in the
 * second before the syncer's next sync could take the new snapshot, or
 * leave it short, after the old ones were gone, and a target kept to one
 * snapshot with none. They wait in the store's queue, no longer listed
 * nor counted by retention again, but read by id as before, until the
 * sync that takes the new snapshot to the disk has succeeded (durable.c
 * numbers the syncs), and are deleted then by store_tick(), which
 * heapwatchd calls once a sync period, or by the target's next put if it
 * comes first, or when the store is closed after its last sync: a target
 * holds its last second's drops besides what retention keeps, one
 * snapshot in the usual case.
 *
 * A target's queue holds STORE_PENDING_MAX drops: a put's wait at most
 * two syncs, one a second, so a target scraped every 100 ms (the shortest
 * interval) has some 20 waiting, 32 leaving room. When the syncs fail or
 * stall, and a put finds its target's queue full, the oldest drops go at
 * once, unsynced, as before the queue, and the put says so: the disk
 * then holds at most 32 snapshots a target over retention, whatever the
 * syncer does. A reload that lowers retention drops most snapshots that
 * way too, which is safe: only the newest 32 drops are what the new
 * snapshots displace.
 */
#define STORE_PENDING_MAX	32	/* drops waiting, a target */
#define STORE_WAIT_BUCKETS	64	/* hash buckets of the waiting */

struct store_reader {
	char			*target;
	struct packstore_reader	*rd;
	struct packstore	*ps;		/* open database, or NULL */
	dev_t			 dev;		/* ps's file */
	ino_t			 ino;
	size_t			 held;
	char			 id[STORE_ID_MAX];	/* the newest's; "" */
	void			*gz;		/* its bytes as received */
	size_t			 gzlen;
	TAILQ_ENTRY(store_reader) entry;
};
TAILQ_HEAD(store_readers, store_reader);

/* A drop that waits for the sync of a later write. */
struct store_pend {
	int64_t		 time_ms;
	uint32_t	 seq;
	bool		 packed;
	bool		 spare;		/* made the spare, not deleted */
	bool		 applying;	/* taken, being made: still hidden */
	unsigned long	 ticket;	/* the sync to wait for, see durable.h */
};

/* Ticks (seconds) a target's move is kept for its next put. */
#define STORE_MOVED_TICKS	300

/* A target's waiting drops. */
struct store_waiting {
	char			*target;
	struct store_pend	 v[STORE_PENDING_MAX];	/* queued first first */
	size_t			 n;
	bool			 forced;	/* some went unsynced: said */
	/*
	 * Set when store_tick() dropped some since the target's last put:
	 * the folder's times before the first of those drops and after the
	 * last, with nothing else between, so that the cache of the put
	 * (store_cache) stays fresh through them.
	 */
	bool			 moved;
	struct timespec		 from_m, from_c, to_m, to_c;
	unsigned int		 idle;		/* ticks since, with none */
	bool			 rescan;	/* some forgotten: list again */
	LIST_ENTRY(store_waiting) entry;
};
LIST_HEAD(store_waitings, store_waiting);

struct store {
	char		*root;
	int		 fd;		/* the root folder */
	unsigned int	 tmpseq;	/* makes temporary names unique */
	bool		 no_spare;	/* the file system grants no leases */
	int		 format;	/* enum store_format */
	pthread_mutex_t	 rmtx;		/* readers are read on any thread */
	struct store_readers readers;	/* used last first; under rmtx */
	size_t		 readers_held;	/* under rmtx */
	LIST_HEAD(, store_hold) holds;	/* under rmtx */
	size_t		 writers_held;	/* atomic: writers are on workers */
	size_t		 shrunk_held;	/* atomic: writers shrunk */
	size_t		 writers;	/* atomic: caches counted */
	struct durable_syncer *syncer;	/* files' syncs deferred to it */
	pthread_mutex_t	 wmtx;		/* puts are on workers */
	struct store_waitings waiting[STORE_WAIT_BUCKETS];	/* under wmtx */
};

/* A snapshot as retention needs it. */
struct store_kept {
	int64_t		 time_ms;
	uint64_t	 size;
	uint32_t	 seq;
	bool		 packed;
};

/*
 * Packed snapshots that retention drops, for one packstore_drop(); or,
 * deferred, every drop it chooses, to wait for a sync.
 */
struct store_drops {
	struct packstore_snap	*v;
	size_t			 n, cap;
	bool			 defer;
	bool			 packed_now;	/* of defer, files only */
	struct store_pend	*pend;
	size_t			 npend, cappend;
};

/*
 * What a target's folder held after its last store_put_retain(), so that
 * the next need not list it again: a folder of the default 500 snapshots
 * takes some 300 us to list and stat. It is trusted while the folder has
 * the modification and change times its last write left, and read again
 * every STORE_CACHE_USES writes all the same, for a change by another
 * within the same tick of the file system's clock; a snapshot found
 * missing has it read again at the next write.
 */
struct store_cache {
	bool			 valid;
	ino_t			 ino;
	struct timespec		 mtime, ctime;
	unsigned int		 uses;
	struct store_kept	*v;		/* oldest first */
	size_t			 n, cap;
	struct packstore	*ps;		/* the folder's database */
	struct store		*s;		/* whose writers_held counts */
	size_t			 held;		/* ps's writer's, counted */
	size_t			 shrunk;	/* or shrunk, counted apart */
	/*
	 * Whether the last put through this cache was stored packed: only
	 * then is the database's newest the target's last snapshot, which
	 * a repeat stores again (a file may have come after it, the form
	 * switched by a reload).
	 */
	bool			 packed_last;
};

/* Whether c may appear in a target's name. */
static bool
store_target_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	    (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

/*
 * Whether name may be a target's folder. The configuration has checked it
 * already; this refuses a '/' or a leading '.' again, so that no name can
 * reach outside the root or collide with a temporary file.
 */
static bool
valid_target(const char *name)
{
	size_t	i;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return false;
	for (i = 0; name[i] != '\0'; i++)
		if (i == STORE_TARGET_MAX || !store_target_char(name[i]))
			return false;
	return true;
}

/* Parse len digits without a leading zero into *v, at most limit. */
static bool
parse_digits(const char *s, size_t len, uint64_t limit, uint64_t *v)
{
	size_t		i;
	unsigned	d;

	*v = 0;
	if (len == 0 || (s[0] == '0' && len > 1))
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		d = s[i] - '0';
		if (*v > (limit - d) / 10)
			return false;
		*v = *v * 10 + d;
	}
	return true;
}

/*
 * Parse the len bytes of an id, "<ms>" or "<ms>-<N>" with N from 1, in the
 * only spelling store_put() gives it, so that one snapshot has one id.
 */
static bool
parse_id(const char *id, size_t len, int64_t *time_ms, uint32_t *seq)
{
	const char	*dash;
	uint64_t	 t, n = 0;
	size_t		 tlen;

	if (len == 0 || len >= STORE_ID_MAX)
		return false;
	dash = memchr(id, '-', len);
	tlen = dash == NULL ? len : (size_t)(dash - id);
	if (!parse_digits(id, tlen, INT64_MAX, &t))
		return false;
	if (dash != NULL && (!parse_digits(dash + 1, len - tlen - 1,
	    UINT32_MAX, &n) || n == 0))
		return false;
	*time_ms = (int64_t)t;
	*seq = (uint32_t)n;
	return true;
}

bool
store_id_valid(const char *id)
{
	int64_t		t;
	uint32_t	seq;

	return id != NULL && parse_id(id, strlen(id), &t, &seq);
}

static void
format_id(char *id, size_t len, int64_t time_ms, uint32_t seq)
{
	if (seq == 0)
		snprintf(id, len, "%lld", (long long)time_ms);
	else
		snprintf(id, len, "%lld-%u", (long long)time_ms, seq);
}

/* Fill sn from a file name when it is a snapshot's. */
static bool
snapshot_name(const char *name, struct store_snapshot *sn)
{
	size_t	len = strlen(name), slen = strlen(STORE_SUFFIX);

	if (len <= slen || strcmp(name + len - slen, STORE_SUFFIX) != 0)
		return false;
	len -= slen;
	if (!parse_id(name, len, &sn->time_ms, &sn->seq))
		return false;
	memcpy(sn->id, name, len);
	sn->id[len] = '\0';
	sn->size = 0;
	return true;
}

static int
snapshot_cmp(const void *a, const void *b)
{
	const struct store_snapshot	*x = a, *y = b;

	if (x->time_ms != y->time_ms)
		return x->time_ms < y->time_ms ? -1 : 1;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->packed - y->packed;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A cause naming a file in a target's folder, what failed and why. */
static void
file_cause(char **cause, const struct store *s, const char *target,
    const char *file, const char *op, int error)
{
	xasprintf(cause, "%s/%s%s%s: %s: %s", s->root, target,
	    file == NULL ? "" : "/", file == NULL ? "" : file, op,
	    strerror(error));
}

/* Keep the first of two causes: more, when *first is NULL, else none. */
static void
cause_keep(char **first, char *more)
{
	if (*first == NULL)
		*first = more;
	else
		free(more);
}

/* Every name in folder fd but "." and "..", read before it is changed. */
static int
dir_names(int fd, char ***names, size_t *n)
{
	DIR		 *d;
	struct dirent	 *de;
	char		**v = NULL;
	size_t		  nv = 0, cap = 0;
	int		  dfd, saved;

	*names = NULL;
	*n = 0;
	if ((dfd = openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	if ((d = fdopendir(dfd)) == NULL) {
		saved = errno;
		close(dfd);
		errno = saved;
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (nv == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[nv++] = xstrdup(de->d_name);
	}
	saved = errno;
	closedir(d);
	if (saved != 0) {
		store_targets_free(v, nv);
		errno = saved;
		return -1;
	}
	*names = v;
	*n = nv;
	return 0;
}

/* Open the store at root, making the folder when it is missing. */
struct store *
store_open(const char *root, char **cause)
{
	struct store	*s;
	size_t		 len;
	int		 fd;

	if (root == NULL || root[0] == '\0') {
		xasprintf(cause, "storage path is empty");
		return NULL;
	}
	if (mkdir(root, 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", root, strerror(errno));
		return NULL;
	}
	if ((fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", root, strerror(errno));
		return NULL;
	}
	s = xcalloc(1, sizeof *s);
	s->root = xstrdup(root);
	len = strlen(s->root);
	while (len > 1 && s->root[len - 1] == '/')
		s->root[--len] = '\0';
	s->fd = fd;
	pthread_mutex_init(&s->rmtx, NULL);
	TAILQ_INIT(&s->readers);
	pthread_mutex_init(&s->wmtx, NULL);
	for (len = 0; len < STORE_WAIT_BUCKETS; len++)
		LIST_INIT(&s->waiting[len]);
	LIST_INIT(&s->holds);
	return s;
}

static void
reader_free(struct store_reader *r)
{
	packstore_close(r->ps);
	packstore_reader_free(r->rd);
	free(r->gz);
	free(r->target);
	free(r);
}

/* Free the readers used longest ago until they fit; under rmtx. */
static void
readers_fit(struct store *s)
{
	struct store_reader	*o;

	while (s->readers_held > STORE_READERS_HELD &&
	    (o = TAILQ_LAST(&s->readers, store_readers)) != NULL) {
		TAILQ_REMOVE(&s->readers, o, entry);
		s->readers_held -= o->held;
		reader_free(o);
	}
}

/* The kept reader of target, or NULL; under rmtx. */
static struct store_reader *
reader_find(struct store *s, const char *target)
{
	struct store_reader	*r;

	TAILQ_FOREACH(r, &s->readers, entry)
		if (strcmp(r->target, target) == 0)
			return r;
	return NULL;
}

/* Set or forget (data NULL) the newest snapshot r holds; under rmtx. */
static void
reader_newest(struct store *s, struct store_reader *r, const char *id,
    const void *data, size_t len)
{
	free(r->gz);
	r->gz = NULL;
	r->id[0] = '\0';
	s->readers_held -= r->gzlen;
	r->held -= r->gzlen;
	r->gzlen = 0;
	if (data == NULL)
		return;
	r->gz = xmalloc(len);
	memcpy(r->gz, data, len);
	r->gzlen = len;
	snprintf(r->id, sizeof r->id, "%s", id);
	s->readers_held += len;
	r->held += len;
}

/*
 * A packed snapshot just stored: the newest that target's reader, if one
 * is kept, holds; its bytes when gzipped, as a read gives them.
 */
static void
readers_put(struct store *s, const char *target, const char *id,
    const void *data, size_t len)
{
	const uint8_t		*p = data;
	struct store_reader	*r;

	pthread_mutex_lock(&s->rmtx);
	if ((r = reader_find(s, target)) != NULL) {
		if (len >= 2 && p[0] == 0x1f && p[1] == 0x8b)
			reader_newest(s, r, id, data, len);
		else
			reader_newest(s, r, NULL, NULL, 0);
		readers_fit(s);
	}
	pthread_mutex_unlock(&s->rmtx);
}

/*
 * Snapshots of target removed (v NULL: any): its reader no longer holds
 * one of them as its newest.
 */
static void
readers_drop(struct store *s, const char *target,
    const struct packstore_snap *v, size_t n)
{
	struct store_reader	*r;
	char			 id[STORE_ID_MAX];
	size_t			 i;

	pthread_mutex_lock(&s->rmtx);
	if ((r = reader_find(s, target)) != NULL && r->gz != NULL) {
		for (i = 0; i < n; i++) {
			format_id(id, sizeof id, v[i].time_ms, v[i].seq);
			if (strcmp(id, r->id) == 0)
				break;
		}
		if (i < n || v == NULL)
			reader_newest(s, r, NULL, NULL, 0);
	}
	pthread_mutex_unlock(&s->rmtx);
}

/* The hold on target, or NULL; under rmtx. */
static struct store_hold *
hold_find(struct store *s, const char *target)
{
	struct store_hold	*h;

	LIST_FOREACH(h, &s->holds, entry)
		if (strcmp(h->target, target) == 0)
			return h;
	return NULL;
}

void
store_hold(struct store *s, const char *target)
{
	struct store_hold	*h;

	pthread_mutex_lock(&s->rmtx);
	if ((h = hold_find(s, target)) == NULL) {
		h = xcalloc(1, sizeof *h);
		h->target = xstrdup(target);
		LIST_INSERT_HEAD(&s->holds, h, entry);
	}
	h->n++;
	pthread_mutex_unlock(&s->rmtx);
}

/*
 * The last release closes the kept reader's database; a reader in use
 * meanwhile closes its own as it is given back (reader_give()).
 */
void
store_release(struct store *s, const char *target)
{
	struct store_hold	*h;
	struct store_reader	*r;

	pthread_mutex_lock(&s->rmtx);
	if ((h = hold_find(s, target)) != NULL && --h->n == 0) {
		LIST_REMOVE(h, entry);
		free(h->target);
		free(h);
		if ((r = reader_find(s, target)) != NULL && r->ps != NULL) {
			packstore_close(r->ps);
			r->ps = NULL;
		}
	}
	pthread_mutex_unlock(&s->rmtx);
}

/*
 * The reader kept for target, taken out of the store for the caller's
 * use, or a new one.
 */
static struct store_reader *
reader_take(struct store *s, const char *target)
{
	struct store_reader	*r;

	pthread_mutex_lock(&s->rmtx);
	if ((r = reader_find(s, target)) != NULL) {
		TAILQ_REMOVE(&s->readers, r, entry);
		s->readers_held -= r->held;
	}
	pthread_mutex_unlock(&s->rmtx);
	if (r == NULL) {
		r = xcalloc(1, sizeof *r);
		r->target = xstrdup(target);
		r->rd = packstore_reader_new();
	}
	return r;
}

/*
 * Keep a reader for the next read of its target, first in line, and
 * free those used longest ago until the readers fit STORE_READERS_HELD;
 * another kept meanwhile for the same target (two reads at once) goes.
 */
static void
reader_give(struct store *s, struct store_reader *r)
{
	struct store_reader	*o, *next;
	size_t			 n;

	r->held = packstore_reader_held(r->rd) + r->gzlen;
	if (r->held > STORE_READERS_HELD) {
		reader_free(r);
		return;
	}
	pthread_mutex_lock(&s->rmtx);
	for (o = TAILQ_FIRST(&s->readers); o != NULL; o = next) {
		next = TAILQ_NEXT(o, entry);
		if (strcmp(o->target, r->target) == 0) {
			TAILQ_REMOVE(&s->readers, o, entry);
			s->readers_held -= o->held;
			reader_free(o);
		}
	}
	if (r->ps != NULL && hold_find(s, r->target) == NULL) {
		packstore_close(r->ps);
		r->ps = NULL;
	}
	TAILQ_INSERT_HEAD(&s->readers, r, entry);
	s->readers_held += r->held;
	readers_fit(s);
	n = 0;
	TAILQ_FOREACH(o, &s->readers, entry)
		if (o->ps != NULL && ++n > STORE_READERS_OPEN) {
			packstore_close(o->ps);
			o->ps = NULL;
		}
	pthread_mutex_unlock(&s->rmtx);
}

static struct store_waiting *waiting_find(struct store *, const char *,
		    bool);
static void	pending_hide(struct store *, const char *,
		    struct store_kept *, size_t *);
static int	pending_apply(struct store *, const char *, int,
		    struct packstore *, const struct store_pend *, size_t,
		    char **);
static int	pending_run(struct store *, const char *, int,
		    struct packstore *, char **);
static int	pending_add(struct store *, const char *, int,
		    struct packstore *, unsigned long, const struct store_pend *,
		    size_t, char **);
static void	pending_close(struct store *);
static bool	waiting_settle(struct store *, const char *);

void
store_close(struct store *s)
{
	struct store_reader	*r;
	struct store_hold	*h;

	if (s == NULL)
		return;
	if (s->syncer != NULL) {
		/* The last sync first: what it releases is dropped. */
		(void)durable_syncer_stop(s->syncer);
		pending_close(s);
	}
	durable_syncer_free(s->syncer);
	while ((r = TAILQ_FIRST(&s->readers)) != NULL) {
		TAILQ_REMOVE(&s->readers, r, entry);
		reader_free(r);
	}
	while ((h = LIST_FIRST(&s->holds)) != NULL) {
		LIST_REMOVE(h, entry);
		free(h->target);
		free(h);
	}
	pthread_mutex_destroy(&s->rmtx);
	pthread_mutex_destroy(&s->wmtx);
	close(s->fd);
	free(s->root);
	free(s);
}

/*
 * A snapshot's file written in the file form costs two fsyncs, the file's
 * and its folder's: at 1,000 targets every 10 s (100 puts a second on 2
 * cores) they were 11% of heapwatchd's CPU and 2 of its 2.7 ms of CPU a
 * profile went to the kernel, each fsync waiting 1.4 ms for the disk. With
 * the syncs deferred, a put writes its ".tmp-" file and renames it without
 * a sync, and a thread syncs the store's file system once every period_ms:
 * one sync for a period's puts, the writing done by the kernel's flusher.
 * A crash of the daemon (kill -9, a fault) loses nothing, since what it
 * wrote is in the page cache; a power loss or a crash of the system loses
 * at most the last period's snapshots, and may leave one of them short
 * under its name, which store_recover() sets aside at the next start as
 * it does any that does not decode. The spare is still rewritten, which
 * spares ext4 making a file and freeing one a put, but cut to nothing
 * before its new bytes are written: on a journaling file system (ext4's
 * default data=ordered) the cut is committed after the rename that made
 * the spare and before the one that names the new snapshot, so neither a
 * dropped snapshot's name nor the new one ever shows bytes not its own.
 * (Without a journal, as ext4 may be made, a power loss orders nothing;
 * the syncs at each put are what such a file system needs.) The packed
 * form's commits are not synced either (PACKSTORE_DEFER_SYNC): the
 * same sync takes the database's log to the disk.
 */
int
store_defer_sync(struct store *s, unsigned int period_ms,
    void (*failed)(int, void *), void *arg)
{
	if (s->syncer != NULL)
		return 0;
	if ((s->syncer = durable_syncer_new(s->fd, period_ms, failed,
	    arg)) == NULL)
		return -1;
	return 0;
}

const char *
store_root(const struct store *s)
{
	return s->root;
}

void
store_set_format(struct store *s, enum store_format f)
{
	__atomic_store_n(&s->format, (int)f, __ATOMIC_RELAXED);
}

enum store_format
store_get_format(const struct store *s)
{
	return (enum store_format)__atomic_load_n(&s->format,
	    __ATOMIC_RELAXED);
}

/*
 * Open the database in a target's open folder dfd into *ps; *ps is NULL
 * when there is none and create is not set. A link in its place is not
 * followed: SQLite is given the path, so it is checked here first.
 */
static int
db_open(struct store *s, const char *target, int dfd, bool create,
    struct packstore **ps, char **cause)
{
	struct stat	sb;
	char		path[4096];
	bool		made = false;

	*ps = NULL;
	if (fstatat(dfd, PACKSTORE_FILE, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
		if (errno != ENOENT) {
			file_cause(cause, s, target, PACKSTORE_FILE, "stat",
			    errno);
			return -1;
		}
		if (!create)
			return 0;
		made = true;
	} else if (!S_ISREG(sb.st_mode)) {
		file_cause(cause, s, target, PACKSTORE_FILE, "open", ENOENT);
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s/%s", s->root, target,
	    PACKSTORE_FILE);
	/* Its commits synced with the files, by the syncer. */
	if (packstore_open(path, (create ? PACKSTORE_CREATE : 0) |
	    (s->syncer != NULL ? PACKSTORE_DEFER_SYNC : 0), ps, cause) == -1)
		return -1;
	/* The new file's name, on disk before a snapshot is said stored. */
	if (made && durable_dir_sync(dfd) == -1) {
		file_cause(cause, s, target, NULL, "fsync", errno);
		packstore_close(*ps);
		*ps = NULL;
		return -1;
	}
	return 0;
}

/* Whether a target's open folder has a database. */
static bool
has_db(int dfd)
{
	struct stat	sb;

	return fstatat(dfd, PACKSTORE_FILE, &sb, AT_SYMLINK_NOFOLLOW) == 0;
}

/*
 * The bytes of a target's database, its log and the log's index (a file
 * too, which its connections map), 0 without a database.
 */
static uint64_t
db_bytes(int dfd)
{
	static const char *const names[] = { PACKSTORE_FILE,
	    PACKSTORE_FILE "-wal", PACKSTORE_FILE "-shm" };
	struct stat	sb;
	uint64_t	n = 0;
	size_t		i;

	for (i = 0; i < sizeof names / sizeof names[0]; i++)
		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISREG(sb.st_mode))
			n += (uint64_t)sb.st_size;
	return n;
}

/* What retention could not count: the folder was not listed. */
#define BYTES_UNKNOWN	UINT64_MAX

/* The bytes of the files among the snapshots v[0..n). */
static uint64_t
files_bytes(const struct store_kept *v, size_t n)
{
	uint64_t	b = 0;
	size_t		i;

	for (i = 0; i < n; i++)
		if (!v[i].packed)
			b += v[i].size;
	return b;
}

/*
 * Open a target's folder into *fd, making it first when create is set; *fd
 * is -1 when the folder does not exist and create is not set.
 */
static int
store_target_open(struct store *s, const char *target, bool create, int *fd,
    char **cause)
{
	const int	flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

	*fd = -1;
	if (!valid_target(target)) {
		xasprintf(cause, "invalid target name \"%s\"",
		    target == NULL ? "" : target);
		return -1;
	}
	if ((*fd = openat(s->fd, target, flags)) != -1)
		return 0;
	if (errno != ENOENT) {
		file_cause(cause, s, target, NULL, "open",
		    errno == ELOOP ? ENOTDIR : errno);
		return -1;
	}
	if (!create)
		return 0;
	if (mkdirat(s->fd, target, 0750) == -1 && errno != EEXIST) {
		file_cause(cause, s, target, NULL, "mkdir", errno);
		return -1;
	}
	if (durable_dir_sync(s->fd) == -1) {
		xasprintf(cause, "%s: fsync: %s", s->root, strerror(errno));
		return -1;
	}
	if ((*fd = openat(s->fd, target, flags)) == -1) {
		file_cause(cause, s, target, NULL, "open", errno);
		return -1;
	}
	return 0;
}

/*
 * Hold a target's folder for writing until dfd is closed: a job still
 * running for a target that a reload replaced could otherwise write its
 * folder, and take its spare, at the same time as the new one.
 */
static int
store_target_lock(struct store *s, const char *target, int dfd, char **cause)
{
	while (flock(dfd, LOCK_EX) == -1) {
		if (errno != EINTR) {
			file_cause(cause, s, target, NULL, "lock", errno);
			return -1;
		}
	}
	return 0;
}

/* The first free name for a snapshot taken at time_ms. */
static int
free_name(struct store *s, const char *target, int dfd, int64_t time_ms,
    char *id, char *name, char **cause)
{
	struct stat	sb;
	uint32_t	seq;

	for (seq = 0; seq < STORE_SEQ_MAX; seq++) {
		format_id(id, STORE_ID_MAX, time_ms, seq);
		snprintf(name, STORE_NAME_MAX, "%s%s", id, STORE_SUFFIX);
		if (fstatat(dfd, name, &sb, AT_SYMLINK_NOFOLLOW) == 0)
			continue;
		if (errno == ENOENT)
			return 0;
		file_cause(cause, s, target, name, "stat", errno);
		return -1;
	}
	xasprintf(cause, "%s/%s: more than %d snapshots at %lld ms", s->root,
	    target, STORE_SEQ_MAX, (long long)time_ms);
	return -1;
}

/* The snapshots in a target's open folder, oldest first. */
static int
scan(struct store *s, const char *target, int dfd,
    struct store_snapshot **out, size_t *n, char **cause)
{
	struct store_snapshot	 *v;
	struct stat		  sb;
	char			**names;
	size_t			  nnames, nv = 0, i;

	*out = NULL;
	*n = 0;
	if (dir_names(dfd, &names, &nnames) == -1) {
		file_cause(cause, s, target, NULL, "read", errno);
		return -1;
	}
	v = xcalloc(nnames, sizeof *v);
	for (i = 0; i < nnames; i++) {
		if (!snapshot_name(names[i], &v[nv]))
			continue;
		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				continue;
			file_cause(cause, s, target, names[i], "stat", errno);
			store_targets_free(names, nnames);
			free(v);
			return -1;
		}
		if (!S_ISREG(sb.st_mode))
			continue;
		v[nv++].size = (uint64_t)sb.st_size;
	}
	store_targets_free(names, nnames);
	if (nv > 1)
		qsort(v, nv, sizeof *v, snapshot_cmp);
	*out = v;
	*n = nv;
	return 0;
}

/* Whether snapshot a comes before b: by time, then seq, a file first. */
static bool
kept_before(const struct store_kept *a, const struct store_kept *b)
{
	if (a->time_ms != b->time_ms)
		return a->time_ms < b->time_ms;
	if (a->seq != b->seq)
		return a->seq < b->seq;
	return !a->packed && b->packed;
}

/*
 * The snapshots of a target's open folder that retention counts, oldest
 * first: its files (scan()) and the listed snapshots of its database,
 * through ps or, when NULL, a connection of its own, but for those that
 * wait to be dropped (retention has counted them out; read by id, they
 * are there until dropped). A file comes first where a file and a packed
 * snapshot share an id, which a switch of form within a millisecond could
 * make. The database lists in order, and a folder keeps few files beside
 * it, so the two are merged rather than sorted: with a month of packed
 * history (some 3,000 snapshots) sorting them, named, was 0.8 ms of a
 * put's CPU. *out has room for one more.
 */
static int
scan_kept(struct store *s, const char *target, int dfd, struct packstore *ps,
    struct store_kept **out, size_t *n, char **cause)
{
	struct packstore	*own = NULL;
	struct packstore_snap	*pv = NULL;
	struct store_snapshot	*fv;
	struct store_kept	*v, f, p;
	size_t			 nf, np = 0, i = 0, j = 0;

	*out = NULL;
	*n = 0;
	if (scan(s, target, dfd, &fv, &nf, cause) == -1)
		return -1;
	if (ps == NULL && db_open(s, target, dfd, false, &own, cause) == -1)
		goto fail;
	if (ps == NULL)
		ps = own;
	if (ps != NULL && packstore_list(ps, &pv, &np, cause) == -1)
		goto fail;
	packstore_close(own);
	own = NULL;
	v = xreallocarray(NULL, nf + np + 1, sizeof *v);
	while (i < nf || j < np) {
		if (i < nf) {
			f.time_ms = fv[i].time_ms;
			f.seq = fv[i].seq;
			f.size = fv[i].size;
			f.packed = false;
		}
		if (j < np) {
			p.time_ms = pv[j].time_ms;
			p.seq = pv[j].seq;
			p.size = pv[j].stored;
			p.packed = true;
		}
		if (j == np || (i < nf && kept_before(&f, &p))) {
			v[(*n)++] = f;
			i++;
		} else {
			v[(*n)++] = p;
			j++;
		}
	}
	free(fv);
	free(pv);
	pending_hide(s, target, v, n);
	*out = v;
	return 0;
fail:
	packstore_close(own);
	free(fv);
	return -1;
}

/* scan_kept(), each snapshot named, for the store's readers. */
static int
scan_all(struct store *s, const char *target, int dfd, struct packstore *ps,
    struct store_snapshot **out, size_t *n, char **cause)
{
	struct store_snapshot	*v;
	struct store_kept	*k;
	size_t			 i;

	*out = NULL;
	if (scan_kept(s, target, dfd, ps, &k, n, cause) == -1)
		return -1;
	v = xcalloc(*n + 1, sizeof *v);
	for (i = 0; i < *n; i++) {
		format_id(v[i].id, sizeof v[i].id, k[i].time_ms, k[i].seq);
		v[i].time_ms = k[i].time_ms;
		v[i].seq = k[i].seq;
		v[i].size = k[i].size;
		v[i].packed = k[i].packed;
	}
	free(k);
	*out = v;
	return 0;
}

/*
 * Write a snapshot's bytes into a file of folder dfd that has no snapshot's
 * name yet, into tmp: the spare when it can be taken, else a new file.
 */
static int
put_file(struct store *s, const char *target, int dfd, const void *data,
    size_t len, char tmp[DURABLE_TMP_MAX], char **cause)
{
	const char	*op;
	bool		 no_lease = false;
	bool		 sync = s->syncer == NULL;	/* else deferred: see
							   store_defer_sync() */
	int		 rc;

	if (!__atomic_load_n(&s->no_spare, __ATOMIC_RELAXED)) {
		rc = durable_rewrite(dfd, STORE_SPARE, data, len, sync,
		    &no_lease, &op);
		if (no_lease)
			__atomic_store_n(&s->no_spare, true, __ATOMIC_RELAXED);
		if (rc == 0) {
			snprintf(tmp, DURABLE_TMP_MAX, "%s", STORE_SPARE);
			return 0;
		}
		if (rc == -1) {
			file_cause(cause, s, target, NULL, op, errno);
			return -1;
		}
	}
	if (durable_tmp_write(dfd, &s->tmpseq, data, len, sync, tmp,
	    &op) == -1) {
		file_cause(cause, s, target, NULL, op, errno);
		return -1;
	}
	return 0;
}

static int	retain(struct store *, const char *, int, bool,
		    const struct store_retention *, int64_t, struct store_kept *,
		    size_t *, size_t *, bool *, struct store_drops *, char **);
static int	retain_all(struct store *, const char *, int,
		    struct packstore *, const struct store_retention *, int64_t,
		    unsigned long, bool, size_t *, size_t *, uint64_t *,
		    char **);

static bool
same_time(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec == b->tv_sec && a->tv_nsec == b->tv_nsec;
}

/*
 * Whether the folder's times went from (fm, fc) to (tm, tc) by the drops
 * of store_tick() alone, since the target's last put.
 */
static bool
waiting_moved(struct store *s, const char *target, const struct timespec *fm,
    const struct timespec *fc, const struct timespec *tm,
    const struct timespec *tc)
{
	struct store_waiting	*w;
	bool			 moved;

	pthread_mutex_lock(&s->wmtx);
	moved = (w = waiting_find(s, target, false)) != NULL && w->moved &&
	    same_time(&w->from_m, fm) && same_time(&w->from_c, fc) &&
	    same_time(&w->to_m, tm) && same_time(&w->to_c, tc);
	pthread_mutex_unlock(&s->wmtx);
	return moved;
}

/*
 * Whether c still tells what folder dfd holds, but for the drops made
 * since, which it counted out already; a stale c is emptied.
 */
static bool
cache_fresh(struct store *s, const char *target, struct store_cache *c,
    int dfd)
{
	struct stat	sb;

	if (c->valid && c->uses < STORE_CACHE_USES && fstat(dfd, &sb) == 0 &&
	    sb.st_ino == c->ino && ((same_time(&sb.st_mtim, &c->mtime) &&
	    same_time(&sb.st_ctim, &c->ctime)) || waiting_moved(s, target,
	    &c->mtime, &c->ctime, &sb.st_mtim, &sb.st_ctim)))
		return true;
	c->valid = false;
	c->n = 0;
	c->uses = 0;
	return false;
}

/* Insert sn into the sorted kept list of c. */
static void
cache_insert(struct store_cache *c, const struct store_kept *sn)
{
	size_t	i;

	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 8 : c->cap * 2;
		c->v = xreallocarray(c->v, c->cap, sizeof *c->v);
	}
	for (i = c->n; i > 0 && (c->v[i - 1].time_ms > sn->time_ms ||
	    (c->v[i - 1].time_ms == sn->time_ms && c->v[i - 1].seq > sn->seq));
	    i--)
		c->v[i] = c->v[i - 1];
	c->v[i] = *sn;
	c->n++;
}

/* Remember the folder as this write left it. */
static void
cache_seal(struct store_cache *c, int dfd)
{
	struct stat	sb;

	if (fstat(dfd, &sb) == -1) {
		c->valid = false;
		return;
	}
	c->ino = sb.st_ino;
	c->mtime = sb.st_mtim;
	c->ctime = sb.st_ctim;
	c->valid = true;
	c->uses++;
}

/* Count c's writer no more. */
static void
writer_uncount(struct store_cache *c)
{
	if (c->s != NULL) {
		__atomic_sub_fetch(&c->s->writers_held, c->held,
		    __ATOMIC_RELAXED);
		__atomic_sub_fetch(&c->s->shrunk_held, c->shrunk,
		    __ATOMIC_RELAXED);
		__atomic_sub_fetch(&c->s->writers, 1, __ATOMIC_RELAXED);
	}
	c->s = NULL;
	c->held = c->shrunk = 0;
}

/*
 * Count what c's writer keeps until the next put: whole while the writers
 * kept whole hold at most STORE_WRITERS_HELD (STORE_HELD while the store
 * has STORE_WRITERS_FEW packed targets or fewer), else shrunk to its
 * newest snapshot while those shrunk hold at most STORE_SHRUNK_HELD, else
 * nothing.
 */
static void
writer_count(struct store *s, struct store_cache *c)
{
	size_t	whole = 0, shrunk = 0, all, limit;

	if (c->s == NULL) {
		c->s = s;
		__atomic_add_fetch(&s->writers, 1, __ATOMIC_RELAXED);
	}
	if (packstore_writer_whole(c->ps))
		whole = packstore_writer_held(c->ps);
	all = __atomic_add_fetch(&s->writers_held, whole - c->held,
	    __ATOMIC_RELAXED);
	limit = __atomic_load_n(&s->writers, __ATOMIC_RELAXED) <=
	    STORE_WRITERS_FEW ? STORE_HELD : STORE_WRITERS_HELD;
	if (whole > 0 && all > limit) {
		__atomic_sub_fetch(&s->writers_held, whole, __ATOMIC_RELAXED);
		whole = 0;
		(void)packstore_writer_shrink(c->ps);
	}
	c->held = whole;
	if (whole == 0)
		shrunk = packstore_writer_held(c->ps);
	all = __atomic_add_fetch(&s->shrunk_held, shrunk - c->shrunk,
	    __ATOMIC_RELAXED);
	c->shrunk = shrunk;
	if (shrunk > 0 && all > STORE_SHRUNK_HELD) {
		__atomic_sub_fetch(&s->shrunk_held, shrunk, __ATOMIC_RELAXED);
		c->shrunk = 0;
		packstore_writer_forget(c->ps);
	}
}

void
store_cache_free(struct store_cache *c)
{
	if (c == NULL)
		return;
	writer_uncount(c);
	packstore_close(c->ps);
	free(c->v);
	free(c);
}

size_t
store_cache_held(const struct store_cache *c, bool *whole)
{
	*whole = c != NULL && c->held > 0;
	return c == NULL ? 0 : c->held + c->shrunk;
}

void
store_cache_shrink(struct store_cache *c)
{
	if (c == NULL)
		return;
	(void)packstore_writer_shrink(c->ps);
	if (c->s != NULL)
		writer_count(c->s, c);
}

/*
 * Store a snapshot in the folder's database, target's folder dfd locked,
 * then apply retention when one is asked. The connection, and with it the
 * writer's pack, stays in the cache for the next.
 */
static int
put_packed(struct store *s, const char *target, int dfd, int64_t time_ms,
    const void *data, size_t len, struct store_put *put, char **cause)
{
	struct store_cache	*c;
	struct profile_view	 view;
	struct stat		 sb;
	char			*why = NULL;
	unsigned long		 ticket = 0;
	uint64_t		 files = BYTES_UNKNOWN;
	uint32_t		 seq;
	int			 rc = -1;

	if (put->cache == NULL)
		put->cache = xcalloc(1, sizeof *put->cache);
	c = put->cache;
	c->valid = false;	/* the file form's list, not kept here */
	/*
	 * The database removed since the last put (a target's history
	 * cleared by hand, or its folder): the connection kept would open
	 * nothing again, so it goes, and the database is made again as at
	 * the first put.
	 */
	if (c->ps != NULL && fstatat(dfd, PACKSTORE_FILE, &sb,
	    AT_SYMLINK_NOFOLLOW) == -1 && errno == ENOENT) {
		packstore_close(c->ps);
		c->ps = NULL;
		c->packed_last = false;
		writer_count(s, c);
	}
	if (c->ps == NULL && db_open(s, target, dfd, true, &c->ps,
	    cause) == -1)
		return -1;
	/*
	 * A repeat stores the newest snapshot again with the new times,
	 * for a fraction of coding it (see packstore.h). When the last
	 * put was not packed here, or the database refuses (its newest is
	 * not this connection's last put, or does not read back), the
	 * profile is coded as any other, from the body. When the database
	 * fails, coding would meet the failure again, after as long a
	 * wait for a lock: the put fails.
	 */
	if (put->repeat && c->packed_last) {
		rc = packstore_put_repeat(c->ps, time_ms, put->time_nanos,
		    put->duration_nanos, len, PROFILE_MAX_INFLATED, &seq,
		    &why);
		if (rc == 1) {
			free(why);
			rc = -1;
		} else if (rc == -1) {
			*cause = why;
			c->packed_last = false;
			packstore_idle(c->ps);
			writer_count(s, c);
			return -1;
		}
	}
	put->repeated = rc == 0;
	c->packed_last = false;
	/*
	 * The profile as the decoding parsed it, when given: reading its
	 * protobuf again was most of coding one (for 65,536 stacks, 60 of
	 * some 110 million instructions). The newest as received stays
	 * the body.
	 */
	if (rc == -1 && put->parsed != NULL) {
		profile_raw_view(put->parsed, &view);
		rc = packstore_put_parsed(c->ps, time_ms, &view, len,
		    PROFILE_MAX_INFLATED, &seq, cause);
	} else if (rc == -1)
		rc = packstore_put(c->ps, time_ms, data, len,
		    PROFILE_MAX_INFLATED, &seq, cause);
	if (rc == -1) {
		packstore_idle(c->ps);
		writer_count(s, c);
		return -1;
	}
	c->packed_last = true;
	format_id(put->id, sizeof put->id, time_ms, seq);
	readers_put(s, target, put->id, data, len);
	/*
	 * Not synced, with a syncer: the files retention drops wait for
	 * the sync that takes this commit to the disk. The packed drops
	 * need not: a power loss that took the commit takes the later
	 * ones too (see packstore.c).
	 */
	if (s->syncer != NULL)
		ticket = durable_syncer_mark(s->syncer);
	if (put->keep != NULL)
		(void)retain_all(s, target, dfd, c->ps, put->keep, time_ms,
		    ticket, true, &put->removed, &put->listed, &files,
		    &put->retain_cause);
	packstore_idle(c->ps);
	writer_count(s, c);
	/* The database measured once idle, which may cut its log. */
	if (files != BYTES_UNKNOWN)
		put->bytes = files + db_bytes(dfd);
	return 0;
}

/*
 * Store a snapshot: write it to a file without a snapshot's name, sync it,
 * give it its name, apply retention when one is asked, and sync the
 * folder; on a failure to store, remove what was written.
 *
 * Retention runs before the folder is synced so that the spare it makes
 * is on disk under that name before the next snapshot rewrites it: a crash
 * can then never leave new bytes under an old snapshot's name.
 */
int
store_put_retain(struct store *s, const char *target, int64_t time_ms,
    const void *data, size_t len, struct store_put *put, char **cause)
{
	struct store_cache	*c = NULL;
	struct store_kept	 sn, *v = NULL;
	struct store_drops	 dp = { 0 };
	char			 tmp[DURABLE_TMP_MAX], id[STORE_ID_MAX];
	char			 name[STORE_NAME_MAX], *why = NULL, *note = NULL;
	unsigned long		 ticket = 0;
	uint64_t		 files = BYTES_UNKNOWN;
	size_t			 n;
	bool			 fresh = false, missing = false, mixed;
	int			 dfd, rc;

	put->removed = 0;
	put->listed = STORE_LISTED_UNKNOWN;
	put->bytes = 0;
	put->repeated = false;
	if (time_ms < 0) {
		xasprintf(cause, "%s: snapshot time %lld is before 1970",
		    target, (long long)time_ms);
		return -1;
	}
	if (store_target_open(s, target, true, &dfd, cause) == -1)
		return -1;
	if (store_target_lock(s, target, dfd, cause) == -1) {
		close(dfd);
		return -1;
	}
	if (__atomic_load_n(&s->format, __ATOMIC_RELAXED) == STORE_PACK) {
		/* Files' drops left from the other form, when due. */
		(void)pending_run(s, target, dfd, NULL, &why);
		(void)waiting_settle(s, target);
		rc = put_packed(s, target, dfd, time_ms, data, len, put, cause);
		cause_keep(&put->retain_cause, why);
		close(dfd);
		return rc;
	}
	/* A file now, whatever the database's newest. */
	if (put->cache != NULL)
		put->cache->packed_last = false;
	/* Packed snapshots too, left by the other form: no cache. */
	mixed = put->keep != NULL && has_db(dfd);
	if (put->keep != NULL && !mixed) {
		if (put->cache == NULL)
			put->cache = xcalloc(1, sizeof *put->cache);
		c = put->cache;
		fresh = cache_fresh(s, target, c, dfd);
		c->valid = false;	/* until this write ends well */
	}
	/*
	 * The drops that the syncer has released, made now, when a put
	 * holds the folder anyway: the first becomes the spare this put
	 * rewrites. The cache counted them out already.
	 */
	if (pending_run(s, target, dfd, NULL, &why) == -1)
		fresh = false;
	if (waiting_settle(s, target))
		fresh = false;
	if (put_file(s, target, dfd, data, len, tmp, cause) == -1) {
		free(why);
		close(dfd);
		return -1;
	}
	if (free_name(s, target, dfd, time_ms, id, name, cause) == -1)
		goto fail;
	if (renameat(dfd, tmp, dfd, name) == -1) {
		file_cause(cause, s, target, tmp, "rename", errno);
		goto fail;
	}
	/* What retention drops waits for the sync that takes this write. */
	if (s->syncer != NULL) {
		ticket = durable_syncer_mark(s->syncer);
		dp.defer = true;
	}
	if (c != NULL) {
		sn.time_ms = time_ms;
		sn.seq = 0;
		sn.packed = false;
		parse_id(id, strlen(id), &sn.time_ms, &sn.seq);
		sn.size = len;
		if (fresh)
			cache_insert(c, &sn);
		else if (scan_kept(s, target, dfd, NULL, &v, &n,
		    &put->retain_cause) == 0) {
			free(c->v);
			c->v = v;
			c->n = n;
			c->cap = n + 1;
			fresh = true;
		}
		if (fresh && (retain(s, target, dfd, true, put->keep, time_ms,
		    c->v, &c->n, &put->removed, &missing, dp.defer ? &dp : NULL,
		    &put->retain_cause) == -1 || missing))
			fresh = false;
		if (pending_add(s, target, dfd, NULL, ticket, dp.pend, dp.npend,
		    &note) == -1)
			fresh = false;
		cause_keep(&put->retain_cause, note);
		free(dp.pend);
	}
	if (mixed) {
		/* Its connection to the database closed by then. */
		(void)retain_all(s, target, dfd, NULL, put->keep, time_ms,
		    ticket, false, &put->removed, &put->listed, &files,
		    &put->retain_cause);
		if (files != BYTES_UNKNOWN)
			put->bytes = files + db_bytes(dfd);
	}
	cause_keep(&put->retain_cause, why);
	why = NULL;
	/* What the folder is now, before another can change it unseen. */
	if (c != NULL && fresh) {
		cache_seal(c, dfd);
		put->bytes = files_bytes(c->v, c->n);
		put->listed = c->n;
	}
	if (s->syncer == NULL && durable_dir_sync(dfd) == -1) {
		/*
		 * Not durable: take it back, so that -1 means not stored; and
		 * the spare, whose name may not be on disk either.
		 */
		file_cause(cause, s, target, NULL, "fsync", errno);
		unlinkat(dfd, name, 0);
		unlinkat(dfd, STORE_SPARE, 0);
		if (c != NULL)
			c->valid = false;
		put->bytes = 0;		/* it counted the file taken back */
		put->listed = STORE_LISTED_UNKNOWN;
		close(dfd);
		return -1;
	}
	close(dfd);
	memcpy(put->id, id, strlen(id) + 1);
	return 0;
fail:
	free(why);
	unlinkat(dfd, tmp, 0);
	close(dfd);
	return -1;
}

int
store_put(struct store *s, const char *target, int64_t time_ms,
    const void *data, size_t len, char *id_out, char **cause)
{
	struct store_put	put = { 0 };
	int			rc;

	rc = store_put_retain(s, target, time_ms, data, len, &put, cause);
	store_cache_free(put.cache);
	free(put.retain_cause);
	if (rc == 0 && id_out != NULL)
		memcpy(id_out, put.id, strlen(put.id) + 1);
	return rc;
}

int
store_list(struct store *s, const char *target, struct store_snapshot **out,
    size_t *n, char **cause)
{
	int	dfd, rc;

	*out = NULL;
	*n = 0;
	if (store_target_open(s, target, false, &dfd, cause) == -1)
		return -1;
	if (dfd == -1)
		return 0;
	rc = scan_all(s, target, dfd, NULL, out, n, cause);
	close(dfd);
	return rc;
}

uint64_t
store_bytes(struct store *s, const char *target,
    const struct store_snapshot *v, size_t n)
{
	uint64_t	 b = 0;
	size_t		 i;
	char		*cause = NULL;
	int		 dfd;

	for (i = 0; i < n; i++)
		if (!v[i].packed)
			b += v[i].size;
	if (store_target_open(s, target, false, &dfd, &cause) == -1) {
		free(cause);
		return b;
	}
	if (dfd != -1) {
		b += db_bytes(dfd);
		close(dfd);
	}
	return b;
}

void
store_list_free(struct store_snapshot *v)
{
	free(v);
}

/*
 * A packed snapshot, when listed, as a pprof profile: gzipped when gz,
 * else as raw protobuf (for decoding here, where gzip would be a third of
 * making it and inflating it again the next step), but for the newest,
 * kept as received, whose bytes are copied either way.
 */
static int
read_packed(struct store *s, const char *target, int dfd, const char *id,
    size_t max, bool gz, void **data, size_t *len, char **cause)
{
	struct stat		 sb;
	struct packstore	*ps;
	struct store_reader	*r;
	int64_t			 t;
	uint32_t		 seq;
	int			 rc;

	r = reader_take(s, target);
	if (r->gz != NULL && strcmp(r->id, id) == 0 && r->gzlen <= max) {
		*data = xmalloc(r->gzlen);
		memcpy(*data, r->gz, r->gzlen);
		*len = r->gzlen;
		reader_give(s, r);
		return 0;
	}
	parse_id(id, strlen(id), &t, &seq);
	/* The database kept open, while it is the one at the path. */
	if (r->ps != NULL && (fstatat(dfd, PACKSTORE_FILE, &sb,
	    AT_SYMLINK_NOFOLLOW) == -1 || sb.st_dev != r->dev ||
	    sb.st_ino != r->ino)) {
		packstore_close(r->ps);
		r->ps = NULL;
	}
	if (r->ps == NULL) {
		r->dev = 0;
		r->ino = 0;
		if (fstatat(dfd, PACKSTORE_FILE, &sb, AT_SYMLINK_NOFOLLOW) ==
		    0) {
			r->dev = sb.st_dev;
			r->ino = sb.st_ino;
		}
		if (db_open(s, target, dfd, false, &r->ps, cause) == -1) {
			reader_give(s, r);
			return -1;
		}
		/*
		 * Replaced between the two (its inode number free to come
		 * back): the file opened is not known, and the next read
		 * opens it again.
		 */
		if (fstatat(dfd, PACKSTORE_FILE, &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1 || sb.st_dev != r->dev || sb.st_ino != r->ino)
			r->ino = 0;
	}
	if ((ps = r->ps) == NULL) {
		xasprintf(cause, "%s/%s: no snapshot %s", s->root, target, id);
		reader_give(s, r);
		return -1;
	}
	rc = packstore_read_with(ps, r->rd, t, seq, max, gz, data, len,
	    cause);
	if (rc == -1) {
		/* Whatever went wrong, the next read opens it afresh. */
		packstore_close(r->ps);
		r->ps = NULL;
	}
	reader_give(s, r);
	return rc;
}

/* Whether id is a packed snapshot still listed. */
static bool
listed_packed(struct store *s, const char *target, int dfd, const char *id)
{
	struct packstore	*ps;
	char			*cause = NULL;
	int64_t			 t;
	uint32_t		 seq;
	bool			 has = false;

	parse_id(id, strlen(id), &t, &seq);
	if (db_open(s, target, dfd, false, &ps, &cause) == -1 || ps == NULL ||
	    packstore_has(ps, t, seq, &has, &cause) == -1)
		free(cause);
	packstore_close(ps);
	return has;
}

int
store_series_path(struct store *s, const char *target, char *path,
    size_t len)
{
	int	rc;

	if (!valid_target(target))
		return -1;
	rc = snprintf(path, len, "%s/%s/%s", s->root, target, STORE_SERIES);
	return rc < 0 || (size_t)rc >= len ? -1 : 0;
}

#define SERIES_LINE_MAX	64	/* longer than any "UNIX_MS TOTAL\n" */

/*
 * Append a line to a target's series. A line that a crash left unfinished
 * is cut away first, and a write that fails half-way is cut back, so that
 * every line stays whole.
 */
int
store_series_append(struct store *s, const char *target, const char *line,
    char **cause)
{
	struct stat	 sb;
	char		 tail[SERIES_LINE_MAX], *buf;
	const char	*op = NULL, *nl;
	size_t		 len;
	off_t		 keep;
	ssize_t		 n = 0;
	int		 dfd, fd, error = 0;

	if (store_target_open(s, target, true, &dfd, cause) == -1)
		return -1;
	fd = openat(dfd, STORE_SERIES, O_RDWR | O_APPEND | O_CREAT |
	    O_NOFOLLOW | O_CLOEXEC, 0640);
	close(dfd);
	if (fd == -1) {
		file_cause(cause, s, target, STORE_SERIES, "open", errno);
		return -1;
	}
	if (fstat(fd, &sb) == -1) {
		op = "stat";
		error = errno;
		goto done;
	}
	keep = sb.st_size;
	if (keep > 0) {
		n = keep < SERIES_LINE_MAX ? (ssize_t)keep : SERIES_LINE_MAX;
		if (pread(fd, tail, (size_t)n, keep - n) != n) {
			op = "read";
			error = errno != 0 ? errno : EIO;
			goto done;
		}
		if ((nl = memrchr(tail, '\n', (size_t)n)) != NULL)
			keep -= n - (nl - tail + 1);
		else if (keep <= SERIES_LINE_MAX)
			keep = 0;
	}
	if (keep < sb.st_size && ftruncate(fd, keep) == -1) {
		op = "truncate";
		error = errno;
		goto done;
	}
	/* A broken line too long to cut is ended: the reader skips it. */
	len = xasprintf(&buf, "%s%s\n", keep > 0 && keep == sb.st_size &&
	    tail[n - 1] != '\n' ? "\n" : "", line);
	if (durable_write_all(fd, buf, len) == -1) {
		op = "write";
		error = errno;
		if (ftruncate(fd, keep) == -1) {
			/* The reader skips the broken line. */
		}
	}
	free(buf);
done:
	close(fd);
	if (op == NULL)
		return 0;
	file_cause(cause, s, target, STORE_SERIES, op, error);
	return -1;
}

/* Replace a target's series with data, atomically. */
int
store_series_replace(struct store *s, const char *target, const void *data,
    size_t len, char **cause)
{
	const char	*op;
	int		 dfd, rc = 0;

	if (store_target_open(s, target, true, &dfd, cause) == -1)
		return -1;
	if (durable_replace(dfd, &s->tmpseq, STORE_SERIES, data, len,
	    &op) == -1) {
		file_cause(cause, s, target, STORE_SERIES, op, errno);
		rc = -1;
	}
	close(dfd);
	return rc;
}

/* Read a snapshot's file in folder dfd, at most max bytes. */
static int
snap_read(struct store *s, const char *target, int dfd, const char *name,
    size_t max, void **data, size_t *len, char **cause)
{
	const char	*op;
	char		*buf;

	if (durable_read(dfd, name, max, &buf, len, &op) == 0) {
		*data = buf;
		return 0;
	}
	if (errno == EFBIG)
		xasprintf(cause, "%s/%s/%s: file exceeds the %s limit",
		    s->root, target, name, units_fmt_size(max));
	else
		/* A link or a folder in a snapshot's place is no snapshot. */
		file_cause(cause, s, target, name, op,
		    errno == ELOOP || errno == EINVAL ? ENOENT : errno);
	return -1;
}

/* store_read(), a packed snapshot gzipped when gz. */
static int
read_snapshot(struct store *s, const char *target, const char *id,
    size_t max, bool gz, void **data, size_t *len, char **cause)
{
	struct stat	sb;
	char		name[STORE_NAME_MAX];
	int		dfd, rc;
	bool		packed, missing = false;

	if (!store_id_valid(id)) {
		xasprintf(cause, "invalid snapshot id \"%s\"",
		    id == NULL ? "" : id);
		errno = EINVAL;
		return -1;
	}
	if (store_target_open(s, target, false, &dfd, cause) == -1) {
		errno = EIO;
		return -1;
	}
	snprintf(name, sizeof name, "%s%s", id, STORE_SUFFIX);
	if (dfd == -1) {
		file_cause(cause, s, target, name, "open", ENOENT);
		errno = ENOENT;
		return -1;
	}
	packed = faccessat(dfd, name, F_OK, AT_SYMLINK_NOFOLLOW) == -1 &&
	    errno == ENOENT && has_db(dfd);
	if (packed) {
		rc = read_packed(s, target, dfd, id, max, gz, data, len,
		    cause);
		missing = rc == -1 && !listed_packed(s, target, dfd, id);
	} else {
		/* A link or a folder in a snapshot's place is no snapshot. */
		rc = snap_read(s, target, dfd, name, max, data, len, cause);
		missing = rc == -1 && (fstatat(dfd, name, &sb,
		    AT_SYMLINK_NOFOLLOW) == -1 || !S_ISREG(sb.st_mode));
	}
	close(dfd);
	if (rc == -1)
		errno = missing ? ENOENT : EIO;
	return rc;
}

int
store_read(struct store *s, const char *target, const char *id, size_t max,
    void **data, size_t *len, char **cause)
{
	return read_snapshot(s, target, id, max, true, data, len, cause);
}

/*
 * A snapshot decoded into st, with its fingerprint in *print when print
 * is set: NULL and *repeat when it is prev's (see store_load_print()).
 */
static struct profile *
load_snapshot(struct store *s, const char *target, const char *id,
    size_t max, struct symtab *st, const struct profile_print *prev,
    struct profile_print *print, bool *repeat, char **cause)
{
	struct profile	*p;
	void		*data;
	size_t		 len;

	*repeat = false;
	if (print != NULL)
		print->set = false;
	if (read_snapshot(s, target, id, max, false, &data, &len, cause) == -1)
		return NULL;
	p = profile_decode_print(data, len, max, st, NULL, prev, print,
	    repeat, cause);
	free(data);
	if (p == NULL && !*repeat)
		errno = EINVAL;
	return p;
}

struct profile *
store_load(struct store *s, const char *target, const char *id, size_t max,
    struct symtab *st, char **cause)
{
	bool	repeat;

	return load_snapshot(s, target, id, max, st, NULL, NULL, &repeat,
	    cause);
}

struct profile *
store_load_print(struct store *s, const char *target, const char *id,
    size_t max, const struct profile_print *prev, struct profile_print *print,
    bool *repeat, char **cause)
{
	return load_snapshot(s, target, id, max, NULL, prev, print, repeat,
	    cause);
}

/* Whether the oldest snapshot left, sn, must go under r. */
static bool
expired(const struct store_retention *r, const struct store_kept *sn,
    size_t count, uint64_t total, int64_t now_ms)
{
	if (r->snapshots != 0 && count > r->snapshots)
		return true;
	if (r->size != 0 && total > r->size)
		return true;
	if (r->age_ms != 0 && now_ms > sn->time_ms &&
	    (uint64_t)(now_ms - sn->time_ms) > r->age_ms)
		return true;
	return false;
}

/*
 * Whether sn, a snapshot other than the newest, is thinned out by r's
 * tiers: of the snapshots older than a tier's start, one is kept per
 * bucket of the tier's period (the first; buckets fall on multiples of
 * the period since 1970, so that the one kept stays kept as time goes
 * on). last is the snapshot kept before sn, or NULL. A pinned snapshot
 * is never thinned out.
 */
static bool
thinned(const struct store_retention *r, const struct store_kept *sn,
    const struct store_kept *last, int64_t now_ms)
{
	const struct store_tier	*t = NULL;
	uint64_t		 age;
	size_t			 k;

	if (last == NULL || now_ms <= sn->time_ms)
		return false;
	for (k = 0; k < STORE_PINNED_MAX; k++) {
		int64_t		pt;
		uint32_t	pseq = 0;

		if (r->pinned[k][0] != '\0' && parse_id(r->pinned[k],
		    strnlen(r->pinned[k], STORE_ID_MAX), &pt, &pseq) &&
		    pt == sn->time_ms && pseq == sn->seq)
			return false;
	}
	age = (uint64_t)(now_ms - sn->time_ms);
	for (k = 0; k < r->ntiers && k < STORE_TIERS_MAX; k++)
		if (age > r->tiers[k].after_ms)
			t = &r->tiers[k];
	if (t == NULL || t->every_ms == 0)
		return false;
	return (uint64_t)sn->time_ms / t->every_ms ==
	    (uint64_t)last->time_ms / t->every_ms;
}

/*
 * Delete one snapshot's file, or, with *spare set, make it the target's
 * spare (and clear *spare). A file already gone sets *missing.
 */
static int
drop(struct store *s, const char *target, int dfd, bool *spare,
    const struct store_kept *sn, size_t *removed, bool *missing,
    struct store_drops *dp, char **cause)
{
	char	id[STORE_ID_MAX], name[STORE_NAME_MAX];

	if (dp != NULL && dp->defer && !(sn->packed && dp->packed_now)) {
		/* Queued by the caller, to wait for a sync. */
		if (dp->npend == dp->cappend) {
			dp->cappend = dp->cappend == 0 ? 8 : dp->cappend * 2;
			dp->pend = xreallocarray(dp->pend, dp->cappend,
			    sizeof *dp->pend);
		}
		memset(&dp->pend[dp->npend], 0, sizeof dp->pend[dp->npend]);
		dp->pend[dp->npend].time_ms = sn->time_ms;
		dp->pend[dp->npend].seq = sn->seq;
		dp->pend[dp->npend].packed = sn->packed;
		dp->pend[dp->npend++].spare = !sn->packed && *spare;
		if (!sn->packed)
			*spare = false;
		(*removed)++;
		return 0;
	}
	if (sn->packed && dp != NULL) {
		/* Dropped together, once retention has chosen. */
		if (dp->n == dp->cap) {
			dp->cap = dp->cap == 0 ? 16 : dp->cap * 2;
			dp->v = xreallocarray(dp->v, dp->cap, sizeof *dp->v);
		}
		memset(&dp->v[dp->n], 0, sizeof dp->v[dp->n]);
		dp->v[dp->n].time_ms = sn->time_ms;
		dp->v[dp->n++].seq = sn->seq;
		return 0;
	}
	format_id(id, sizeof id, sn->time_ms, sn->seq);
	snprintf(name, sizeof name, "%s%s", id, STORE_SUFFIX);
	if (*spare && renameat2(dfd, name, dfd, STORE_SPARE,
	    RENAME_NOREPLACE) == 0) {
		*spare = false;
		(*removed)++;
	} else if (unlinkat(dfd, name, 0) == -1) {
		if (errno != ENOENT) {
			file_cause(cause, s, target, name, "unlink", errno);
			return -1;
		}
		*missing = true;
	} else
		(*removed)++;
	return 0;
}

/*
 * Delete a target's oldest snapshots, of the n in v (oldest first), until
 * it is within r, then thin out the older ones by r's tiers, and leave the
 * others at the start of v. Snapshots are in time order, so those past a
 * limit are always the oldest ones; the newest is kept even when it alone
 * is too old or too large, so that the daemon has a baseline to diff
 * against after a long stop.
 *
 * With spare set, the first one dropped is renamed the target's spare
 * rather than deleted, for the next snapshot to rewrite: making a file
 * where many were just deleted costs a file system far more than
 * rewriting one (ext4 searches for an inode not freed recently).
 */
static int
retain(struct store *s, const char *target, int dfd, bool spare,
    const struct store_retention *r, int64_t now_ms, struct store_kept *v,
    size_t *n, size_t *removed, bool *missing, struct store_drops *dp,
    char **cause)
{
	uint64_t	 total = 0;
	size_t		 count = *n, i, w;
	int		 rc = 0;

	*removed = 0;
	spare = spare && !__atomic_load_n(&s->no_spare, __ATOMIC_RELAXED);
	for (i = 0; i < count; i++)
		total += v[i].size;
	for (i = 0; i + 1 < *n && expired(r, &v[i], count, total, now_ms);
	    i++) {
		if (drop(s, target, dfd, &spare, &v[i], removed, missing,
		    dp, cause) == -1) {
			rc = -1;
			break;
		}
		count--;
		total -= v[i].size;
	}
	memmove(v, v + i, (*n - i) * sizeof *v);
	*n -= i;
	if (rc == -1 || r->ntiers == 0)
		return rc;
	for (i = 0, w = 0; i < *n; i++) {
		if (rc == 0 && i + 1 < *n &&
		    thinned(r, &v[i], w > 0 ? &v[w - 1] : NULL, now_ms)) {
			if (drop(s, target, dfd, &spare, &v[i], removed,
			    missing, dp, cause) == 0)
				continue;
			rc = -1;
		}
		v[w++] = v[i];
	}
	*n = w;
	return rc;
}

/*
 * Drop the packed snapshots in dp, of a target's folder dfd, locked,
 * through ps or, when NULL, a connection of its own, adding those dropped
 * to *removed; the readers forget them. A damaged body found on the way
 * fails it, *cause saying so, and the snapshots it had set aside are
 * counted too.
 */
static int
packed_drop(struct store *s, const char *target, int dfd,
    struct packstore *ps, const struct store_drops *dp, size_t *removed,
    char **cause)
{
	struct packstore	*own = NULL;
	char			*why = NULL;
	size_t			 packed = 0;

	if (dp->n == 0)
		return 0;
	if (ps == NULL && db_open(s, target, dfd, false, &own, &why) == 0 &&
	    own == NULL)
		xasprintf(&why, "%s/%s: the database is gone", s->root,
		    target);
	if (ps == NULL)
		ps = own;
	/* 1: dropped, and a damaged body found, which why says. */
	if (ps != NULL && packstore_drop(ps, dp->v, dp->n, PROFILE_MAX_INFLATED,
	    &packed, &why) >= 0)
		*removed += packed;
	packstore_close(own);
	readers_drop(s, target, dp->v, dp->n);
	if (why == NULL)
		return 0;
	*cause = why;
	return -1;
}

/*
 * Queue a target's drops, chosen at a write of the folder dfd (locked),
 * until the sync numbered ticket has succeeded. When the target's queue
 * is full, its oldest drops are made at once (see STORE_PENDING_MAX),
 * which *cause says the first time since the queue was last empty when
 * they were queued by earlier writes: the syncer is behind. Of this
 * write's own drops (a retention lowered by a reload), those older than
 * the queue holds were not displaced by an unsynced write, and go unsaid.
 */
static int
pending_add(struct store *s, const char *target, int dfd,
    struct packstore *ps, unsigned long ticket, const struct store_pend *v,
    size_t n, char **cause)
{
	struct store_waiting	*w;
	struct store_pend	*now = NULL;
	size_t			 nnow = 0, earlier, i;
	bool			 behind = false, say = false;
	int			 rc;

	if (n == 0)
		return 0;
	pthread_mutex_lock(&s->wmtx);
	w = waiting_find(s, target, true);
	earlier = w->n;		/* queued by earlier writes, first */
	for (i = 0; i < n; i++) {
		if (w->n == STORE_PENDING_MAX) {
			now = xreallocarray(now, nnow + 1, sizeof *now);
			now[nnow++] = w->v[0];
			memmove(w->v, w->v + 1, (w->n - 1) * sizeof *w->v);
			w->n--;
			if (earlier > 0) {
				earlier--;
				behind = true;
			}
		}
		w->v[w->n] = v[i];
		w->v[w->n++].ticket = ticket;
	}
	if (behind && !w->forced)
		say = w->forced = true;
	pthread_mutex_unlock(&s->wmtx);
	if (nnow == 0)
		return 0;
	rc = pending_apply(s, target, dfd, ps, now, nnow, cause);
	free(now);
	if (rc == 0 && say)
		xasprintf(cause, "%s/%s: %d dropped snapshots wait for the "
		    "store's sync: older ones are dropped before it", s->root,
		    target, STORE_PENDING_MAX);
	return rc;
}

/*
 * Retention over a folder's files and packed snapshots together, the
 * folder dfd locked; ps is the database's connection, or NULL for one of
 * its own. Files go as retain() chooses them; the packed snapshots it
 * chooses are dropped in one transaction, and forgotten by the readers.
 * With ticket set, what retention chooses waits for that sync instead,
 * but for the packed snapshots with packed_now (ticket is a commit's),
 * when the folder keeps no file. *kept, when given, is set to the bytes of
 * the files kept, once the folder is listed; *listed, when given, to the
 * count of snapshots listed after, or STORE_LISTED_UNKNOWN.
 */
static int
retain_all(struct store *s, const char *target, int dfd,
    struct packstore *ps, const struct store_retention *r, int64_t now_ms,
    unsigned long ticket, bool packed_now, size_t *removed, size_t *listed,
    uint64_t *kept, char **cause)
{
	struct store_drops	 dp = { 0 };
	struct store_kept	*v;
	char			*why = NULL;
	size_t			 n, files, i;
	bool			 missing = false;
	int			 rc;

	*removed = 0;
	if (listed != NULL)
		*listed = STORE_LISTED_UNKNOWN;
	if (scan_kept(s, target, dfd, ps, &v, &n, cause) == -1)
		return -1;
	dp.defer = ticket != 0;
	/*
	 * Only in a folder of packed snapshots alone: a file kept beside
	 * them, written since the last sync, may be what displaces a packed
	 * one, and is not in the database's log.
	 */
	dp.packed_now = packed_now;
	for (i = 0; i < n && dp.packed_now; i++)
		if (!v[i].packed)
			dp.packed_now = false;
	rc = retain(s, target, dfd, false, r, now_ms, v, &n, &files,
	    &missing, &dp, cause);
	if (kept != NULL)
		*kept = files_bytes(v, n);
	free(v);
	*removed = files;
	if (dp.defer) {
		if (pending_add(s, target, dfd, ps, ticket, dp.pend, dp.npend,
		    rc == 0 ? cause : &why) == -1)
			rc = -1;
		free(dp.pend);
		free(why);
		why = NULL;
	}
	if (packed_drop(s, target, dfd, ps, &dp, removed, &why) == -1) {
		/* pending_add() may have said something, and gone on. */
		if (rc == 0)
			cause_keep(cause, why);
		else
			free(why);
		rc = -1;
	}
	/*
	 * Not known when a drop failed, a file went meanwhile, or drops
	 * set snapshots aside (which fails them, saying so): those were
	 * listed when retention chose.
	 */
	if (listed != NULL && rc == 0 && !missing)
		*listed = n;
	free(dp.v);
	return rc;
}

/* A target's waiting drops, made when create is set; s->wmtx held. */
static struct store_waiting *
waiting_find(struct store *s, const char *target, bool create)
{
	struct store_waitings	*b;
	struct store_waiting	*w;

	b = &s->waiting[hash_bytes(target, strlen(target), 0) %
	    STORE_WAIT_BUCKETS];
	LIST_FOREACH(w, b, entry)
		if (strcmp(w->target, target) == 0)
			return w;
	if (!create)
		return NULL;
	w = xcalloc(1, sizeof *w);
	w->target = xstrdup(target);
	LIST_INSERT_HEAD(b, w, entry);
	return w;
}

static void
waiting_free(struct store_waiting *w)
{
	LIST_REMOVE(w, entry);
	free(w->target);
	free(w);
}

/* Take out of v, n snapshots of a target, those waiting to be dropped. */
static void
pending_hide(struct store *s, const char *target, struct store_kept *v,
    size_t *n)
{
	struct store_waiting	*w;
	size_t			 i, k, out = 0;

	pthread_mutex_lock(&s->wmtx);
	if ((w = waiting_find(s, target, false)) == NULL) {
		pthread_mutex_unlock(&s->wmtx);
		return;
	}
	for (i = 0; i < *n; i++) {
		for (k = 0; k < w->n; k++)
			if (w->v[k].time_ms == v[i].time_ms &&
			    w->v[k].seq == v[i].seq &&
			    w->v[k].packed == v[i].packed)
				break;
		if (k == w->n)
			v[out++] = v[i];
	}
	pthread_mutex_unlock(&s->wmtx);
	*n = out;
}

/*
 * Copy into out (room for STORE_PENDING_MAX) a target's drops whose sync
 * has succeeded, how many. They stay queued, marked, and so hidden from
 * listings until pending_done() takes them out once made: a reader must
 * not see a dropped snapshot listed again while its file goes. A drop
 * whose sync, or a later one, failed is not made: the snapshot that was
 * to replace it may be lost, so it is forgotten, left to retention's next
 * choice, and the target's folder is listed again at its next put. With
 * forget, the queue goes at once, what was not due left on disk.
 */
static size_t
pending_take(struct store *s, const char *target, bool forget,
    struct store_pend *out)
{
	struct store_waiting	*w;
	unsigned long		 synced = ULONG_MAX, failed = 0;
	size_t			 i, k = 0, n = 0;

	if (s->syncer != NULL) {
		synced = durable_syncer_synced(s->syncer);
		failed = durable_syncer_failed(s->syncer);
	}
	pthread_mutex_lock(&s->wmtx);
	if ((w = waiting_find(s, target, false)) != NULL) {
		for (i = 0; i < w->n; i++) {
			if (w->v[i].ticket <= synced && !w->v[i].applying) {
				if (w->v[i].ticket <= failed) {
					w->rescan = true;	/* forgotten */
					continue;
				}
				w->v[i].applying = true;
				out[n++] = w->v[i];
			}
			w->v[k++] = w->v[i];
		}
		w->n = k;
		if (forget)
			waiting_free(w);
	}
	pthread_mutex_unlock(&s->wmtx);
	return n;
}

/*
 * The drops pending_take() handed out are made: out of the queue. With a
 * and b, store_tick() made them, and the folder's times went from a to b
 * (see struct store_waiting). An empty queue goes unless it remembers
 * such a move for the target's next put.
 */
static void
pending_done(struct store *s, const char *target, const struct stat *a,
    const struct stat *b)
{
	struct store_waiting	*w;
	size_t			 i, k = 0;

	pthread_mutex_lock(&s->wmtx);
	if ((w = waiting_find(s, target, a != NULL)) != NULL) {
		for (i = 0; i < w->n; i++)
			if (!w->v[i].applying)
				w->v[k++] = w->v[i];
		w->n = k;
		if (a != NULL) {
			if (!w->moved || !same_time(&w->to_m, &a->st_mtim) ||
			    !same_time(&w->to_c, &a->st_ctim)) {
				w->from_m = a->st_mtim;
				w->from_c = a->st_ctim;
			}
			w->to_m = b->st_mtim;
			w->to_c = b->st_ctim;
			w->moved = true;
			w->idle = 0;
		}
		if (w->n == 0 && !w->moved && !w->rescan)
			waiting_free(w);
	}
	pthread_mutex_unlock(&s->wmtx);
}

/*
 * Make n drops of a target's folder dfd, locked: a file deleted, or made
 * the spare when so marked; packed snapshots in one transaction, through
 * ps or a connection of its own. One already gone is no error.
 */
static int
pending_apply(struct store *s, const char *target, int dfd,
    struct packstore *ps, const struct store_pend *v, size_t n, char **cause)
{
	struct store_drops	 dp = { 0 };
	struct store_kept	 sn;
	char			*why = NULL;
	size_t			 removed = 0, i;
	bool			 spare, missing = false;
	int			 rc = 0;

	for (i = 0; i < n; i++) {
		memset(&sn, 0, sizeof sn);
		sn.time_ms = v[i].time_ms;
		sn.seq = v[i].seq;
		sn.packed = v[i].packed;
		spare = v[i].spare &&
		    !__atomic_load_n(&s->no_spare, __ATOMIC_RELAXED);
		if (drop(s, target, dfd, &spare, &sn, &removed, &missing, &dp,
		    rc == 0 ? cause : &why) == -1) {
			free(why);
			why = NULL;
			rc = -1;
		}
	}
	if (packed_drop(s, target, dfd, ps, &dp, &removed,
	    rc == 0 ? cause : &why) == -1)
		rc = -1;
	free(why);
	free(dp.v);
	return rc;
}

/*
 * Make a target's drops that are due, its folder dfd locked. One that
 * fails is forgotten, its file left for retention to choose again.
 */
static int
pending_run(struct store *s, const char *target, int dfd,
    struct packstore *ps, char **cause)
{
	struct store_pend	v[STORE_PENDING_MAX];
	size_t			n;
	int			rc;

	if ((n = pending_take(s, target, false, v)) == 0)
		return 0;
	rc = pending_apply(s, target, dfd, ps, v, n, cause);
	pending_done(s, target, NULL, NULL);
	return rc;
}

/*
 * A put has the folder: what store_tick() did is in its cache now. Whether
 * drops were forgotten since (see pending_take()), so that the folder
 * holds files the cache counted out.
 */
static bool
waiting_settle(struct store *s, const char *target)
{
	struct store_waiting	*w;
	bool			 rescan = false;

	pthread_mutex_lock(&s->wmtx);
	if ((w = waiting_find(s, target, false)) != NULL) {
		rescan = w->rescan;
		w->moved = false;
		w->rescan = false;
		if (w->n == 0)
			waiting_free(w);
	}
	pthread_mutex_unlock(&s->wmtx);
	return rescan;
}

/*
 * store_tick() for one target: its due drops, unless a put has its folder
 * (and makes them), noted for the put's cache.
 */
static int
tick_target(struct store *s, const char *target, char **cause)
{
	struct store_pend	 v[STORE_PENDING_MAX];
	struct stat		 a, b;
	size_t			 n;
	int			 dfd, rc;

	if (store_target_open(s, target, false, &dfd, cause) == -1)
		return -1;
	if (dfd == -1) {
		/* The folder is gone, and what waited with it. */
		(void)pending_take(s, target, true, v);
		return 0;
	}
	if (flock(dfd, LOCK_EX | LOCK_NB) == -1 || fstat(dfd, &a) == -1) {
		close(dfd);
		return 0;
	}
	if ((n = pending_take(s, target, false, v)) == 0) {
		close(dfd);
		return 0;
	}
	rc = pending_apply(s, target, dfd, NULL, v, n, cause);
	if (rc == 0 && fstat(dfd, &b) == 0)
		pending_done(s, target, &a, &b);
	else
		pending_done(s, target, NULL, NULL);
	close(dfd);
	return rc;
}

int
store_tick(struct store *s, char **cause)
{
	struct store_waiting	 *w, *next;
	unsigned long		  synced;
	char			**names = NULL, *why = NULL;
	size_t			  n = 0, cap = 0, b, i;
	int			  rc = 0;

	if (s->syncer == NULL)
		return 0;
	synced = durable_syncer_synced(s->syncer);
	pthread_mutex_lock(&s->wmtx);
	for (b = 0; b < STORE_WAIT_BUCKETS; b++)
		for (w = LIST_FIRST(&s->waiting[b]); w != NULL; w = next) {
			next = LIST_NEXT(w, entry);
			/*
			 * A move kept for a put that does not come (a target
			 * gone with a reload, or scraped seldom) goes after a
			 * while; that put, if it comes, lists the folder.
			 */
			if (w->n == 0) {
				if (++w->idle >= STORE_MOVED_TICKS)
					waiting_free(w);
				continue;
			}
			for (i = 0; i < w->n; i++)
				if (w->v[i].ticket <= synced)
					break;
			if (i == w->n)
				continue;
			if (n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				names = xreallocarray(names, cap,
				    sizeof *names);
			}
			names[n++] = xstrdup(w->target);
		}
	pthread_mutex_unlock(&s->wmtx);
	for (i = 0; i < n; i++) {
		if (tick_target(s, names[i], rc == 0 ? cause : &why) == -1) {
			free(why);
			why = NULL;
			rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/*
 * At the store's close, after the syncer's last sync: make the drops it
 * released, and forget those of a failed sync, their files left on disk
 * for retention to choose again at the next start.
 */
static void
pending_close(struct store *s)
{
	struct store_pend	 v[STORE_PENDING_MAX];
	struct store_waiting	*w;
	char			*target, *cause = NULL;
	size_t			 b, n;
	int			 dfd;

	for (b = 0; b < STORE_WAIT_BUCKETS; b++) {
		while ((w = LIST_FIRST(&s->waiting[b])) != NULL) {
			target = xstrdup(w->target);
			n = pending_take(s, target, true, v);
			if (n > 0 && store_target_open(s, target, false, &dfd,
			    &cause) == 0 && dfd != -1) {
				if (store_target_lock(s, target, dfd,
				    &cause) == 0)
					(void)pending_apply(s, target, dfd,
					    NULL, v, n, &cause);
				close(dfd);
			}
			free(cause);
			cause = NULL;
			free(target);
		}
	}
}

/*
 * The sync that retention's drops wait for, outside a put: one that takes
 * what was written so far, or 0, none, when that is on disk already.
 */
static unsigned long
retain_ticket(struct store *s)
{
	unsigned long	ticket;

	if (s->syncer == NULL)
		return 0;
	ticket = durable_syncer_ticket(s->syncer);
	return ticket <= durable_syncer_synced(s->syncer) ? 0 : ticket;
}

int
store_retain(struct store *s, const char *target,
    const struct store_retention *r, int64_t now_ms, size_t *removed,
    char **cause)
{
	int	dfd, rc;

	*removed = 0;
	if (store_target_open(s, target, false, &dfd, cause) == -1)
		return -1;
	if (dfd == -1)
		return 0;
	if ((rc = store_target_lock(s, target, dfd, cause)) == 0 &&
	    (rc = pending_run(s, target, dfd, NULL, cause)) == 0)
		rc = retain_all(s, target, dfd, NULL, r, now_ms,
		    retain_ticket(s), false, removed, NULL, NULL, cause);
	close(dfd);
	return rc;
}

/*
 * Move a snapshot that does not decode into the quarantine folder, under
 * its own name or, when a snapshot of that name was set aside before,
 * name.N: a quarantined file is never replaced.
 */
static int
quarantine(struct store *s, const char *target, int dfd, int *qfd,
    const char *name, char **cause)
{
	const char	*op;

	if (durable_set_aside(dfd, STORE_QUARANTINE, qfd, name, &op) == -1) {
		file_cause(cause, s, target, name, op, errno);
		return -1;
	}
	return 0;
}

/* Remove the folder STORE_OLD_PPROF and the copies in it. */
static void
old_pprof_clear(int dfd)
{
	char	**names;
	size_t	  n, i;
	int	  cfd;

	if ((cfd = openat(dfd, STORE_OLD_PPROF, O_RDONLY | O_DIRECTORY |
	    O_NOFOLLOW | O_CLOEXEC)) == -1)
		return;
	if (dir_names(cfd, &names, &n) == 0) {
		for (i = 0; i < n; i++)
			unlinkat(cfd, names[i], 0);
		store_targets_free(names, n);
	}
	close(cfd);
	unlinkat(dfd, STORE_OLD_PPROF, AT_REMOVEDIR);
}

/* Remove ".tmp-" leftovers and count the entries that are not the store's. */
static int
sweep(struct store *s, const char *target, int dfd,
    struct store_recovery *rec, char **cause)
{
	struct store_snapshot	  sn;
	struct stat		  sb;
	char			**names;
	size_t			  nnames, i;
	int			  rc = 0;

	if (dir_names(dfd, &names, &nnames) == -1) {
		file_cause(cause, s, target, NULL, "read", errno);
		return -1;
	}
	for (i = 0; i < nnames && rc == 0; i++) {
		if (fstatat(dfd, names[i], &sb, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno != ENOENT) {
				file_cause(cause, s, target, names[i], "stat",
				    errno);
				rc = -1;
			}
			continue;
		}
		if (strncmp(names[i], DURABLE_TMP_PREFIX,
		    strlen(DURABLE_TMP_PREFIX)) == 0 && S_ISREG(sb.st_mode)) {
			if (unlinkat(dfd, names[i], 0) == -1) {
				file_cause(cause, s, target, names[i], "unlink",
				    errno);
				rc = -1;
			} else
				rec->tmp_removed++;
		} else if (strcmp(names[i], STORE_SPARE) == 0) {
			/*
			 * A crash may have left its name, given by retention,
			 * off the disk: rewritten, the file could show new
			 * bytes under a dropped snapshot's name after a power
			 * loss. Only spares made since the start are used.
			 */
			if (unlinkat(dfd, names[i], 0) == -1 &&
			    errno != ENOENT) {
				file_cause(cause, s, target, names[i],
				    "unlink", errno);
				rc = -1;
			}
		} else if (strcmp(names[i], STORE_QUARANTINE) == 0 &&
		    S_ISDIR(sb.st_mode))
			continue;
		else if (strncmp(names[i], PACKSTORE_FILE,
		    strlen(PACKSTORE_FILE)) == 0 && S_ISREG(sb.st_mode))
			continue;
		else if (strcmp(names[i], STORE_OLD_PPROF) == 0 &&
		    S_ISDIR(sb.st_mode))
			old_pprof_clear(dfd);
		else if (!snapshot_name(names[i], &sn) || !S_ISREG(sb.st_mode))
			rec->ignored++;
	}
	store_targets_free(names, nnames);
	return rc;
}

/*
 * Whether the database file starts as SQLite's do, or is empty (a first
 * write that failed): anything else is no database of ours.
 */
static bool
db_header_ok(int dfd)
{
	static const char	 magic[16] = "SQLite format 3";
	char			 head[16];
	ssize_t			 n;
	int			 fd;

	if ((fd = openat(dfd, PACKSTORE_FILE, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return true;	/* said by the open that follows */
	n = read(fd, head, sizeof head);
	close(fd);
	return n == 0 || (n == (ssize_t)sizeof head &&
	    memcmp(head, magic, sizeof magic) == 0);
}

/*
 * Check a target's database at start-up: packed snapshots that do not
 * read back are set aside inside it; a database that cannot be read at
 * all is moved to the quarantine folder whole, with its log, and the
 * next snapshot starts a new one.
 */
static int
recover_packed(struct store *s, const char *target, int dfd, int *qfd,
    size_t max, struct store_recovery *rec, char **cause)
{
	static const char *const files[] = {
		PACKSTORE_FILE, PACKSTORE_FILE "-wal", PACKSTORE_FILE "-shm"
	};
	struct packstore	*ps;
	char			*why = NULL, *first = NULL;
	size_t			 kept, bad, i;
	bool			 corrupt = false;

	if (!db_header_ok(dfd)) {
		corrupt = true;
		xasprintf(&why, "%s/%s/%s: not an SQLite database", s->root,
		    target, PACKSTORE_FILE);
		goto aside;
	}
	if (db_open(s, target, dfd, false, &ps, cause) == -1)
		return -1;
	if (ps == NULL)
		return 0;
	if (packstore_check(ps, max, &kept, &bad, &first, &corrupt,
	    &why) == 0) {
		packstore_close(ps);
		rec->kept += kept;
		rec->quarantined += bad;
		if (bad > 0 && rec->first_cause == NULL)
			xasprintf(&rec->first_cause, "%s/%s/%s: %s", s->root,
			    target, PACKSTORE_FILE, first);
		free(first);
		return 0;
	}
	packstore_close(ps);
	if (!corrupt) {
		/* An error of the system: the database may be sound. */
		*cause = why;
		return -1;
	}
aside:
	for (i = 0; i < sizeof files / sizeof files[0]; i++) {
		if (faccessat(dfd, files[i], F_OK, AT_SYMLINK_NOFOLLOW) == -1)
			continue;
		if (quarantine(s, target, dfd, qfd, files[i], cause) == -1) {
			free(why);
			return -1;
		}
	}
	rec->quarantined++;
	if (rec->first_cause == NULL)
		xasprintf(&rec->first_cause, "%s", why != NULL ? why :
		    "the database is gone");
	free(why);
	return 0;
}

/*
 * Check a target's folder at start-up. A snapshot that cannot be read
 * (an I/O error, not a bad profile) stops the check with -1 and stays where
 * it is, since the file itself may be sound; one larger than max_inflated
 * could never be decoded and is set aside like a corrupt one.
 */
int
store_recover(struct store *s, const char *target, size_t max_inflated,
    struct store_recovery *rec, char **cause)
{
	struct store_snapshot	*v = NULL;
	struct profile		*p;
	char			 name[STORE_NAME_MAX], *why;
	void			*data;
	size_t			 n = 0, len, i;
	int			 dfd, qfd = -1, rc = -1;

	memset(rec, 0, sizeof *rec);
	readers_drop(s, target, NULL, 0);
	if (store_target_open(s, target, false, &dfd, cause) == -1)
		return -1;
	if (dfd == -1)
		return 0;
	if (sweep(s, target, dfd, rec, cause) == -1 ||
	    scan(s, target, dfd, &v, &n, cause) == -1)
		goto out;
	for (i = 0; i < n; i++) {
		snprintf(name, sizeof name, "%s%s", v[i].id, STORE_SUFFIX);
		why = NULL;
		if (v[i].size > max_inflated)
			xasprintf(&why, "file of %llu bytes exceeds the %s "
			    "limit", (unsigned long long)v[i].size,
			    units_fmt_size(max_inflated));
		else {
			if (snap_read(s, target, dfd, name, max_inflated, &data,
			    &len, cause) == -1)
				goto out;
			p = profile_decode(data, len, max_inflated, NULL, &why);
			free(data);
			if (p != NULL) {
				profile_free(p);
				rec->kept++;
				continue;
			}
		}
		if (quarantine(s, target, dfd, &qfd, name, cause) == -1) {
			free(why);
			goto out;
		}
		rec->quarantined++;
		if (rec->first_cause == NULL)
			xasprintf(&rec->first_cause, "%s/%s/%s: %s", s->root,
			    target, name,
			    why != NULL ? why : "does not decode");
		free(why);
	}
	if (has_db(dfd) && recover_packed(s, target, dfd, &qfd, max_inflated,
	    rec, cause) == -1)
		goto out;
	rc = 0;
out:
	free(v);
	if (qfd != -1)
		close(qfd);
	close(dfd);
	return rc;
}

void
store_recovery_clear(struct store_recovery *rec)
{
	if (rec == NULL)
		return;
	free(rec->first_cause);
	memset(rec, 0, sizeof *rec);
}

int
store_targets(struct store *s, char ***names, size_t *n, char **cause)
{
	struct stat	  sb;
	char		**v;
	size_t		  nv, i, k = 0;

	*names = NULL;
	*n = 0;
	if (dir_names(s->fd, &v, &nv) == -1) {
		xasprintf(cause, "%s: %s", s->root, strerror(errno));
		return -1;
	}
	for (i = 0; i < nv; i++) {
		if (valid_target(v[i]) && fstatat(s->fd, v[i], &sb,
		    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode))
			v[k++] = v[i];
		else
			free(v[i]);
	}
	if (k > 1)
		qsort(v, k, sizeof *v, name_cmp);
	*names = v;
	*n = k;
	return 0;
}

void
store_targets_free(char **v, size_t n)
{
	size_t	i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}
