/*
 * The compact form of a target's snapshots: a run of consecutive pprof
 * profiles of one process, kept as a dictionary that grows and, per
 * snapshot, a small body of value deltas.
 *
 * Consecutive heap profiles of one process are nearly the same: a Go heap
 * profile lists every allocation site since the process started, so the
 * strings, mappings, functions, locations and stacks of one snapshot are
 * those of the last plus a few, and most stacks' values move by zero
 * between two scrapes. A pack therefore keeps five tables, each entry once
 * per target (strings; mappings, functions and locations in terms of
 * strings and of each other; stacks: location ids and labels), and a
 * snapshot is its header (sample types, period, time, comments, mapping
 * list), the stacks it holds as added to and removed from the previous
 * snapshot's, and its values as deltas against the previous snapshot's
 * for the same stack, runs of unchanged stacks counted rather than
 * written. A key snapshot is coded against nothing, so that reading it
 * needs the dictionary only.
 *
 * pack_encode() gives two blobs, each a zstd frame with its checksum:
 * the dictionary entries the snapshot added (often none) and the
 * snapshot's body. Whoever stores them keeps every dictionary blob of a
 * target, in order, and a snapshot's body with those back to the last key
 * snapshot: pack_load_dict() each dictionary blob, then pack_load_snap()
 * each body from the key on, then pack_pprof() gives the profile. A
 * snapshot body names its own serial number and that of the snapshot it is
 * coded against, so a body applied to the wrong predecessor is refused,
 * not misread.
 *
 * What comes back is what `go tool pprof` shows of the profile received,
 * exactly: every sample type's values per stack and labels, the
 * locations (mapping, address, folding, inlined lines), functions, lines,
 * mappings in their order, sample types, default sample type, period and
 * its type, time, duration, comments and drop/keep frames. Normalised on
 * the way: ids are renumbered densely from 1 in order of first use;
 * samples with the same stack and labels are merged into one, their
 * values added, as pprof adds them when it reads the profile; samples come
 * back ordered by stack id (first seen first); a Line's column and the
 * fields of Profile that Go does not write (doc_url) are dropped;
 * strings no entry uses are dropped.
 *
 * A pack is one target's, owned by one thread at a time.
 *
 * A call that fails sets *cause to a message the caller frees. As with
 * every call in heapwatch that takes one, *cause is NULL on entry: a
 * message already there is not freed, so that a cause shared by calls
 * made in turn is freed between them.
 */
#ifndef PACK_H
#define PACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PACK_LEVEL_DEFAULT	3	/* zstd's level; see bench/pack.sh */

struct pack;
struct profile_view;

/* A blob made by pack_encode(); free(data) when done. */
struct pack_blob {
	uint8_t		*data;
	size_t		 len;
};

/* Sizes, for the bench and /metrics. */
struct pack_stats {
	uint32_t	 strings, mappings, functions, locations, stacks;
	size_t		 dict_bytes;	/* of the tables, uncompressed */
	uint64_t	 serial;	/* of the current snapshot; 0: none */
	size_t		 nsamples;	/* of the current snapshot */
	/*
	 * Samples of the last profile coded whose stacks were looked up,
	 * not found by following the last profile's in its order.
	 */
	size_t		 looked;
	size_t		 held;		/* heap bytes the pack holds */
};

struct pack	*pack_new(int level);
void		 pack_free(struct pack *);
/*
 * Say, before loading it, that a pack will code the next snapshot once
 * read back (a store's writer): it then hashes its entries as they are
 * loaded, for the lookups that coding makes, and follows the first
 * profile it codes in the order Go lists a heap profile's stacks
 * (newest first) rather than looking each stack up. What it codes is
 * the same either way.
 */
void		 pack_will_code(struct pack *);

/*
 * Add a profile (gzip-compressed or not, inflated to at most max bytes)
 * as the next snapshot, coded against the current one unless key is set
 * or there is none. dict and body get the blobs to store; dict's len is 0
 * when nothing was added to the dictionary. A malformed profile leaves
 * the pack as it was. When the caller cannot store both blobs, it must
 * not go on with this pack: it frees it and loads another from what was
 * stored.
 */
int		 pack_encode(struct pack *, const void *data, size_t len,
		    size_t max, bool key, struct pack_blob *dict,
		    struct pack_blob *body, char **cause)
		    __attribute__((warn_unused_result));

/*
 * pack_encode() of a profile that profile.c has parsed (profile_raw_view()),
 * whose references are checked: the same blobs, byte for byte, without
 * reading the protobuf again. A profile the pack cannot code (over 16
 * sample types, none) is refused with the pack as it was.
 */
int		 pack_encode_parsed(struct pack *, const struct profile_view *,
		    bool key, struct pack_blob *dict, struct pack_blob *body,
		    char **cause) __attribute__((warn_unused_result));

/*
 * The current snapshot again as the next, with the profile's time and
 * duration (pprof's time_nanos and duration_nanos) replaced: the blobs
 * that coding its profile again with those times would give, byte for
 * byte, without a profile to read (a Go heap profile is that of the last
 * GC: between two, a scrape gives the same profile but for its times).
 * Refused with the pack as it was when there is no current snapshot.
 */
