/*
 * The tables of a target's database:
 *
 *	dict(n, blob)	the dictionary blobs, in the order pack_encode() made
 *			them; a reader loads them all, in order of n.
 *	snap(n, time_ms, seq, seg, key, state, serial, size, body)
 *			a snapshot per row; n is the order the bodies were
 *			coded in, which a clock that went back makes differ
 *			from the order of time. seg is the segment: its
 *			first row by n is a key snapshot, each other row is
 *			coded against the row before it in the segment.
 *
 * Durability. A snapshot is its dictionary blob (when it added to the
 * dictionary) and its body, written in one transaction: SQLite's
 * write-ahead log makes a transaction all or nothing, so kill -9 at any
 * point loses at most the snapshot being written, and a database left by
 * a crash is whole when next opened (the log is replayed on open). With
 * journal_mode=WAL and synchronous=FULL the log is synced at each commit,
 * one fsync a snapshot (and the database's at a checkpoint, every 64 KB
 * of log), where writing a file of its own and renaming it cost two (the
 * file and its folder). With PACKSTORE_DEFER_SYNC, synchronous=NORMAL:
 * a commit is not synced, the log only at a checkpoint, and a caller that
 * syncs the file system once a second (heapwatchd's store) bounds what a
 * power failure takes to that second's commits, as for its files. SQLite
 * checks the log's frames in a chain at recovery, so what such a failure
 * leaves is the commits up to some point, none in part, never a later
 * one without those before it: a drop committed after the put that
 * displaced it never outlives that put (a file that displaced it is
 * another matter: store.c's retain_all()).
 *
 * Dropping a snapshot. A body is coded against the one before it, so a
 * snapshot dropped from the middle of a segment would leave the rest of
 * the segment unreadable. A dropped snapshot's row is therefore kept,
 * marked dropped (state 1) and no longer listed, while its segment holds
 * one still listed; a segment with none left is deleted whole. Tiers
 * thin out most of a segment (one kept in ten, then in sixty, at a
 * one-minute interval), so a thinned segment would keep its bodies for
 * nothing: when drops leave a segment, other than the newest, with half
 * or more of its rows dropped, its listed snapshots are coded again as a
 * segment of their own (the first a key) and the dropped rows deleted,
 * in one transaction, at most one segment each packstore_drop() (found
 * as packstore_halfempty() says). That costs reading the dictionary and
 * the segment's bodies, and coding the survivors: for a segment of 64
 * thinned to 7, some 71 snapshots' work once an hour of history, about
 * one snapshot's for each stored. Until then the dropped rows cost their
 * bodies, which are deltas, small beside a key.
 *
 * A snapshot whose body does not read back (corrupt on disk) gives an
 * error for it and for the rows after it in its segment, which are coded
 * against it, and for no other; packstore_check() sets such rows aside
 * (state 2), never deleting them, and the next snapshot starts a new
 * segment. A drop that codes a segment again and finds such a body there
 * (damage after start-up) sets them aside too (packstore_aside_from()).
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hash.h"
#include "pack.h"
#include "packstore.h"
#include "xmalloc.h"

#define PACKSTORE_BUSY_MS	30000	/* a reader's or writer's wait */
#define PACKSTORE_SEQ_MAX	1000	/* snapshots in one millisecond */
/*
 * 64 KB of log, then a checkpoint, the log kept at 64 KB. A longer log
 * (32 or 64 pages, 256 or 512 KB kept) checkpoints less often but makes
 * each open replay more: a put of bench/scale.sh's profile took as much
 * CPU either way (bench/packstore -d -p -F, three runs of each, medians
 * of 2.3 to 2.7 ms), for up to 448 KB more disk a target.
 */
#define PACKSTORE_WAL_PAGES	16
#define PACKSTORE_WAL_KEEP	(64 * 1024)

enum packstore_state {
	PACKSTORE_LISTED, PACKSTORE_DROPPED, PACKSTORE_ASIDE
};

struct packstore {
	sqlite3		*db;
	char		*path;
	/*
	 * The writer's pack, holding the dictionary and the newest
	 * snapshot, kept from one put to the next so that a put codes one
	 * profile instead of reading the segment back; NULL until the first
	 * put, and after a failed one. It is trusted while the database's
	 * newest row and dictionary blob are those it knows, and its
	 * segment's bodies up to that row (see packstore_fresh()).
	 */
	struct pack	*w;
	int64_t		 w_row, w_dict;	/* newest snap.n and dict.n */
	/*
	 * w_seg's bodies to w_row hashed, in turn; with w_key, only to the
	 * first that did not read back.
	 */
	uint64_t	 w_chain;
	int64_t		 w_seg, w_segrows, w_segtime;
	bool		 w_key;		/* the next must be a key */
	/*
	 * What a writer shrunk (packstore_writer_shrink()) keeps instead:
	 * its current snapshot coded as a key, with the snap.n and dict.n
	 * it was and the hash of its segment's bodies up to it as stored, so
	 * that reading the writer back costs the dictionary and this body
	 * (and the bodies stored after it, a repeat's) rather than decoding
	 * the segment's bodies from its key on. Empty when w is not NULL.
	 */
	struct pack_blob memo;
	int64_t		 memo_row, memo_dict;
	uint64_t	 memo_chain;
	/*
	 * The shape of the profile the writer coded last (pack.h), when it
	 * was a parsed one's coded by a writer not kept whole since the put
	 * before (w_shaped), and is known to a shrunk writer
	 * (memo_shaped): a profile of that shape is then coded from the
	 * memo without the dictionary (packstore_put_shaped()).
	 */
	uint64_t	 w_digest[2];
	bool		 w_shaped, memo_shaped;
	struct pack_shape memo_shape;
	uint64_t	 bodies;	/* read back, see packstore.h */
	uint64_t	 shaped;	/* puts coded by shape */
	uint64_t	 sweeps;	/* tried, see packstore_halfempty() */
	/*
	 * The snap.n of the row this connection's last put stored and the
	 * chained hash of its segment's bodies up to it (w_chain then), kept
	 * when the writer is forgotten, or 0: a repeat is refused unless
	 * that is still the newest row, on those bodies (retention may have
	 * deleted it with its segment, another process may have stored
	 * since, or stored others under the same n).
	 */
	int64_t		 put_row;
	uint64_t	 put_chain;
	bool		 deferred;	/* synchronous=NORMAL */
	bool		 indexed;	/* has snap_list, the listing's index */
	/*
	 * packstore_halfempty()'s: a sweep (a search of every segment) is
	 * due, the drops since the last, and the newest segment at its last
	 * look, sweep or not.
	 */
	bool		 sweep;
	unsigned int	 unswept;
	int64_t		 swept_newest;
};

/* What a repeat changes: the profile's times, in nanoseconds. */
struct packstore_times {
	int64_t		 time_nanos, duration_nanos;
};

/*
 * A reader's pack, the database it was loaded from (its file, and the
 * last dictionary blob loaded, by row and hash: a database made again in
 * its place differs in one or the other), and the snapshot it holds.
 */
struct packstore_reader {
	struct pack	*pk;		/* NULL: nothing loaded */
	dev_t		 dev;
	ino_t		 ino;
	int64_t		 dict;		/* dict.n of the last blob loaded */
	uint64_t	 dict_hash;
	int64_t		 seg, row;	/* the snapshot held; 0: none */
	uint64_t	 chain;		/* its segment's bodies up to it, hashed */
};

static const char *const packstore_schema =
	"CREATE TABLE IF NOT EXISTS dict ("
	" n INTEGER PRIMARY KEY, blob BLOB NOT NULL);"
	"CREATE TABLE IF NOT EXISTS snap ("
	" n INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
	" seq INTEGER NOT NULL, seg INTEGER NOT NULL, key INTEGER NOT NULL,"
	" state INTEGER NOT NULL DEFAULT 0, serial INTEGER NOT NULL,"
	" size INTEGER NOT NULL, body BLOB NOT NULL,"
	" UNIQUE (time_ms, seq));"
	"CREATE INDEX IF NOT EXISTS snap_seg ON snap (seg, n);";

/*
 * The listing's index: without it, listing a target's snapshots, as
 * retention does at each put, and finding the segments that drops
 * emptied read every page of the table, bodies and all, through a
 * connection whose cache is cold at each put (a month of one-minute
 * scrapes under the default tiers, 2,858 snapshots in 1,219 pages: 12.7
 * ms of CPU a put of the leak fixture's profile, 2.6 with the index;
 * bench/packstore -m). The body's length is a virtual column, which
 * costs no byte in the table and which the index holds, so that both
 * read the index alone (26 pages instead of 1,190). In time order, so
 * that a put and a drop each change one page of it. Added to a database
 * made without it by the first connection that can write; see
 * packstore_indexed().
 */
static const char *const packstore_stored =
	"ALTER TABLE snap ADD COLUMN stored INTEGER"
	" GENERATED ALWAYS AS (length(body)) VIRTUAL";
static const char *const packstore_list_index =
	"CREATE INDEX IF NOT EXISTS snap_list ON snap"
	" (time_ms, seq, state, seg, size, stored, key)";

/*
 * The system's error behind SQLite's last, or 0; saved is errno as the
 * failed call left it. SQLite keeps none for a full disk (SQLITE_FULL),
 * which is ENOSPC here (no page limit is set), nor for some failed
 * writes (SQLITE_IOERR_WRITE past RLIMIT_FSIZE), where errno still tells,
 * nor for a database it opened read-only (a read-only file system).
 */
