/*
 * Targets from files, as Prometheus's file_sd reads them, and the split
 * of all targets between the heapwatchd instances of a shard set.
 *
 * The files a file_sd entry's patterns match are polled on the event
 * loop; one that changes is read again, one that no longer parses keeps
 * the targets it had. The discovered targets are owned here, each a
 * target_config of its own: a change makes a new list, hands it to the
 * daemon through the callback, and frees the old one after it returns.
 */
#ifndef DISCOVERY_H
#define DISCOVERY_H

#include <sys/stat.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf.h"

#define DISCOVERY_POLL_MS	2000		/* globs and stat(2) */
#define DISCOVERY_HELD_MS	1500		/* a change, before it is read */
#define DISCOVERY_CHANGING_MS	10000		/* or changes, at most */
#define DISCOVERY_FILE_MAX	(16 << 20)	/* bytes of a target file */
#define DISCOVERY_TARGETS_MAX	100000		/* targets a file gives */
#define DISCOVERY_LABEL_BYTES	(64 << 20)	/* and their labels */

struct buf;
struct event_base;
struct discovery;

/* One target of a file: its name, address and own labels. */
struct sd_target {
	char			*name;
	char			*address;	/* host:port */
	char			*scheme;	/* from __scheme__, or NULL */
	char			*path;		/* __metrics_path__, or NULL */
	struct config_pair	*labels;	/* sorted, without "name" */
	size_t			 nlabels;
};

/* What the daemon does when the discovered targets change. */
typedef void (*discovery_cb)(void *arg);

/*
 * What the target files gave, from discovery_stats(), and what this
 * shard took, which the daemon fills in as it picks its targets.
 */
struct discovery_stats {
	uint64_t	files;		/* matched by the patterns now */
	uint64_t	files_failing;	/* whose last read failed */
	uint64_t	targets;	/* defined by the files now */
	uint64_t	reads;		/* of files, since start */
	uint64_t	errors;		/* reads that failed */

	uint64_t	shards;		/* shard.count */
	uint64_t	shard_index;	/* shard.index */
	uint64_t	watched_static;	/* targets watched, configured */
	uint64_t	watched_sd;	/* targets watched, from file_sd */
	uint64_t	clashes;	/* discovered, name taken */
};

/*
 * Read a target file (JSON or YAML); -1 with its problems in errs. With
 * held, 1 if the file, once read, is not the one held says (it changed
 * since, or while read): no targets, errs emptied.
 */
int		 discovery_parse(const char *, const struct stat *held,
		    struct sd_target **, size_t *, struct yamlx_errors *)
		    __attribute__((warn_unused_result));
void		 discovery_targets_free(struct sd_target *, size_t);

/* FNV-1a, 64 bits, of a target's name. */
uint64_t	 discovery_hash(const char *);
/* The shard, 0 to count - 1, that watches the target of this name. */
uint32_t	 discovery_shard(const char *, uint32_t count);

/* A discovery on base (NULL: read on discovery_configure() only). */
struct discovery *discovery_new(struct event_base *, discovery_cb, void *);
void		 discovery_free(struct discovery *);
/* Take the file_sd entries of conf and read their files now. */
void		 discovery_configure(struct discovery *, const struct config *);
/* The discovered targets, in the order of entries, files and lines. */
const struct target_config *discovery_targets(const struct discovery *,
		    size_t *);
/* Free the targets a change replaced, once nothing points at them. */
void		 discovery_release(struct discovery *);
/* Fill in what the files gave; d may be NULL (no file_sd). */
void		 discovery_stats(const struct discovery *d,
		    struct discovery_stats *);
/* The discovery's and the shard's families of /metrics. */
void		 discovery_metrics(const struct discovery_stats *,
		    struct buf *);

#endif