int		 pack_encode_repeat(struct pack *, int64_t time_nanos,
		    int64_t duration_nanos, bool key, struct pack_blob *dict,
		    struct pack_blob *body, char **cause)
		    __attribute__((warn_unused_result));

/*
 * The same, not a key, from the body data[0..len) of the current
 * snapshot as stored (inflated to at most max bytes) rather than from a
 * pack holding the dictionary and that snapshot: a repeat's body needs
 * only the snapshot's serial, its header and its count of stacks, which
 * its own body gives, so that a writer not kept need not be read back
 * for it. body gets what pack_encode_repeat() of that pack would give
 * at level, byte for byte, and *serial the repeat's serial; it adds
 * nothing to the dictionary. A body that does not read is refused.
 */
/*
 * Whether a body's frame is whole (zstd's checksum of what it holds
 * matches), inflated to at most max bytes with pk's contexts; what it
 * says is not read.
 */
int		 pack_body_check(struct pack *, const void *, size_t,
		    size_t max, char **cause)
		    __attribute__((warn_unused_result));
int		 pack_encode_repeat_body(const void *data, size_t len,
		    size_t max, int level, int64_t time_nanos,
		    int64_t duration_nanos, struct pack_blob *body,
		    uint64_t *serial, char **cause)
		    __attribute__((warn_unused_result));

/*
 * Read back: dictionary blobs in the order made, and a snapshot body,
 * which becomes the current snapshot. Blobs are inflated to at most max
 * bytes. A blob that is corrupt, or a body not coded against the current
 * snapshot, is refused with the pack as it was.
 */
int		 pack_load_dict(struct pack *, const void *, size_t,
		    size_t max, char **cause)
		    __attribute__((warn_unused_result));
int		 pack_load_snap(struct pack *, const void *, size_t,
		    size_t max, char **cause)
		    __attribute__((warn_unused_result));
/*
 * The current snapshot coded as a key, the pack unchanged: the body that
 * pack_load_snap() makes it the current snapshot again from, over the
 * same dictionary, whatever the current one then. -1 when there is none.
 */
int		 pack_key_body(struct pack *, struct pack_blob *body,
		    char **cause) __attribute__((warn_unused_result));
/* Whether a body is a key snapshot's, and its serial; -1 if not a body. */
int		 pack_body_info(const void *, size_t, bool *key,
		    uint64_t *serial) __attribute__((warn_unused_result));

/* The current snapshot as a pprof profile, gzipped when gz is set. */
int		 pack_pprof(struct pack *, bool gz, void **out, size_t *len,
		    char **cause) __attribute__((warn_unused_result));

/*
 * Coding by shape: a writer that keeps no dictionary (a store's, shrunk
 * between puts to its newest snapshot coded as a key) and is given a
 * profile of the very shape of the last one it coded (strings,
 * mappings, functions, locations, the samples' stacks and labels in
 * their order, the header but for the times: all but the values), as a
 * Go service's heap profile is from one GC to the next once no new
 * allocation site or size is sampled, codes it from what it kept:
 * nothing is added to the dictionary, and sample i has the stack that
 * sample i of the last profile had. What it codes is what the writer kept whole would,
 * byte for byte.
 *
 * pack_view_digest() is a profile's shape; pack_shape_take(), after a
 * writer coded a profile of that digest (and perhaps repeats of it),
 * what coding by that shape needs: the digest, the dictionary's sizes
 * and the samples' stacks, as runs of consecutive ids (-1 when there
 * would be more than 16 runs and a quarter of the samples, 8 bytes
 * each, or there is no snapshot).
 */
struct pack_shape {
	uint64_t	 digest[2];
	uint32_t	 lim[5];	/* the dictionary's sizes, by kind */
	uint32_t	*runs;		/* (first stack, count), in order */
	size_t		 nruns, nsamples;
};

void		 pack_view_digest(const struct profile_view *,
		    uint64_t digest[2]);
int		 pack_shape_take(const struct pack *, const uint64_t digest[2],
		    struct pack_shape *);
void		 pack_shape_free(struct pack_shape *);
size_t		 pack_shape_held(const struct pack_shape *);
/*
 * Code v, of shape sh, as the next snapshot after the one that keyb (that
 * snapshot coded as a key, pack_key_body()) holds, or, when last is not
 * NULL, after last, a body stored since that repeats it: the body that a
 * writer holding the dictionary and that snapshot would code, at level
 * (key: against nothing). next gets the new snapshot coded as a key, for
 * the next put, and *serial its serial. -1 with nothing made when keyb
 * or last does not read, last is no repeat, or v is not of the shape
 * (its count of samples or values).
 */
int		 pack_encode_shaped(const struct pack_shape *sh,
		    const struct pack_blob *keyb, const void *last,
		    size_t lastlen, size_t max, int level,
		    const struct profile_view *v, bool key,
		    struct pack_blob *body, struct pack_blob *next,
		    uint64_t *serial, char **cause)
		    __attribute__((warn_unused_result));

void		 pack_stats(const struct pack *, struct pack_stats *);
/*
 * Free what a pack keeps from one profile to the next to read it faster
 * (buffers, compressors: megabytes for a large profile), keeping the
 * dictionary and the current snapshot; for a pack that waits long
 * between snapshots, as a store's writer does between scrapes.
 */
void		 pack_trim(struct pack *);

#endif