static int
packstore_errno(struct packstore *ps, int saved)
{
	int	e = sqlite3_system_errno(ps->db);
	int	code = sqlite3_extended_errcode(ps->db) & 0xff;

	if (e == 0 && code == SQLITE_FULL)
		e = ENOSPC;
	if (e == 0 && code == SQLITE_IOERR)
		e = saved;
	/* Opened read-only behind our back: the file system says why. */
	if (e == 0 && code == SQLITE_READONLY && access(ps->path, W_OK) == -1)
		e = errno;
	return e;
}

/*
 * A cause naming the database, the step and SQLite's reason, with the
 * system's when a system call failed ("disk I/O error" alone does not
 * tell a full disk from a file size limit).
 */
static void
packstore_err(struct packstore *ps, const char *what, char **cause)
{
	int	e = packstore_errno(ps, errno);

	xasprintf(cause, "%s: %s: %s%s%s", ps->path, what,
	    sqlite3_errmsg(ps->db), e != 0 ? ": " : "", e != 0 ? strerror(e) :
	    "");
}

/* Run SQL without results. */
static int
packstore_exec(struct packstore *ps, const char *sql, char **cause)
{
	char	*msg = NULL;
	int	 e;

	errno = 0;
	if (sqlite3_exec(ps->db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	e = errno;
	if (cause != NULL) {
		e = packstore_errno(ps, e);
		xasprintf(cause, "%s: %s%s%s", ps->path, msg != NULL ? msg :
		    sqlite3_errmsg(ps->db), e != 0 ? ": " : "",
		    e != 0 ? strerror(e) : "");
	}
	sqlite3_free(msg);
	return -1;
}

static sqlite3_stmt *
packstore_prep(struct packstore *ps, const char *sql, char **cause)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(ps->db, sql, -1, &st, NULL) != SQLITE_OK) {
		packstore_err(ps, "prepare", cause);
		return NULL;
	}
	return st;
}

/* One integer from a query of one row, or dflt for none. */
static int
packstore_int(struct packstore *ps, const char *sql, int64_t arg,
    int64_t dflt, int64_t *v, char **cause)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = packstore_prep(ps, sql, cause)) == NULL)
		return -1;
	if (sqlite3_bind_parameter_count(st) > 0)
		sqlite3_bind_int64(st, 1, arg);
	*v = dflt;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_type(st, 0) != SQLITE_NULL)
			*v = sqlite3_column_int64(st, 0);
	} else if (rc != SQLITE_DONE) {
		packstore_err(ps, "select", cause);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	return 0;
}

/*
 * Give the table its listing's index, in a transaction the caller holds;
 * the column, when not there yet (an index dropped by hand leaves it).
 */
static int
packstore_index(struct packstore *ps, char **cause)
{
	char	*why = NULL;
	int64_t	 n;
	int	 rc;

	rc = packstore_int(ps, "SELECT count(*) FROM pragma_table_xinfo('snap')"
	    " WHERE name = 'stored'", 0, 0, &n, &why);
	if (rc == -1) {
		if (cause != NULL)
			*cause = why;
		else
			free(why);
		return -1;
	}
	if (n == 0 && packstore_exec(ps, packstore_stored, cause) == -1)
		return -1;
	return packstore_exec(ps, packstore_list_index, cause);
}

/*
 * Whether the database has its listing's index, giving it to it when it
 * has not and the connection can write (another may have given it
 * meanwhile: asked again once it holds the lock). A database that cannot
 * take it, read-only or locked past the busy timeout, is read as it is,
 * its listing reading the table.
 */
static void
packstore_indexed(struct packstore *ps)
{
	static const char	*has = "SELECT count(*) FROM sqlite_master"
				    " WHERE name = 'snap_list'";
	char			*why = NULL;
	int64_t			 n;

	ps->indexed = false;
	if (packstore_int(ps, has, 0, 0, &n, &why) == -1)
		goto out;
	if (n == 0 && packstore_exec(ps, "BEGIN IMMEDIATE", NULL) == 0) {
		if (packstore_int(ps, has, 0, 0, &n, &why) == -1 ||
		    (n == 0 && packstore_index(ps, NULL) == -1) ||
		    packstore_exec(ps, "COMMIT", NULL) == -1) {
			packstore_exec(ps, "ROLLBACK", NULL);
			goto out;
		}
		n = 1;
	}
	ps->indexed = n > 0;
out:
	free(why);
}

/* Whether path+suffix is missing or empty. */
static bool
packstore_no_side(const char *path, const char *suffix)
{
	struct stat	 sb;
	char		 side[4096];

	snprintf(side, sizeof side, "%s%s", path, suffix);
	if (stat(side, &sb) == 0)
		return sb.st_size == 0;
	return errno == ENOENT;
}

/*
 * Whether ps's database, which SQLite could not open (code), can only be
 * read immutable: SQLite reads a database in WAL mode through its -shm
 * file, which it cannot make on a read-only file system (a store copied
 * there without it, or whose last connection took its log away, as
 * sqlite3(1)'s does). With no log or an empty one, and no rollback
 * journal with anything in it, nothing is left half done and the file
 * holds the whole database. Anything else keeps SQLite's error: a log
 * with pages in it must be read, a journal rolled back. (heapwatchd
 * keeps its stores' logs, so SQLite opens a store it left by itself.)
 */
static bool
packstore_frozen(const struct packstore *ps, int code)
{
	struct statvfs	 vfs;
	unsigned char	 hdr[20];
	ssize_t		 got;
	int		 fd;

	if ((code & 0xff) != SQLITE_CANTOPEN ||
	    statvfs(ps->path, &vfs) == -1 || (vfs.f_flag & ST_RDONLY) == 0 ||
	    !packstore_no_side(ps->path, "-journal") ||
	    !packstore_no_side(ps->path, "-wal"))
		return false;
	/* In WAL mode: the header's write and read versions are 2. */
	if ((fd = open(ps->path, O_RDONLY | O_CLOEXEC)) == -1)
		return false;
	got = pread(fd, hdr, sizeof hdr, 0);
	close(fd);
	return got == (ssize_t)sizeof hdr && hdr[18] == 2 && hdr[19] == 2;
}

/*
 * Open ps's database immutable: read-only and without locks, as only a
 * remount could let anything change it.
 */
static int
packstore_open_frozen(struct packstore *ps)
{
	const char	*p;
	char		*uri, *q;
	int		 rc;

	/* "file:///abs" or "file:rel", what a URI reads otherwise escaped. */
	q = uri = xmalloc(3 * strlen(ps->path) + 32);
	q += sprintf(q, "%s", ps->path[0] == '/' ? "file://" : "file:");
	for (p = ps->path; *p != '\0'; p++)
		if (*p == '%' || *p == '?' || *p == '#')
			q += sprintf(q, "%%%02x", (unsigned char)*p);
		else
			*q++ = *p;
	strcpy(q, "?immutable=1");
	rc = sqlite3_open_v2(uri, &ps->db, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, NULL);
	free(uri);
	return rc;
}

