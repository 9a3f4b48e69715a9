/*
 * The snapshot store of heapwatchd: one folder per target under the storage
 * path, each snapshot kept in one of two forms, chosen by store_set_format():
 * as received, in a file of its own (STORE_PPROF, described below), or
 * packed with the target's others in the folder's SQLite database
 * (STORE_PACK, see packstore.h), 10 to 120 times smaller. Whatever the form
 * chosen, a folder's snapshots of both forms are listed, read and retained
 * together, so that a store written in one form is read whole after
 * switching to the other, its snapshots of the old form aging out by
 * retention; store_read() and store_load() give a packed snapshot as a
 * gzipped pprof profile, made in memory. The store keeps, for the packed targets read last, what reading them again
 * needs (their dictionaries, and their newest snapshots as received), and
 * for each target's writer its dictionary between puts, each within a
 * budget of memory (see store.c).
 *
 * A snapshot's file is named <unix-milliseconds>.pb.gz, or
 * <unix-milliseconds>-N.pb.gz for the Nth (from 1) after the first to arrive
 * in the same millisecond; its id, as the HTTP API shows it, is that name
 * without ".pb.gz". Ids are checked to be exactly of that form (digits
 * without leading zeros, an optional "-" and digits) before any path is
 * built, so no id can reach outside the store.
 *
 * Writes are atomic: a snapshot is written to a ".tmp-" file in its folder,
 * synced, renamed to its name and the folder synced, so that a file with a
 * snapshot's name is always complete. A failed write leaves nothing behind;
 * a crash may leave a ".tmp-" file, which store_recover() removes. After
 * store_defer_sync(), the syncs of a file-form snapshot's file and folder,
 * and of a packed snapshot's commit, are left to a thread that syncs the
 * store's file system once a period:
 * a power loss may then lose the last period's snapshots, as store.c says,
 * but never those that retention dropped for them, which wait for the
 * sync (store_tick()).
 *
 * heapwatchd ignores SIGXFSZ, so that a snapshot that would pass the
 * process's RLIMIT_FSIZE fails here with EFBIG instead of killing the
 * daemon.
 *
 * The store follows no symbolic link inside its root: a target folder or a
 * snapshot that is a link is not used. One process writes a store at a time;
 * the daemon's main loop is that writer.
 */
#ifndef STORE_H
#define STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define STORE_ID_MAX		32	/* an id and its NUL */
#define STORE_SUFFIX		".pb.gz"
#define STORE_QUARANTINE	"quarantine"	/* in a target's folder */
#define STORE_SERIES		".series"	/* the totals, for charts */
#define STORE_SPARE		".spare"	/* a dropped snapshot's file,
						   for the next to rewrite */
/*
 * The webhooks' spool, in the root beside the target folders (see
 * notifier.h). A target's folder never starts with '.', so no target can
 * take this name, and store_targets() does not list it.
 */
#define STORE_SPOOL		".webhooks"

struct profile;
struct profile_print;
struct store;
struct symtab;

enum store_format {
	STORE_PPROF,		/* a file per snapshot, as received */
	STORE_PACK		/* packed, in the folder's database */
};

struct store_snapshot {
	char		 id[STORE_ID_MAX];
	int64_t		 time_ms;	/* unix milliseconds */
	uint32_t	 seq;		/* N of "-N"; 0 for the first */
	uint64_t	 size;		/* bytes on disk */
	bool		 packed;	/* in the database, not a file */
};

/*
 * Of the snapshots older than after_ms, one per every_ms is kept (the
 * first of each multiple of every_ms since 1970): downsampling, as
 * Prometheus's long-term stores do, so that a month of history costs a
 * few thousand snapshots a target, not 43,200 at a one-minute interval.
 */
#define STORE_TIERS_MAX		4
#define STORE_PINNED_MAX	2	/* an alert's first and last */
struct store_tier {
	uint64_t	 after_ms;
	uint64_t	 every_ms;
};

/*
 * Limits per target; 0 is no limit. The newest snapshot is always kept.
 * Tiers, sorted by after_ms, thin out what the limits leave.
 */
struct store_retention {
	size_t		 snapshots;	/* most snapshots kept */
	uint64_t	 age_ms;	/* none older than this */
	uint64_t	 size;		/* most bytes kept */
	size_t		 ntiers;
	struct store_tier tiers[STORE_TIERS_MAX];
	/*
	 * Snapshots that tiers never thin out, by id ("" for none): those
	 * an open alert cites, kept until it resolves.
	 */
	char		 pinned[STORE_PINNED_MAX][STORE_ID_MAX];
};

