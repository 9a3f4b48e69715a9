/*
 * One target's snapshots in the compact form of pack.h, kept in an SQLite
 * database in write-ahead-log mode: the dictionary blobs in the order
 * made, and per snapshot its time, its body and its size as received.
 *
 * A snapshot is named by its time (unix milliseconds) and a sequence
 * number, 0 for the first to arrive in a millisecond and N for the Nth
 * after it, as the store names them. Snapshots are coded in segments: a
 * key snapshot, coded against nothing, then up to PACKSTORE_SEGMENT - 1
 * coded each against the one before, so that reading one costs the
 * dictionary and at most a segment's bodies.
 *
 * One connection is used by one thread at a time; several connections,
 * in several threads or processes, may use one database: SQLite's locks
 * let one write while others read.
 */
#ifndef PACKSTORE_H
#define PACKSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACKSTORE_FILE		"snapshots.db"	/* in a target's folder */
#define PACKSTORE_SEGMENT	64		/* snapshots a segment */
#define PACKSTORE_SEGMENT_MS	(3600 * 1000)	/* or an hour of them */
#define PACKSTORE_SWEEP		64	/* drops, a search of all segments */

struct packstore;
struct profile_view;

struct packstore_snap {
	int64_t		 time_ms;
	uint32_t	 seq;
	uint64_t	 size;		/* as received */
	uint64_t	 stored;	/* the body's bytes */
	bool		 key;
};

/*
 * Open the database at path; with PACKSTORE_CREATE, make it when
 * missing, else *out is NULL when it is missing. With
 * PACKSTORE_DEFER_SYNC, commit without syncing: the caller syncs the file
 * system (see packstore.c); a put then says "on disk" of the page cache,
 * and what a power loss takes is the commits since the caller's last
 * sync or the last checkpoint. The caller has made sure that path is no
 * symbolic link.
 */
#define PACKSTORE_CREATE	0x1
#define PACKSTORE_DEFER_SYNC	0x2
int		 packstore_open(const char *path, int flags,
		    struct packstore **out, char **cause)
		    __attribute__((warn_unused_result));
void		 packstore_close(struct packstore *);

/*
 * Store a profile (gzip-compressed or not, inflated to at most max bytes)
 * taken at time_ms, in one transaction; *seq gets its sequence number.
 * When this returns, the snapshot is on disk, or nothing of it is.
 */
int		 packstore_put(struct packstore *, int64_t time_ms,
		    const void *data, size_t len, size_t max, uint32_t *seq,
		    char **cause) __attribute__((warn_unused_result));

/*
 * The same for a profile that profile.c has parsed (profile_raw_view()),
 * coded without reading its protobuf again; len is its size as received.
 */
int		 packstore_put_parsed(struct packstore *, int64_t time_ms,
		    const struct profile_view *, size_t len, size_t max,
		    uint32_t *seq, char **cause)
		    __attribute__((warn_unused_result));

/*
 * The same for a profile that is the newest snapshot's again but for its
 * time and duration (pprof's time_nanos and duration_nanos): a Go heap
 * profile is that of the last GC, which between two GCs a scrape gives
 * again, its times aside. It stores exactly what packstore_put() of that
 * profile with these times would, without a profile to read or code; len
 * is its size as received, max what the dictionary's blobs inflate to
 * when the writer reads them again. Refused, 1 with *cause set and
 * nothing stored, when there is no newest snapshot, when it does not read
 * back, or when it is not the one this connection stored last (it stored
 * any): the profile is then to be coded as any other. -1 when the
 * database fails (busy past its wait, full, a dictionary that does not
 * read), which coding the profile would meet again.
 */
int		 packstore_put_repeat(struct packstore *, int64_t time_ms,
		    int64_t time_nanos, int64_t duration_nanos, size_t len,
		    size_t max, uint32_t *seq, char **cause)
		    __attribute__((warn_unused_result));

/* The snapshots, by time and sequence. */
int		 packstore_list(struct packstore *, struct packstore_snap **,
		    size_t *n, char **cause)
		    __attribute__((warn_unused_result));

/* Whether a snapshot is listed. */
int		 packstore_has(struct packstore *, int64_t time_ms,
		    uint32_t seq, bool *has, char **cause)
		    __attribute__((warn_unused_result));