/* Set ps's connection up; whether the database has its table in made. */
static int
packstore_setup(struct packstore *ps, int64_t *made, char **cause)
{
	char	 sql[160];

	sqlite3_extended_result_codes(ps->db, 1);
	sqlite3_busy_timeout(ps->db, PACKSTORE_BUSY_MS);
	sqlite3_db_config(ps->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
	snprintf(sql, sizeof sql, "PRAGMA synchronous=%s;"
	    "PRAGMA wal_autocheckpoint=%d; PRAGMA journal_size_limit=%d;",
	    ps->deferred ? "NORMAL" : "FULL", PACKSTORE_WAL_PAGES,
	    PACKSTORE_WAL_KEEP);
	if (packstore_exec(ps, sql, cause) == -1 ||
	    packstore_int(ps, "SELECT count(*) FROM sqlite_master WHERE"
	    " name = 'snap'", 0, 0, made, cause) == -1)
		return -1;
	return 0;
}

/*
 * Open ps's connection. The log is neither checkpointed nor removed when
 * the last connection closes, so that a put costs one fsync (none with
 * PACKSTORE_DEFER_SYNC), not three, with the connection closed between
 * puts; it is checkpointed as it passes PACKSTORE_WAL_PAGES and cut back
 * to PACKSTORE_WAL_KEEP, some 64 KB a target. 1 when the database is
 * missing and not created.
 */
static int
packstore_connect(struct packstore *ps, bool create, char **cause)
{
	int64_t	 made;
	char	*dotted = NULL;
	int	 flags, rc;

	flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX |
	    (create ? SQLITE_OPEN_CREATE : 0);
	/*
	 * SQLite as built with URIs on (as Debian's is) takes a name that
	 * starts with "file:" as one: a relative storage.path so named is
	 * opened as the path it is.
	 */
	if (strncmp(ps->path, "file:", 5) == 0)
		xasprintf(&dotted, "./%s", ps->path);
	rc = sqlite3_open_v2(dotted != NULL ? dotted : ps->path, &ps->db,
	    flags, NULL);
	free(dotted);
	if (rc != SQLITE_OK) {
		if (!create && sqlite3_errcode(ps->db) == SQLITE_CANTOPEN) {
			sqlite3_close(ps->db);
			ps->db = NULL;
			return 1;
		}
		packstore_err(ps, "open", cause);
		goto fail;
	}
	if (packstore_setup(ps, &made, cause) == -1) {
		if (create || !packstore_frozen(ps,
		    sqlite3_extended_errcode(ps->db)))
			goto fail;
		free(*cause);
		*cause = NULL;
		sqlite3_close(ps->db);
		ps->db = NULL;
		if (packstore_open_frozen(ps) != SQLITE_OK) {
			packstore_err(ps, "open read-only", cause);
			goto fail;
		}
		if (packstore_setup(ps, &made, cause) == -1)
			goto fail;
	}
	if (made) {
		packstore_indexed(ps);
		return 0;
	}
	/*
	 * Made here, the first time (WAL mode stays set in the file); an
	 * empty file left by a first write that failed is no database to
	 * a reader, which writes nothing.
	 */
	if (!create) {
		sqlite3_close(ps->db);
		ps->db = NULL;
		return 1;
	}
	/* One transaction: its pages go to the log once. */
	if (packstore_exec(ps, "PRAGMA journal_mode=WAL", cause) == -1 ||
	    packstore_exec(ps, "BEGIN IMMEDIATE", cause) == -1)
		goto fail;
	if (packstore_exec(ps, packstore_schema, cause) == -1 ||
	    packstore_index(ps, cause) == -1 ||
	    packstore_exec(ps, "COMMIT", cause) == -1) {
		packstore_exec(ps, "ROLLBACK", NULL);
		goto fail;
	}
	ps->indexed = true;
	return 0;
fail:
	sqlite3_close(ps->db);
	ps->db = NULL;
	return -1;
}

/* The connection, opened again when packstore_idle() closed it. */
static int
packstore_db(struct packstore *ps, char **cause)
{
	if (ps->db != NULL)
		return 0;
	switch (packstore_connect(ps, false, cause)) {
	case 0:
		return 0;
	case 1:
		xasprintf(cause, "%s: the database is gone", ps->path);
		break;
	}
	return -1;
}

int
packstore_open(const char *path, int flags, struct packstore **out,
    char **cause)
{
	struct packstore	*ps;
	int			 rc;

	*out = NULL;
	ps = xcalloc(1, sizeof *ps);
	ps->path = xstrdup(path);
	ps->deferred = (flags & PACKSTORE_DEFER_SYNC) != 0;
	if ((rc = packstore_connect(ps, (flags & PACKSTORE_CREATE) != 0,
	    cause)) != 0) {
		packstore_close(ps);
		return rc == 1 ? 0 : -1;
	}
	*out = ps;
	return 0;
}

void
packstore_idle(struct packstore *ps)
{
	struct stat	 sb;
	char		 wal[4096];

	if (ps == NULL || ps->db == NULL)
		return;
	/*
	 * A log that connections closed one after the other let grow (no
	 * automatic checkpoint resets it then) is copied into the database
	 * and cut to nothing: at most 64 KB of log, not megabytes.
	 */
	snprintf(wal, sizeof wal, "%s-wal", ps->path);
	if (stat(wal, &sb) == 0 && sb.st_size > PACKSTORE_WAL_KEEP)
		(void)sqlite3_wal_checkpoint_v2(ps->db, NULL,
		    SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(ps->db);
	ps->db = NULL;
	/* Until the next scrape, the writer holds its dictionary only. */
	pack_trim(ps->w);
}

uint64_t
packstore_bodies_read(const struct packstore *ps)
{
	return ps->bodies;
}

uint64_t
packstore_shaped_puts(const struct packstore *ps)
{
	return ps->shaped;
}

uint64_t
packstore_sweeps(const struct packstore *ps)
{
	return ps->sweeps;
}

size_t
packstore_writer_held(const struct packstore *ps)
{
	struct pack_stats	st;

	if (ps == NULL)
		return 0;
	if (ps->w == NULL)
		return ps->memo.len + pack_shape_held(&ps->memo_shape);
	pack_stats(ps->w, &st);
	return st.held;
}

bool
packstore_writer_whole(const struct packstore *ps)
{
	return ps != NULL && ps->w != NULL;
}

static void
packstore_memo_free(struct packstore *ps)
{
	free(ps->memo.data);
	memset(&ps->memo, 0, sizeof ps->memo);
	pack_shape_free(&ps->memo_shape);
	ps->memo_shaped = false;
}

size_t
packstore_writer_shrink(struct packstore *ps)
{
	char	*why = NULL;

	if (ps == NULL || ps->w == NULL)
		return packstore_writer_held(ps);
	/* A writer whose next snapshot must be a key needs no snapshot. */
	if (ps->w_key || pack_key_body(ps->w, &ps->memo, &why) == -1)
		packstore_memo_free(ps);
	else if (ps->w_shaped && pack_shape_take(ps->w, ps->w_digest,
	    &ps->memo_shape) == 0)
		ps->memo_shaped = true;
	free(why);
	ps->memo_row = ps->w_row;
	ps->memo_dict = ps->w_dict;
	ps->memo_chain = ps->w_chain;
	pack_free(ps->w);
	ps->w = NULL;
	return packstore_writer_held(ps);
}

void
packstore_writer_forget(struct packstore *ps)
{
	if (ps == NULL)
		return;
	pack_free(ps->w);
	ps->w = NULL;
	packstore_memo_free(ps);
}

void
packstore_close(struct packstore *ps)
{
	if (ps == NULL)
		return;
	pack_free(ps->w);
	packstore_memo_free(ps);
	sqlite3_close(ps->db);
	free(ps->path);
	free(ps);
}

/*
 * Give each row of st, (n, blob), to load into pk, in order; *row gets
 * the n of the last row read (0 for none), *hash, when not NULL, the
 * hash of its blob, and *chain, when not NULL, each blob hashed on from
 * it in turn. -1 at the first blob that does not load, with *bad
 * set (*row is then its n; what names it), or when SQLite fails (reading
 * says doing what).
 */
static int
packstore_load_rows(struct packstore *ps, sqlite3_stmt *st, struct pack *pk,
    int (*load)(struct pack *, const void *, size_t, size_t, char **),
    const char *what, const char *reading, size_t max, int64_t *row,
    uint64_t *hash, uint64_t *chain, bool *bad, char **cause)
{
	const void	*blob;
	char		*why = NULL;
	size_t		 len;
	int		 rc;

	*row = 0;
	*bad = false;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*row = sqlite3_column_int64(st, 0);
		blob = sqlite3_column_blob(st, 1);
		len = (size_t)sqlite3_column_bytes(st, 1);
		if (hash != NULL)
			*hash = hash_bytes(blob, len, 0);
		if (chain != NULL)
			*chain = hash_bytes(blob, len, *chain);
		if (load(pk, blob, len, max, &why) == -1) {
			xasprintf(cause, "%s: %s %lld: %s", ps->path, what,
			    (long long)*row, why);
			free(why);
			*bad = true;
			sqlite3_finalize(st);
			return -1;
		}
		if (load == pack_load_snap)
			ps->bodies++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		packstore_err(ps, reading, cause);
		return -1;
	}
	return 0;
}

/*
 * Load the dictionary blobs after row after into pk; *last gets the
 * newest's n (0: none was), *hash, when not NULL, its hash. A blob that
 * does not load sets *corrupt, when not NULL.
 */
static int
packstore_load_dict(struct packstore *ps, struct pack *pk, int64_t after,
    size_t max, int64_t *last, uint64_t *hash, bool *corrupt, char **cause)
{
	sqlite3_stmt	*st;
	bool		 bad;

	*last = 0;
	if ((st = packstore_prep(ps, "SELECT n, blob FROM dict WHERE n > ?"
	    " ORDER BY n", cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	if (packstore_load_rows(ps, st, pk, pack_load_dict,
	    "dictionary blob", "reading the dictionary", max, last, hash, NULL,
	    &bad, cause) == -1) {
		if (bad && corrupt != NULL)
			*corrupt = true;
		return -1;
	}
	return 0;
}

/*
 * Load into pk the bodies of segment seg after row from up to row upto,
 * in order, each hashed on from *chain when not NULL; -1 at the first
 * that does not load, with *failed its row.
 */
static int
packstore_load_chain(struct packstore *ps, struct pack *pk, int64_t seg,
    int64_t from, int64_t upto, size_t max, uint64_t *chain, int64_t *failed,
    char **cause)
{
	sqlite3_stmt	*st;
	int64_t		 n;
	bool		 bad;

	*failed = 0;
	if ((st = packstore_prep(ps, "SELECT n, body FROM snap WHERE seg = ?"
	    " AND n > ? AND n <= ? ORDER BY n", cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seg);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, upto);
	if (packstore_load_rows(ps, st, pk, pack_load_snap, "snapshot body",
	    "reading bodies", max, &n, NULL, chain, &bad, cause) == -1) {
		if (bad)
			*failed = n;
		return -1;
	}
	return 0;
}

/*
 * Whether the bodies of segment seg up to row upto hash, in turn, to
 * chain: the very bodies a writer stored or read there, none damaged on
 * disk since, nor another's in their place.
 */
static bool
packstore_chain_is(struct packstore *ps, int64_t seg, int64_t upto,
    uint64_t chain)
{
	sqlite3_stmt	*st;
	char		*why = NULL;
	uint64_t	 h = 0;
	int64_t		 last = 0;
	int		 rc;

	if ((st = packstore_prep(ps, "SELECT n, body FROM snap WHERE seg = ?"
	    " AND n <= ? ORDER BY n", &why)) == NULL) {
		free(why);
		return false;
	}
	sqlite3_bind_int64(st, 1, seg);
	sqlite3_bind_int64(st, 2, upto);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		h = hash_bytes(sqlite3_column_blob(st, 1),
		    (size_t)sqlite3_column_bytes(st, 1), h);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE && last == upto && h == chain;
}

/* The newest row's n and segment, in *row, *seg; 0 when there is none. */
static int
packstore_newest(struct packstore *ps, int64_t *row, int64_t *seg,
    char **cause)
{
	sqlite3_stmt	*st;
	int		 rc;

	*row = *seg = 0;
	if ((st = packstore_prep(ps, "SELECT n, seg FROM snap ORDER BY n DESC"
	    " LIMIT 1", cause)) == NULL)
		return -1;
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*row = sqlite3_column_int64(st, 0);
		*seg = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		packstore_err(ps, "reading the newest snapshot", cause);
		return -1;
	}
	return 0;
}

/*
 * Make the writer being read back current from what a shrunk writer kept:
 * its snapshot, then the bodies stored after it in the newest segment
 * (another process's puts, repeats coded from the newest row alone).
 * Only while the dictionary is the one it knew (its newest blob) and the
 * newest segment's bodies up to its row are the ones it stored or read
 * there, hashed (not decoded: a fraction of reading them): else, false,
 * the pack to be read from the segment's key again, so that a body
 * damaged on disk makes the next snapshot a key, as it does for a writer
 * forgotten.
 */
static bool
packstore_memo_load(struct packstore *ps, size_t max)
{
	char	*why = NULL;
	int64_t	 failed;

	if (ps->memo.len == 0 || ps->memo_dict != ps->w_dict ||
	    ps->memo_row > ps->w_row ||
	    !packstore_chain_is(ps, ps->w_seg, ps->memo_row, ps->memo_chain))
		return false;
	ps->w_chain = ps->memo_chain;
	if (pack_load_snap(ps->w, ps->memo.data, ps->memo.len, max,
	    &why) == -1 || (ps->memo_row < ps->w_row &&
	    packstore_load_chain(ps, ps->w, ps->w_seg, ps->memo_row,
	    ps->w_row, max, &ps->w_chain, &failed, &why) == -1)) {
		free(why);
		return false;
	}
	return true;
}

/*
 * Make the writer's pack from the database, inside the put's transaction:
 * the dictionary and the newest snapshot, from what a shrunk writer kept
 * or else from its segment. A segment that does not read back makes the
 * next snapshot a key.
 */
static int
packstore_writer(struct packstore *ps, size_t max, char **cause)
{
	char	*why = NULL;
	int64_t	 failed;

	pack_free(ps->w);
	ps->w = pack_new(PACK_LEVEL_DEFAULT);
	pack_will_code(ps->w);
	ps->w_shaped = false;
	ps->w_row = ps->w_seg = ps->w_segrows = ps->w_segtime = 0;
	ps->w_key = true;
	if (packstore_load_dict(ps, ps->w, 0, max, &ps->w_dict, NULL, NULL,
	    cause) == -1)
		goto fail;
	if (packstore_newest(ps, &ps->w_row, &ps->w_seg, cause) == -1)
		goto fail;
	if (ps->w_row == 0)
		goto done;
	if (packstore_int(ps, "SELECT count(*) FROM snap WHERE seg = ?",
	    ps->w_seg, 0, &ps->w_segrows, cause) == -1 ||
	    packstore_int(ps, "SELECT time_ms FROM snap WHERE seg = ? ORDER BY"
	    " n LIMIT 1", ps->w_seg, 0, &ps->w_segtime, cause) == -1)
		goto fail;
	/* A segment that does not read back: the next snapshot a key. */
	if (!packstore_memo_load(ps, max)) {
		ps->w_chain = 0;
		if (packstore_load_chain(ps, ps->w, ps->w_seg, 0, ps->w_row,
		    max, &ps->w_chain, &failed, &why) == -1) {
			if (failed == 0) {
				*cause = why;
				goto fail;
			}
			free(why);
			goto done;
		}
	}
	ps->w_key = false;
done:
	packstore_memo_free(ps);
	return 0;
fail:
	pack_free(ps->w);
	ps->w = NULL;
	packstore_memo_free(ps);
	return -1;
}

/*
 * Whether the writer's pack is the database's newest state: its newest
 * row and dictionary blob are the writer's by number, and the segment's
 * bodies up to that row hash to the writer's chain, as a shrunk writer's
 * do (packstore_memo_load()). Numbers alone can lie: another process
 * that drops the newest segment whole and stores as many rows again gets
 * the same rowids from SQLite, and a delta coded on the writer's
 * snapshot would follow one it never saw. Nor is the newest body enough:
 * a repeat's body holds the times and the serials, not the snapshot it
 * repeats. The bodies are read and hashed, not decoded. A writer whose
 * segment did not read back (w_key) codes a key in a segment of its own
 * next and repeats nothing, so its segment is not checked: its chain
 * stops at the body that failed.
 */
static int
packstore_fresh(struct packstore *ps, bool *fresh, char **cause)
{
	int64_t	row, seg, dict;

	*fresh = false;
	if (ps->w == NULL)
		return 0;
	if (packstore_newest(ps, &row, &seg, cause) == -1 ||
	    packstore_int(ps, "SELECT max(n) FROM dict", 0, 0, &dict,
	    cause) == -1)
		return -1;
	*fresh = row == ps->w_row && dict == ps->w_dict &&
	    (row == 0 || (seg == ps->w_seg && (ps->w_key ||
	    packstore_chain_is(ps, seg, row, ps->w_chain))));
	return 0;
}

/* Insert the snapshot's rows; the transaction is open. */
static int
packstore_insert(struct packstore *ps, int64_t time_ms, uint32_t seq,
    int64_t seg, bool key, uint64_t serial, size_t size,
    const struct pack_blob *dict, const struct pack_blob *body, char **cause)
{
	sqlite3_stmt		*st;

	if (dict->len > 0) {
		if ((st = packstore_prep(ps, "INSERT INTO dict (blob) VALUES"
		    " (?)", cause)) == NULL)
			return -1;
		sqlite3_bind_blob(st, 1, dict->data, (int)dict->len,
		    SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			packstore_err(ps, "storing the dictionary", cause);
			sqlite3_finalize(st);
			return -1;
		}
		sqlite3_finalize(st);
		ps->w_dict = sqlite3_last_insert_rowid(ps->db);
	}
	if ((st = packstore_prep(ps, "INSERT INTO snap (time_ms, seq, seg,"
	    " key, serial, size, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
	    cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, time_ms);
	sqlite3_bind_int64(st, 2, seq);
	sqlite3_bind_int64(st, 3, seg);
	sqlite3_bind_int(st, 4, key);
	sqlite3_bind_int64(st, 5, (int64_t)serial);
	sqlite3_bind_int64(st, 6, (int64_t)size);
	sqlite3_bind_blob(st, 7, body->data, (int)body->len, SQLITE_STATIC);
	if (sqlite3_step(st) != SQLITE_DONE) {
		packstore_err(ps, "storing the snapshot", cause);
		sqlite3_finalize(st);
		return -1;
	}
	sqlite3_finalize(st);
	ps->w_row = sqlite3_last_insert_rowid(ps->db);
	ps->w_chain = hash_bytes(body->data, body->len, key ? 0 :
	    ps->w_chain);
	return 0;
}

/*
 * Whether the writer's current snapshot is the newest stored, the one
 * this connection stored last when it stored any, for a repeat of it.
 */
static int
packstore_repeatable(struct packstore *ps, char **cause)
{
	if (ps->w_row == 0)
		xasprintf(cause, "%s: no snapshot to repeat", ps->path);
	else if (ps->w_key)
		xasprintf(cause, "%s: cannot repeat the newest snapshot, which"
		    " does not read back", ps->path);
	else if (ps->put_row != 0 && (ps->put_row != ps->w_row ||
	    ps->put_chain != ps->w_chain))
		xasprintf(cause, "%s: cannot repeat the last snapshot stored,"
		    " which is no longer the newest", ps->path);
	else
		return 0;
	return -1;
}

/*
 * What deciding a put's segment and sequence needs of the newest segment
 * seg, for a put at time_ms: its rows (*rows), those set aside (*aside),
 * its key's time (*segtime), and the last sequence number taken in that
 * millisecond (*s, -1 for none).
 */
static int
packstore_segment(struct packstore *ps, int64_t seg, int64_t time_ms,
    int64_t *rows, int64_t *aside, int64_t *segtime, int64_t *s,
    char **cause)
{
	sqlite3_stmt	*st;
	int		 rc;

	*rows = *aside = 0;
	if ((st = packstore_prep(ps, "SELECT count(*), total(state = 2) FROM"
	    " snap WHERE seg = ?", cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seg);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*rows = sqlite3_column_int64(st, 0);
		*aside = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		packstore_err(ps, "reading the newest segment", cause);
		return -1;
	}
	return packstore_int(ps, "SELECT time_ms FROM snap WHERE seg = ? ORDER"
	    " BY n LIMIT 1", seg, 0, segtime, cause) == -1 ||
	    packstore_int(ps, "SELECT max(seq) FROM snap WHERE time_ms = ?",
	    time_ms, -1, s, cause) == -1 ? -1 : 0;
}

/*
 * A repeat without the writer, which the writers' budget forgets for most
 * of many targets between two puts: reading it back (the dictionary and
 * the newest segment's bodies) was most of such a repeat's cost, when a
 * repeat that is not a segment's key needs only the newest body (see
 * pack_encode_repeat_body()). 1, the transaction still open and nothing
 * stored, when it needs the writer: there is no newest row, it is not
 * the last this connection stored, its segment has rows set aside or
 * ends here (the repeat is a key), its body does not read, or the
 * millisecond is full; the writer's path then stores the repeat or says
 * why not. So is it when a body of the segment is not whole (its zstd
 * checksum), which the writer's path finds does not read back, rather
 * than a repeat coded on it that would not read back either: checking
 * the frames costs a fraction of reading the segment into a pack (which
 * needs the dictionary), and they are what a damaged disk breaks.
 */
static int
packstore_repeat_bare(struct packstore *ps, int64_t time_ms,
    const struct packstore_times *rep, size_t len, size_t max,
    uint32_t *seq, char **cause)
{
	struct pack_blob	 dict = { 0 }, body = { 0 };
	struct pack		*ck;
	sqlite3_stmt		*st;
	const void		*data = NULL;
	char			*why = NULL;
	size_t			 dlen = 0;
	uint64_t		 serial;
	int64_t			 row = 0, seg = 0, rows = 0, aside = 0;
	int64_t			 segtime, s;
	uint64_t		 chain = 0;
	bool			 ours;
	int			 rc;

	if (packstore_newest(ps, &row, &seg, cause) == -1)
		return -1;
	if (row == 0 || (ps->put_row != 0 && ps->put_row != row))
		return 1;
	if (packstore_segment(ps, seg, time_ms, &rows, &aside, &segtime, &s,
	    cause) == -1)
		return -1;
	/* As packstore_put_any() decides a key. */
	if (aside > 0 || rows >= PACKSTORE_SEGMENT || time_ms < segtime ||
	    time_ms - segtime >= PACKSTORE_SEGMENT_MS ||
	    s + 1 >= PACKSTORE_SEQ_MAX)
		return 1;
	if ((st = packstore_prep(ps, "SELECT n, body FROM snap WHERE seg = ?"
	    " ORDER BY n", cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seg);
	ck = pack_new(PACK_LEVEL_DEFAULT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		data = sqlite3_column_blob(st, 1);
		dlen = (size_t)sqlite3_column_bytes(st, 1);
		chain = hash_bytes(data, dlen, chain);
		if (sqlite3_column_int64(st, 0) == row)
			break;
		if (pack_body_check(ck, data, dlen, max, &why) == -1)
			break;
	}
	pack_free(ck);
	/* Others' rows under the n of this connection's last: the writer. */
	ours = rc == SQLITE_ROW && (ps->put_row == 0 ||
	    chain == ps->put_chain);
	if (rc == SQLITE_ROW && why == NULL && ours)
		rc = pack_encode_repeat_body(data, dlen, max,
		    PACK_LEVEL_DEFAULT, rep->time_nanos, rep->duration_nanos,
		    &body, &serial, &why);
	else if (rc == SQLITE_DONE)
		rc = 1;		/* the newest went: see the writer */
	else if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		packstore_err(ps, "reading bodies", cause);
		return -1;
	}
	sqlite3_finalize(st);
	if (rc != 0) {
		free(why);
		return 1;
	}
	ps->w_chain = chain;	/* the insert hashes the repeat on */
	rc = packstore_insert(ps, time_ms, (uint32_t)(s + 1), seg, false,
	    serial, len, &dict, &body, cause);
	free(body.data);
	if (rc == -1 || packstore_exec(ps, "COMMIT", cause) == -1)
		return -1;
	ps->put_row = ps->w_row;
	ps->put_chain = ps->w_chain;
	*seq = (uint32_t)(s + 1);
	return 0;
}

/*
 * A parsed profile of the shape a shrunk writer coded last (its digest
 * checked by the caller), coded from the writer's memo without reading
 * the dictionary back, which is most of a put for a writer not kept:
 * for bench/scale.sh's profile changed at every GC, 7.9 million
 * instructions a put rather than 15.3 (callgrind, bench/packstore -p -F
 * on 22 scrapes of genprof -same's pair in turn). What a writer kept codes,
 * byte for byte (pack_encode_shaped()). Only while the newest row is
 * this connection's last put or a repeat of it that it stored since,
 * the dictionary the one the memo knew and the segment's bodies the ones
 * it stored; 1, the transaction still open and nothing stored, for
 * anything else, which the writer's path then codes.
 */
static int
packstore_put_shaped(struct packstore *ps, int64_t time_ms,
    const struct profile_view *v, size_t len, size_t max, uint32_t *seq,
    char **cause)
{
	struct pack_blob	 dict = { 0 }, body = { 0 }, next = { 0 };
	sqlite3_stmt		*st;
	void			*last = NULL;
	char			*why = NULL;
	size_t			 lastlen = 0;
	uint64_t		 chain = 0, serial;
	int64_t			 row, seg, n, d, rows, aside, segtime, s;
	bool			 key, memo = false;
	int			 rc;

	if (packstore_newest(ps, &row, &seg, cause) == -1 ||
	    packstore_int(ps, "SELECT max(n) FROM dict", 0, 0, &d,
	    cause) == -1)
		return -1;
	if (row == 0 || row < ps->memo_row || row != ps->put_row ||
	    d != ps->memo_dict)
		return 1;
	if (packstore_segment(ps, seg, time_ms, &rows, &aside, &segtime, &s,
	    cause) == -1)
		return -1;
	if (aside > 0 || s + 1 >= PACKSTORE_SEQ_MAX)
		return 1;
	/* As packstore_put_any() decides a key. */
	key = rows >= PACKSTORE_SEGMENT || time_ms < segtime ||
	    time_ms - segtime >= PACKSTORE_SEGMENT_MS;
	/*
	 * The segment's bodies hashed in turn, as stored: the memo's row
	 * among them, and the newest, a repeat of it when another, kept.
	 */
	if ((st = packstore_prep(ps, "SELECT n, body FROM snap WHERE seg = ?"
	    " AND n <= ? ORDER BY n", cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seg);
	sqlite3_bind_int64(st, 2, row);
	n = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		lastlen = (size_t)sqlite3_column_bytes(st, 1);
		chain = hash_bytes(sqlite3_column_blob(st, 1), lastlen, chain);
		if (n == ps->memo_row)
			memo = chain == ps->memo_chain;
		if (n == row && row != ps->memo_row) {
			last = xmalloc(lastlen + 1);
			memcpy(last, sqlite3_column_blob(st, 1), lastlen);
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		free(last);
		packstore_err(ps, "reading bodies", cause);
		return -1;
	}
	if (!memo || n != row || chain != ps->put_chain ||
	    pack_encode_shaped(&ps->memo_shape, &ps->memo, last, lastlen, max,
	    PACK_LEVEL_DEFAULT, v, key, &body, &next, &serial, &why) == -1) {
		free(last);
		free(why);
		return 1;
	}
	free(last);
	if (key && packstore_int(ps, "SELECT max(seg) FROM snap", 0, 0,
	    &seg, cause) == -1)
		goto fail;
	if (key)
		seg++;
	ps->w_chain = chain;	/* the insert hashes the body on */
	if (packstore_insert(ps, time_ms, (uint32_t)(s + 1), seg, key,
	    serial, len, &dict, &body, cause) == -1 ||
	    packstore_exec(ps, "COMMIT", cause) == -1)
		goto fail;
	free(body.data);
	free(ps->memo.data);
	ps->memo = next;
	ps->memo_row = ps->put_row = ps->w_row;
	ps->memo_chain = ps->put_chain = ps->w_chain;
	ps->shaped++;
	*seq = (uint32_t)(s + 1);
	return 0;
fail:
	free(body.data);
	free(next.data);
	return -1;
}

/*
 * packstore_put() of the protobuf data, of the parsed profile v when set,
 * or of the newest snapshot again with the times in rep when set; len is
 * the size as received. A repeat refused is 1 (see packstore_put_repeat()).
 */
static int
packstore_put_any(struct packstore *ps, int64_t time_ms, const void *data,
    const struct profile_view *v, const struct packstore_times *rep,
    size_t len, size_t max, uint32_t *seq, char **cause)
{
	struct pack_blob	 dict = { 0 }, body = { 0 };
	struct pack_stats	 pst;
	uint64_t		 digest[2] = { 0, 0 };
	int64_t			 s, seg;
	bool			 fresh, key;
	int			 rc;

	if (len > INT32_MAX) {
		xasprintf(cause, "profile of %zu bytes is too large", len);
		return -1;
	}
	if (packstore_db(ps, cause) == -1)
		return -1;
	if (packstore_exec(ps, "BEGIN IMMEDIATE", cause) == -1)
		return -1;
	if (packstore_fresh(ps, &fresh, cause) == -1)
		goto fail;
	if (!fresh && rep != NULL) {
		/* A writer not fresh is no use, whatever happens. */
		pack_free(ps->w);
		ps->w = NULL;
		if ((rc = packstore_repeat_bare(ps, time_ms, rep, len, max, seq,
		    cause)) == 0)
			return 0;
		if (rc == -1)
			goto fail;
	}
	/*
	 * A writer not kept whole since the last put (shrunk, forgotten,
	 * failed, stale, or not made yet) takes the profile's shape, by
	 * which a shrunk writer codes the next profile of that shape
	 * (packstore_put_shaped()); a writer kept whole, as the few targets
	 * of a small store keep theirs, has no use for it (1 million
	 * instructions for bench/scale.sh's profile) until the store
	 * shrinks it, and then takes it at its next put.
	 */
	if (v != NULL && !fresh)
		pack_view_digest(v, digest);
	if (!fresh && v != NULL && ps->memo_shaped &&
	    ps->memo_shape.digest[0] == digest[0] &&
	    ps->memo_shape.digest[1] == digest[1]) {
		if ((rc = packstore_put_shaped(ps, time_ms, v, len, max, seq,
		    cause)) == 0)
			return 0;
		if (rc == -1)
			goto fail;
	}
	if (!fresh && packstore_writer(ps, max, cause) == -1)
		goto fail;
	if (rep != NULL && packstore_repeatable(ps, cause) == -1) {
		/* The writer is sound: only this put is refused. */
		packstore_exec(ps, "ROLLBACK", NULL);
		return 1;
	}
	if (packstore_int(ps, "SELECT max(seq) FROM snap WHERE time_ms = ?",
	    time_ms, -1, &s, cause) == -1)
		goto fail;
	if (s + 1 >= PACKSTORE_SEQ_MAX) {
		xasprintf(cause, "%s: %d snapshots in one millisecond",
		    ps->path, PACKSTORE_SEQ_MAX);
		goto fail;
	}
	/*
	 * A new segment at the cadence, or when the clock went back, so that
	 * a segment's rows stay within the hour of its key.
	 */
	key = ps->w_key || ps->w_segrows >= PACKSTORE_SEGMENT ||
	    time_ms < ps->w_segtime ||
	    time_ms - ps->w_segtime >= PACKSTORE_SEGMENT_MS;
	if (rep != NULL)
		rc = pack_encode_repeat(ps->w, rep->time_nanos,
		    rep->duration_nanos, key, &dict, &body, cause);
	else if (v != NULL)
		rc = pack_encode_parsed(ps->w, v, key, &dict, &body, cause);
	else
		rc = pack_encode(ps->w, data, len, max, key, &dict, &body,
		    cause);
	if (rc == -1) {
		/*
		 * A malformed profile leaves the pack as it was; so does a
		 * repeat refused, with no current snapshot. A profile that
		 * failed past its parse (in zstd) may leave its
		 * samples' order in the pack, which the shape taken last
		 * no longer describes.
		 */
		packstore_exec(ps, "ROLLBACK", NULL);
		if (rep == NULL)
			ps->w_shaped = false;
		return rep != NULL ? 1 : -1;
	}
	if (key && packstore_int(ps, "SELECT max(seg) FROM snap", 0, 0,
	    &seg, cause) == -1)
		goto fail;
	if (key)
		seg++;
	else
		seg = ps->w_seg;
	pack_stats(ps->w, &pst);
	if (packstore_insert(ps, time_ms, (uint32_t)(s + 1), seg, key,
	    pst.serial, len, &dict, &body, cause) == -1 ||
	    packstore_exec(ps, "COMMIT", cause) == -1)
		goto fail;
	/* A repeat leaves the shape as it was. */
	if (rep == NULL) {
		ps->w_shaped = v != NULL && !fresh;
		ps->w_digest[0] = digest[0];
		ps->w_digest[1] = digest[1];
	}
	free(dict.data);
	free(body.data);
	if (key) {
		ps->w_seg = seg;
		ps->w_segrows = 0;
		ps->w_segtime = time_ms;
	}
	ps->w_segrows++;
	ps->w_key = false;
	ps->put_row = ps->w_row;
	ps->put_chain = ps->w_chain;
	*seq = (uint32_t)(s + 1);
	return 0;
fail:
	free(dict.data);
	free(body.data);
	if (!sqlite3_get_autocommit(ps->db))
		packstore_exec(ps, "ROLLBACK", NULL);
	/* The pack may be ahead of what is stored: read it again. */
	pack_free(ps->w);
	ps->w = NULL;
	return -1;
}

int
packstore_put(struct packstore *ps, int64_t time_ms, const void *data,
    size_t len, size_t max, uint32_t *seq, char **cause)
{
	return packstore_put_any(ps, time_ms, data, NULL, NULL, len, max, seq,
	    cause);
}

int
packstore_put_parsed(struct packstore *ps, int64_t time_ms,
    const struct profile_view *v, size_t len, size_t max, uint32_t *seq,
    char **cause)
{
	return packstore_put_any(ps, time_ms, NULL, v, NULL, len, max, seq,
	    cause);
}

int
packstore_put_repeat(struct packstore *ps, int64_t time_ms,
    int64_t time_nanos, int64_t duration_nanos, size_t len, size_t max,
    uint32_t *seq, char **cause)
{
	struct packstore_times	rep = { time_nanos, duration_nanos };

	return packstore_put_any(ps, time_ms, NULL, NULL, &rep, len, max, seq,
	    cause);
}

int
packstore_list(struct packstore *ps, struct packstore_snap **out, size_t *n,
    char **cause)
{
	sqlite3_stmt		*st;
	struct packstore_snap	*v = NULL;
	size_t			 cap = 0;
	int			 rc;

	*out = NULL;
	*n = 0;
	if (packstore_db(ps, cause) == -1)
		return -1;
	if ((st = packstore_prep(ps, ps->indexed ? "SELECT time_ms, seq, size,"
	    " stored, key FROM snap WHERE state = 0 ORDER BY time_ms, seq" :
	    "SELECT time_ms, seq, size, length(body), key FROM snap WHERE"
	    " state = 0 ORDER BY time_ms, seq", cause)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[*n].time_ms = sqlite3_column_int64(st, 0);
		v[*n].seq = (uint32_t)sqlite3_column_int64(st, 1);
		v[*n].size = (uint64_t)sqlite3_column_int64(st, 2);
		v[*n].stored = (uint64_t)sqlite3_column_int64(st, 3);
		v[*n].key = sqlite3_column_int(st, 4) != 0;
		(*n)++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		packstore_err(ps, "listing", cause);
		free(v);
		*n = 0;
		return -1;
	}
	*out = v;
	return 0;
}

int
packstore_has(struct packstore *ps, int64_t time_ms, uint32_t seq,
    bool *has, char **cause)
{
	sqlite3_stmt	*st;
	int		 rc;

	*has = false;
	if (packstore_db(ps, cause) == -1)
		return -1;
	if ((st = packstore_prep(ps, "SELECT 1 FROM snap WHERE time_ms = ? AND"
	    " seq = ? AND state = 0", cause)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, time_ms);
	sqlite3_bind_int64(st, 2, seq);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		packstore_err(ps, "finding the snapshot", cause);
		return -1;
	}
	*has = rc == SQLITE_ROW;
	return 0;
}

struct packstore_reader *
packstore_reader_new(void)
{
	return xcalloc(1, sizeof (struct packstore_reader));
}

/* Forget all a reader holds. */
static void
packstore_reader_reset(struct packstore_reader *rd)
{
	pack_free(rd->pk);
	memset(rd, 0, sizeof *rd);
}

void
packstore_reader_free(struct packstore_reader *rd)
{
	if (rd == NULL)
		return;
	pack_free(rd->pk);
	free(rd);
}

size_t
packstore_reader_held(const struct packstore_reader *rd)
{
	struct pack_stats	st;

	if (rd->pk == NULL)
		return sizeof *rd;
	pack_stats(rd->pk, &st);
	return sizeof *rd + st.held;
}

/*
 * Make rd hold ps's dictionary as it is now, loading only what was added
 * since rd last read it when ps is the database rd follows; the read
 * transaction is open.
 */
static int
packstore_reader_dict(struct packstore *ps, struct packstore_reader *rd,
    size_t max, char **cause)
{
	struct stat	 sb;
	sqlite3_stmt	*st;
	uint64_t	 hash;
	int64_t		 last;
	bool		 same = false;
	int		 rc;

	if (stat(ps->path, &sb) == -1) {
		xasprintf(cause, "%s: %s", ps->path, strerror(errno));
		return -1;
	}
	if (rd->pk != NULL && sb.st_dev == rd->dev && sb.st_ino == rd->ino) {
		same = rd->dict == 0;
		if (!same) {
			if ((st = packstore_prep(ps, "SELECT blob FROM dict"
			    " WHERE n = ?", cause)) == NULL)
				return -1;
			sqlite3_bind_int64(st, 1, rd->dict);
			if ((rc = sqlite3_step(st)) == SQLITE_ROW)
				same = hash_bytes(sqlite3_column_blob(st, 0),
				    (size_t)sqlite3_column_bytes(st, 0), 0) ==
				    rd->dict_hash;
			sqlite3_finalize(st);
			if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
				packstore_err(ps, "reading the dictionary",
				    cause);
				return -1;
			}
		}
	}
	if (!same) {
		packstore_reader_reset(rd);
		rd->pk = pack_new(PACK_LEVEL_DEFAULT);
		rd->dev = sb.st_dev;
		rd->ino = sb.st_ino;
	}
	if (packstore_load_dict(ps, rd->pk, rd->dict, max, &last, &hash, NULL,
	    cause) == -1) {
		/* Some of the new blobs may be in: start over next time. */
		packstore_reader_reset(rd);
		return -1;
	}
	if (last != 0) {
		rd->dict = last;
		rd->dict_hash = hash;
	}
	return 0;
}

int
packstore_read(struct packstore *ps, int64_t time_ms, uint32_t seq,
    size_t max, bool gz, void **out, size_t *len, char **cause)
{
	return packstore_read_with(ps, NULL, time_ms, seq, max, gz, out, len,
	    cause);
}

int
packstore_read_with(struct packstore *ps, struct packstore_reader *rd,
    int64_t time_ms, uint32_t seq, size_t max, bool gz, void **out,
    size_t *len, char **cause)
{
	struct packstore_reader	 own;
	sqlite3_stmt		*st;
	struct pack_stats	 pst;
	int64_t			 row = 0, seg = 0, from = 0, serial, failed;
	int			 rc, ret = -1;

	*out = NULL;
	*len = 0;
	if (rd == NULL) {
		memset(&own, 0, sizeof own);
		rd = &own;
	}
	/* One read transaction, so that a drop cannot come between. */
	if (packstore_db(ps, cause) == -1 ||
	    packstore_exec(ps, "BEGIN", cause) == -1)
		goto done;
	if ((st = packstore_prep(ps, "SELECT n, seg FROM snap WHERE"
	    " time_ms = ? AND seq = ? AND state = 0", cause)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, time_ms);
	sqlite3_bind_int64(st, 2, seq);
	if ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row = sqlite3_column_int64(st, 0);
		seg = sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW) {
		if (rc == SQLITE_DONE && seq == 0)
			xasprintf(cause, "%s: no snapshot %lld", ps->path,
			    (long long)time_ms);
		else if (rc == SQLITE_DONE)
			xasprintf(cause, "%s: no snapshot %lld-%u", ps->path,
			    (long long)time_ms, seq);
		else
			packstore_err(ps, "finding the snapshot", cause);
		goto out;
	}
	if (packstore_reader_dict(ps, rd, max, cause) == -1)
		goto out;
	/*
	 * On from the snapshot held when it comes before this one in its
	 * segment and the bodies up to it are still those it was read
	 * from (hashed, as packstore_fresh() checks a writer's): the rows
	 * after it are then coded against it. Its number, segment and
	 * serial are not enough: when every snapshot has been dropped,
	 * segments and rows are numbered again from where they were, and
	 * a writer starts its serials again. Else from the segment's key.
	 */
	if (rd->seg == seg && rd->row != 0 && rd->row <= row) {
		pack_stats(rd->pk, &pst);
		if (packstore_int(ps, "SELECT serial FROM snap WHERE n = ?",
		    rd->row, -1, &serial, cause) == -1)
			goto out;
		if (serial == (int64_t)pst.serial &&
		    packstore_chain_is(ps, seg, rd->row, rd->chain))
			from = rd->row;
	}
	rd->seg = rd->row = 0;
	if (from == 0)
		rd->chain = 0;
	if (from != row && packstore_load_chain(ps, rd->pk, seg, from, row,
	    max, &rd->chain, &failed, cause) == -1)
		goto out;
	rd->seg = seg;
	rd->row = row;
	if (pack_pprof(rd->pk, gz, out, len, cause) == -1)
		goto out;
	ret = 0;
out:
	packstore_exec(ps, "COMMIT", NULL);
done:
	if (rd == &own)
		pack_free(own.pk);
	else
		/* Between reads, the dictionary and the snapshot only. */
		pack_trim(rd->pk);
	return ret;
}

/*
 * Code segment seg's listed snapshots again as a segment of their own and
 * delete its other rows; the transaction is open. A profile that would
 * add to the dictionary (which cannot happen for one read from it) stops
 * it with the segment as it was; so does a body that does not read back,
 * whose row *damaged then gives (else 0), the segment to be set aside
 * from it on (see packstore_drop()).
 */
static int
packstore_recode(struct packstore *ps, int64_t seg, size_t max,
    int64_t *damaged, char **cause)
{
	struct pack		*rd, *wr;
	struct pack_blob	 dict, body;
	struct pack_stats	 pst;
	sqlite3_stmt		*st = NULL, *up = NULL;
	void			*pb = NULL;
	size_t			 pblen;
	int64_t			 last, n, upto;
	bool			 first = true;
	char			*why = NULL;
	int			 rc, ret = -1;

	*damaged = 0;
	rd = pack_new(PACK_LEVEL_DEFAULT);
	wr = pack_new(PACK_LEVEL_DEFAULT);
	if (packstore_load_dict(ps, rd, 0, max, &last, NULL, NULL,
	    cause) == -1 ||
	    packstore_load_dict(ps, wr, 0, max, &last, NULL, NULL,
	    cause) == -1)
		goto out;
	/*
	 * Up to its last listed row: those after it are deleted unread, so
	 * that one damaged among them does not keep the segment, and every
	 * segment after it, from being coded again.
	 */
	if (packstore_int(ps, "SELECT max(n) FROM snap WHERE seg = ? AND"
	    " state = 0", seg, 0, &upto, cause) == -1)
		goto out;
	if ((st = packstore_prep(ps, "SELECT n, state, body FROM snap WHERE"
	    " seg = ? AND n <= ? ORDER BY n", cause)) == NULL ||
	    (up = packstore_prep(ps, "UPDATE snap SET key = ?, serial = ?,"
	    " body = ? WHERE n = ?", cause)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, seg);
	sqlite3_bind_int64(st, 2, upto);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		if (sqlite3_column_int(st, 1) == PACKSTORE_ASIDE) {
			xasprintf(cause, "%s: segment %lld holds a snapshot set"
			    " aside", ps->path, (long long)seg);
			goto out;
		}
		if (pack_load_snap(rd, sqlite3_column_blob(st, 2),
		    (size_t)sqlite3_column_bytes(st, 2), max, &why) == -1) {
			xasprintf(cause, "%s: segment %lld: snapshot body %lld:"
			    " %s", ps->path, (long long)seg, (long long)n,
			    why);
			free(why);
			*damaged = n;
			goto out;
		}
		if (sqlite3_column_int(st, 1) != PACKSTORE_LISTED)
			continue;
		if (pack_pprof(rd, false, &pb, &pblen, cause) == -1)
			goto out;
		if (pack_encode(wr, pb, pblen, max, first, &dict, &body,
		    cause) == -1)
			goto out;
		free(pb);
		pb = NULL;
		if (dict.len > 0) {
			free(dict.data);
			free(body.data);
			xasprintf(cause, "%s: segment %lld adds to the "
			    "dictionary when coded again", ps->path,
			    (long long)seg);
			goto out;
		}
		pack_stats(wr, &pst);
		sqlite3_reset(up);
		sqlite3_bind_int(up, 1, first);
		sqlite3_bind_int64(up, 2, (int64_t)pst.serial);
		sqlite3_bind_blob(up, 3, body.data, (int)body.len,
		    SQLITE_TRANSIENT);
		sqlite3_bind_int64(up, 4, n);
		free(body.data);
		if (sqlite3_step(up) != SQLITE_DONE) {
			packstore_err(ps, "coding a segment again", cause);
			goto out;
		}
		first = false;
	}
	if (rc != SQLITE_DONE) {
		packstore_err(ps, "reading a segment", cause);
		goto out;
	}
	sqlite3_finalize(st);
	st = NULL;
	if ((st = packstore_prep(ps, "DELETE FROM snap WHERE seg = ? AND"
	    " state = 1", cause)) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, seg);
	if (sqlite3_step(st) != SQLITE_DONE) {
		packstore_err(ps, "deleting", cause);
		goto out;
	}
	ret = 0;
out:
	free(pb);
	sqlite3_finalize(st);
	sqlite3_finalize(up);
	pack_free(rd);
	pack_free(wr);
	return ret;
}

/*
 * The first segment older than newest that drops left half empty, to be
 * coded again, in *seg, or 0. A sweep, searching every segment, reads
 * every row's state and groups the rows by segment (0.7 ms of CPU a drop
 * with a month kept, which most puts make: bench/packstore -m), so it is
 * made only at a connection's first drop, once the newest segment
 * changed (the one before, half emptied while the newest, is now to be
 * coded again), after a drop that found a segment (there may be more)
 * or that failed to look, and every PACKSTORE_SWEEP drops. Otherwise
 * only the segments this drop touched (segs, nseg) are read: since the
 * last sweep, drops through this connection have left no other half
 * empty. What another connection's drops left, the next sweep finds.
 */
static int
packstore_halfempty(struct packstore *ps, const int64_t *segs, size_t nseg,
    int64_t newest, int64_t *seg, char **cause)
{
	size_t	i;
	int64_t	half;

	*seg = 0;
	if (ps->sweep || newest != ps->swept_newest ||
	    ++ps->unswept >= PACKSTORE_SWEEP) {
		ps->sweep = true;	/* till it is made */
		ps->sweeps++;
		if (packstore_int(ps, ps->indexed ? "SELECT seg FROM snap"
		    " INDEXED BY snap_list WHERE seg < ? GROUP BY seg HAVING"
		    " max(state) = 1 AND 2 * sum(state) >= count(*) ORDER BY"
		    " seg LIMIT 1" : "SELECT seg FROM snap WHERE seg < ? GROUP"
		    " BY seg HAVING max(state) = 1 AND 2 * sum(state) >="
		    " count(*) ORDER BY seg LIMIT 1", newest, 0, seg,
		    cause) == -1)
			return -1;
		ps->unswept = 0;
		nseg = 0;
	}
	for (i = 0; i < nseg; i++) {
		if (segs[i] >= newest)
			continue;
		if (packstore_int(ps, "SELECT max(state) = 1 AND 2 * sum(state)"
		    " >= count(*) FROM snap WHERE seg = ?", segs[i], 0, &half,
		    cause) == -1) {
			ps->sweep = true;
			return -1;
		}
		if (half == 1 && (*seg == 0 || segs[i] < *seg))
			*seg = segs[i];
	}
	ps->swept_newest = newest;
	ps->sweep = *seg != 0;
	return 0;
}

/*
 * Set aside segment seg's listed rows from row n on, in a transaction of
 * their own: a body at n that does not read back leaves them unreadable,
 * and packstore_check() would set them aside at the next start. *count
 * says how many were. Set aside, the segment is no longer half empty to
 * packstore_halfempty(), whose sweep would otherwise find it first again
 * and again, and code no other segment again.
 */
static int
packstore_aside_from(struct packstore *ps, int64_t seg, int64_t n,
    int64_t *count, char **cause)
{
	sqlite3_stmt	*st;

	*count = 0;
	if (packstore_exec(ps, "BEGIN IMMEDIATE", cause) == -1)
		return -1;
	if ((st = packstore_prep(ps, "UPDATE snap SET state = 2 WHERE seg = ?"
	    " AND n >= ? AND state = 0", cause)) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, seg);
	sqlite3_bind_int64(st, 2, n);
	if (sqlite3_step(st) != SQLITE_DONE) {
		packstore_err(ps, "setting aside", cause);
		sqlite3_finalize(st);
		goto fail;
	}
	sqlite3_finalize(st);
	*count = sqlite3_changes(ps->db);
	if (packstore_exec(ps, "COMMIT", cause) == 0)
		return 0;
fail:
	packstore_exec(ps, "ROLLBACK", NULL);
	return -1;
}

int
packstore_drop(struct packstore *ps, const struct packstore_snap *v,
    size_t n, size_t max, size_t *removed, char **cause)
{
	sqlite3_stmt	*st;
	int64_t		 seg, newest, damaged = 0, aside, *segs = NULL;
	size_t		 i, nseg = 0;
	char		*why = NULL, *fail = NULL;
	int		 rc;

	*removed = 0;
	if (n == 0)
		return 0;
	if (packstore_db(ps, cause) == -1 ||
	    packstore_exec(ps, "BEGIN IMMEDIATE", cause) == -1)
		return -1;
	if ((st = packstore_prep(ps, "UPDATE snap SET state = 1 WHERE"
	    " time_ms = ? AND seq = ? AND state = 0 RETURNING seg",
	    cause)) == NULL)
		goto fail;
	segs = xreallocarray(NULL, n, sizeof *segs);
	for (i = 0; i < n; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, v[i].time_ms);
		sqlite3_bind_int64(st, 2, v[i].seq);
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			seg = sqlite3_column_int64(st, 0);
			if (nseg == 0 || segs[nseg - 1] != seg)
				segs[nseg++] = seg;
			(*removed)++;
		}
		if (rc != SQLITE_DONE) {
			packstore_err(ps, "dropping", cause);
			sqlite3_finalize(st);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	/*
	 * Segments with nothing listed or set aside go whole: only those
	 * that this drop touched can have become so, the others being as
	 * the last drop left them (a segment's rows read, not the table's).
	 */
	if ((st = packstore_prep(ps, "DELETE FROM snap WHERE seg = ?1 AND"
	    " NOT EXISTS (SELECT 1 FROM snap WHERE seg = ?1 AND"
	    " state <> 1)", cause)) == NULL)
		goto fail;
	for (i = 0; i < nseg; i++) {
		sqlite3_reset(st);
		sqlite3_bind_int64(st, 1, segs[i]);
		if (sqlite3_step(st) != SQLITE_DONE) {
			packstore_err(ps, "dropping", cause);
			sqlite3_finalize(st);
			goto fail;
		}
	}
	sqlite3_finalize(st);
	if (packstore_exec(ps, "COMMIT", cause) == -1)
		goto fail;
	/*
	 * One half-empty segment other than the newest coded again, in a
	 * transaction of its own: failing it loses nothing.
	 */
	if (packstore_exec(ps, "BEGIN IMMEDIATE", &why) == -1) {
		ps->sweep = true;
		goto soft;
	}
	if (packstore_int(ps, "SELECT max(seg) FROM snap", 0, 0, &newest,
	    &why) == -1 ||
	    packstore_halfempty(ps, segs, nseg, newest, &seg, &why) == -1) {
		ps->sweep = true;
		packstore_exec(ps, "ROLLBACK", NULL);
		goto soft;
	}
	if (seg == 0 || packstore_recode(ps, seg, max, &damaged,
	    &why) == -1 || packstore_exec(ps, "COMMIT", &why) == -1) {
		packstore_exec(ps, "ROLLBACK", NULL);
		if (damaged != 0 && packstore_aside_from(ps, seg, damaged,
		    &aside, &fail) == 0 && aside > 0) {
			/* The others, which it hid from the sweep, next. */
			ps->sweep = true;
			*removed += (size_t)aside;
			xasprintf(cause, "%s; %lld snapshot%s set aside", why,
			    (long long)aside, aside == 1 ? "" : "s");
		} else if (fail != NULL) {
			/* Still half empty: the next drop's sweep tries again. */
			xasprintf(cause, "%s; not set aside: %s", why, fail);
			free(fail);
		} else {
			/*
			 * Not damaged, or none left to set aside: another
			 * connection dropped them meanwhile.
			 */
			goto soft;
		}
		free(why);
		free(segs);
		return 1;
	}
	free(segs);
	return 0;
soft:
	/*
	 * The drops stand; a segment found but not coded again, or not
	 * looked for, the next drop's sweep finds.
	 */
	free(segs);
	free(why);
	return 0;
fail:
	free(segs);
	packstore_exec(ps, "ROLLBACK", NULL);
	*removed = 0;
	return -1;
}

int
packstore_check(struct packstore *ps, size_t max, size_t *kept, size_t *bad,
    char **first_cause, bool *corrupt, char **cause)
{
	struct pack	*pk;
	sqlite3_stmt	*st = NULL, *aside = NULL;
	char		*why = NULL;
	int64_t		 last, seg = 0, s, n;
	bool		 broken = false;
	int		 rc, state, ret = -1;

	*kept = *bad = 0;
	*first_cause = NULL;
	*corrupt = false;
	/* Deferred: a sound database is checked on a read-only disk too. */
	if (packstore_db(ps, cause) == -1 ||
	    packstore_exec(ps, "BEGIN", cause) == -1)
		goto sqlerr;
	pk = pack_new(PACK_LEVEL_DEFAULT);
	if (packstore_load_dict(ps, pk, 0, max, &last, NULL, corrupt,
	    cause) == -1)
		goto out;
	if ((st = packstore_prep(ps, "SELECT n, seg, state, body FROM snap"
	    " ORDER BY seg, n", cause)) == NULL ||
	    (aside = packstore_prep(ps, "UPDATE snap SET state = 2 WHERE n = ?",
	    cause)) == NULL)
		goto out;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_int64(st, 0);
		s = sqlite3_column_int64(st, 1);
		state = sqlite3_column_int(st, 2);
		if (s != seg) {
			seg = s;
			broken = false;
		}
		if (!broken && pack_load_snap(pk, sqlite3_column_blob(st, 3),
		    (size_t)sqlite3_column_bytes(st, 3), max, &why) == -1) {
			broken = true;
			if (*first_cause == NULL)
				xasprintf(first_cause, "snapshot body %lld: %s",
				    (long long)n, why);
			free(why);
			why = NULL;
		}
		if (!broken) {
			if (state == PACKSTORE_LISTED)
				(*kept)++;
			continue;
		}
		if (state != PACKSTORE_LISTED)
			continue;
		sqlite3_reset(aside);
		sqlite3_bind_int64(aside, 1, n);
		if (sqlite3_step(aside) != SQLITE_DONE) {
			packstore_err(ps, "setting aside", cause);
			goto out;
		}
		(*bad)++;
	}
	if (rc != SQLITE_DONE) {
		packstore_err(ps, "reading bodies", cause);
		goto out;
	}
	ret = 0;
out:
	sqlite3_finalize(st);
	sqlite3_finalize(aside);
	pack_free(pk);
	if (packstore_exec(ps, ret == 0 ? "COMMIT" : "ROLLBACK",
	    ret == 0 ? cause : NULL) == -1)
		ret = -1;
	if (ret == -1) {
		free(*first_cause);
		*first_cause = NULL;
	}
	if (ret == 0)
		return 0;
sqlerr:
	if (ps->db != NULL) {
		rc = sqlite3_extended_errcode(ps->db) & 0xff;
		if (rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB)
			*corrupt = true;
	}
	return -1;
}