/* What store_recover() found in a target's folder. */
struct store_recovery {
	size_t		 kept;		/* snapshots that decode */
	size_t		 tmp_removed;	/* leftovers of interrupted writes */
	size_t		 quarantined;	/* moved to quarantine/ */
	size_t		 ignored;	/* other entries, left alone */
	char		*first_cause;	/* why the first was quarantined */
};

struct store	*store_open(const char *root, char **cause);
void		 store_close(struct store *);
/*
 * Sync the snapshots once every period_ms rather than at each put (see
 * store.c); a failed sync is told to failed, on another thread,
 * with its errno, and tried again each period until one succeeds, told
 * with error 0. -1 when the thread that syncs cannot start: puts sync as
 * before.
 */
int		 store_defer_sync(struct store *, unsigned int period_ms,
		    void (*failed)(int error, void *arg), void *arg);
/*
 * With the syncs deferred, the snapshots that retention drops wait until
 * the syncer has synced what displaced them (see store.c); a target's next
 * put deletes those due, and so does this, for the daemon's loop to call
 * once a period, passing over a target whose folder a put holds. The
 * first failure is told in cause; what failed is left for retention to
 * choose again.
 */
int		 store_tick(struct store *, char **cause)
		    __attribute__((warn_unused_result));
/* The form new snapshots are written in; STORE_PPROF from the open. */
void		 store_set_format(struct store *, enum store_format);
enum store_format store_get_format(const struct store *);
const char	*store_root(const struct store *);

bool		 store_id_valid(const char *id);

int		 store_put(struct store *, const char *target, int64_t time_ms,
		    const void *data, size_t len, char *id_out, char **cause)
		    __attribute__((warn_unused_result));
/*
 * store_put(), then, when keep is set, store_retain() as of time_ms, in
 * one sync of the target's folder. The first snapshot that retention
 * drops becomes the target's spare, whose file the next snapshot rewrites
 * when no reader has it open (see durable_rewrite(): SIGIO must be
 * ignored). cache, which the caller keeps for the target from one call to
 * the next and frees with store_cache_free(), spares listing the folder
 * each time. -1 when the snapshot is not stored; a failed retention
 * leaves it stored, with removed 0 and retain_cause saying why.
 */
struct store_cache;
struct profile_raw;
struct store_put {
	const struct store_retention *keep;	/* NULL: no retention */
	const struct profile_raw *parsed;	/* the body as the decoding
						   parsed it, or NULL: a
						   packed put codes it rather
						   than any protobuf */
	/*
	 * The body is the target's last stored profile again but for its
	 * times (a Go heap profile between two GCs), known without parsing
	 * it: a packed put stores the newest snapshot again with these
	 * times, pprof's time_nanos and duration_nanos, rather than coding
	 * a profile, and codes the body (or parsed) when that snapshot is
	 * not the last this cache's put stored (see packstore.h). The file
	 * store ignores them and writes the body as received.
	 */
	bool			 repeat;
	int64_t			 time_nanos, duration_nanos;
	struct store_cache	*cache;		/* NULL at first */
	char			 id[STORE_ID_MAX];	/* the new snapshot's */
	bool			 repeated;	/* stored as a repeat */
	size_t			 removed;	/* by retention */
	/*
	 * How many snapshots the target lists once the put and retention
	 * are done, as a gauge is set from it; STORE_LISTED_UNKNOWN when
	 * not known: no retention asked, the folder not listed, or
	 * snapshots found damaged and set aside meanwhile (then removed
	 * counts those set aside by the put's own drops).
	 */
	size_t			 listed;
	/*
	 * What the snapshots that retention keeps take on disk after the
	 * put (see store_bytes()); 0 when not known: no retention asked,
	 * or the folder could not be listed.
	 */
	uint64_t		 bytes;
	char			*retain_cause;
};
#define STORE_LISTED_UNKNOWN	SIZE_MAX
int		 store_put_retain(struct store *, const char *target,
		    int64_t time_ms, const void *data, size_t len,
		    struct store_put *, char **cause)
		    __attribute__((warn_unused_result));