/* A snapshot as pprof, gzipped when gz is set; blobs inflate to max. */
int		 packstore_read(struct packstore *, int64_t time_ms,
		    uint32_t seq, size_t max, bool gz, void **out, size_t *len,
		    char **cause) __attribute__((warn_unused_result));

/*
 * What a reader keeps from one read of a database to the next: the
 * dictionary decoded and the snapshot read last. Reading a database's
 * snapshots afresh costs its whole dictionary each time (50 ms for one
 * of 65,536 stacks); with a reader, the dictionary blobs added since and
 * the bodies from the one read last when it is in the same segment, so
 * that reading the newest snapshot after each put costs about one
 * snapshot's body and its pprof. A reader follows one database (it
 * notices another in its place and starts over), used by one thread at a
 * time; its memory is that of the dictionary and one snapshot.
 */
struct packstore_reader;

struct packstore_reader *packstore_reader_new(void);
void		 packstore_reader_free(struct packstore_reader *);
/* The heap bytes a reader holds between reads. */
size_t		 packstore_reader_held(const struct packstore_reader *);
/* packstore_read() through rd. */
int		 packstore_read_with(struct packstore *,
		    struct packstore_reader *rd, int64_t time_ms, uint32_t seq,
		    size_t max, bool gz, void **out, size_t *len, char **cause)
		    __attribute__((warn_unused_result));

/*
 * Drop snapshots (those of v not stored are no error), in one
 * transaction, then re-code at most one segment that drops left half
 * empty. *removed counts those dropped. 1 when they were, but that
 * segment held a body that does not read back: its listed snapshots from
 * that one on are set aside, as packstore_check() sets them, *removed
 * counts them too (no longer listed), and *cause says so; or, when
 * setting them aside failed too, *cause says that, *removed counts the
 * dropped alone, and the next drop tries again.
 */
int		 packstore_drop(struct packstore *,
		    const struct packstore_snap *v, size_t n, size_t max,
		    size_t *removed, char **cause)
		    __attribute__((warn_unused_result));

/*
 * At start-up: read every snapshot back, and set aside (no longer list,
 * never delete) those that do not; *bad counts them. -1 when the
 * database or its dictionary cannot be read at all, with *corrupt set
 * when that is for its bytes rather than for an error of the system.
 */
int		 packstore_check(struct packstore *, size_t max, size_t *kept,
		    size_t *bad, char **first_cause, bool *corrupt,
		    char **cause) __attribute__((warn_unused_result));

/*
 * Close the connection, keeping the writer's pack (its dictionary and
 * newest snapshot, without its buffers): a target's database holds no
 * descriptor between puts (1,000 targets would hold 3,000). The next
 * call opens it again. Kept open, even for a few targets, a connection
 * would spare a put of a small profile most of its cost (SQLite replays
 * the log into the shared index at each open, some 60 system calls: with
 * bench/packstore -d -p on 60 scrapes of the fixture's leak profile,
 * 312 to 355 us of CPU a put rather than 844 to 867), but a file held
 * open for writing keeps its file system from being remounted read-only
 * (EBUSY), and a database replaced under its name on the disk until the
 * next put.
 */
void		 packstore_idle(struct packstore *);
/*
 * The heap bytes the writer's pack holds between puts; forgetting it
 * frees them, and the next put reads the dictionary and the newest
 * segment from the database again. Shrinking it keeps only its newest
 * snapshot, coded as a key (some kilobytes: 1.6 for 65,536 stacks), so
 * that the next put reads the dictionary and, of the segment, only the
 * bodies stored since (none, but for another process's puts and repeats
 * coded without the writer); it returns what is still held. A writer
 * is whole until shrunk or forgotten, and again once a put read it back.
 */
size_t		 packstore_writer_held(const struct packstore *);
bool		 packstore_writer_whole(const struct packstore *);
size_t		 packstore_writer_shrink(struct packstore *);
void		 packstore_writer_forget(struct packstore *);
/* The snapshot bodies read from the database through ps, for any use. */
uint64_t	 packstore_bodies_read(const struct packstore *);
/* Puts coded by the shape of the last, without the dictionary. */
uint64_t	 packstore_shaped_puts(const struct packstore *);
/* Drops that searched (or tried to) every segment for one to code again. */
uint64_t	 packstore_sweeps(const struct packstore *);

#endif