void		 store_cache_free(struct store_cache *);
/*
 * Shrink the packed writer that c keeps to its newest snapshot, as the
 * writers' budget does to that of a target over it: the next put reads
 * its dictionary from the database (and its segment too when the
 * database changed meanwhile).
 */
void		 store_cache_shrink(struct store_cache *);
/*
 * What c's packed writer keeps until the next put, as the writers' budget
 * counts it; *whole when kept whole, not shrunk (0: forgotten, or none).
 */
size_t		 store_cache_held(const struct store_cache *, bool *whole);

/* A target without a folder yet has no snapshots: 0 with *n = 0. */
int		 store_list(struct store *, const char *target,
		    struct store_snapshot **out, size_t *n, char **cause)
		    __attribute__((warn_unused_result));
void		 store_list_free(struct store_snapshot *);
/*
 * What the snapshots v[0..n) of a target, as store_list() gave them, take
 * on disk: the bytes of their files, as ls(1) counts them, and of the
 * target's database with its log when it has one (its rows are shared by
 * the snapshots, and pages freed by those dropped are used again rather
 * than given back). The folder's spare, the snapshots that retention
 * dropped but that wait for a sync to go, and files that are not
 * snapshots are not counted.
 */
uint64_t	 store_bytes(struct store *, const char *target,
		    const struct store_snapshot *v, size_t n);

/*
 * The file in a target's folder where heapwatchd keeps the total of each
 * snapshot ("UNIX_MS TOTAL" lines), for charts over the whole history; it
 * is derived data, neither a snapshot nor needed to read one.
 */
int		 store_series_path(struct store *, const char *target,
		    char *path, size_t len) __attribute__((warn_unused_result));
/*
 * Append a line (without its newline) to the series, or replace the whole
 * series; a failed write leaves every earlier line whole.
 */
int		 store_series_append(struct store *, const char *target,
		    const char *line, char **cause)
		    __attribute__((warn_unused_result));
int		 store_series_replace(struct store *, const char *target,
		    const void *data, size_t len, char **cause)
		    __attribute__((warn_unused_result));
/*
 * A snapshot's bytes, refused when larger than max; free() them. A packed
 * snapshot comes as a gzipped pprof profile. -1 with errno ENOENT when
 * there is no such snapshot, else another.
 */
int		 store_read(struct store *, const char *target, const char *id,
		    size_t max, void **data, size_t *len, char **cause)
		    __attribute__((warn_unused_result));
/*
 * A snapshot read as store_read() does and decoded into st (NULL: a
 * table of its own), in memory: a packed snapshot needs no file for it,
 * and is made as raw protobuf rather than gzipped and inflated again.
 * NULL with errno ENOENT when there is no such snapshot, EINVAL when it
 * does not decode, else another.
 */
struct profile	*store_load(struct store *, const char *target, const char *id,
		    size_t max, struct symtab *st, char **cause);
/*
 * The same into a table of its own, with the fingerprint of the
 * snapshot's protobuf in *print; when it is prev's, the profile of the
 * snapshot prev was taken of but for its times, nothing is parsed: NULL,
 * no cause, and *repeat set (see profile_decode_print()).
 */
struct profile	*store_load_print(struct store *, const char *target,
		    const char *id, size_t max, const struct profile_print *prev,
		    struct profile_print *print, bool *repeat, char **cause);
/*
 * Reads of target's packed snapshots between store_hold() and its
 * store_release() keep its database open (holds nest and may come from
 * any thread), for a run of reads such as a replay; else each read opens
 * and closes it, so that no file stays open for writing.
 */
void		 store_hold(struct store *, const char *target);
void		 store_release(struct store *, const char *target);

int		 store_retain(struct store *, const char *target,
		    const struct store_retention *, int64_t now_ms,
		    size_t *removed, char **cause)
		    __attribute__((warn_unused_result));

/*
 * At start-up: remove a target's ".tmp-" leftovers and set aside, never
 * delete, every snapshot that does not decode within max_inflated. rec is
 * filled in either way; store_recovery_clear() frees what it holds.
 */
int		 store_recover(struct store *, const char *target,
		    size_t max_inflated, struct store_recovery *rec,
		    char **cause) __attribute__((warn_unused_result));
void		 store_recovery_clear(struct store_recovery *);

/* The target folders on disk, sorted; for reporting orphans. */
int		 store_targets(struct store *, char ***names, size_t *n,
		    char **cause) __attribute__((warn_unused_result));
void		 store_targets_free(char **, size_t);

#endif
