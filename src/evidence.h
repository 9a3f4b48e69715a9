/*
 * The evidence of an alert: what a person wants at once when it goes
 * pending, taken once from the target then and kept beside its snapshots:
 * a heap profile taken right after a GC (Go's ?gc=1), so that it is the
 * live heap of that moment, or the goroutine dump with every stack
 * (?debug=2) for goroutine targets.
 *
 * Each is a file of the target's folder in the store, under .evidence/
 * (no snapshot's name starts with '.'), named by its id: the unix
 * milliseconds of its capture and ".pb.gz" for a profile or ".txt" for a
 * dump. Ids are checked to be exactly of that form before any path is
 * built, so no id reaches outside the folder. Files are written whole
 * (durable.h): a crash leaves the old set and at most a ".tmp-" file,
 * removed at the next prune.
 *
 * The evidence of an open alert is kept. The others are dropped by
 * evidence_prune() as retention drops snapshots: older than its age, and
 * beyond EVIDENCE_KEEP a target, oldest first.
 */
#ifndef EVIDENCE_H
#define EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVIDENCE_DIR	".evidence"
#define EVIDENCE_ID_MAX	32	/* an id and its NUL */
#define EVIDENCE_KEEP	8	/* files a target keeps, at most */

/* Whether id is a well-formed evidence id: "<ms>.pb.gz" or "<ms>.txt". */
bool	evidence_id_valid(const char *id);
/*
 * Write data as the evidence of target taken at time_ms, a profile or (if
 * text) a dump, under root; its id in id. -1 with *cause when not written,
 * nothing then left behind.
 */
int	evidence_put(const char *root, const char *target, int64_t time_ms,
	    bool text, const void *data, size_t len,
	    char id[EVIDENCE_ID_MAX], char **cause)
	    __attribute__((warn_unused_result));
/*
 * The id of target's newest evidence, when taken at from_ms or later: 1
 * with it in id, 0 (id empty) when there is none such, -1 with *cause.
 * An alert open again from the store, at a restart or a reload, finds
 * what was taken when it went pending.
 */
int	evidence_find(const char *root, const char *target, int64_t from_ms,
	    char id[EVIDENCE_ID_MAX], char **cause)
	    __attribute__((warn_unused_result));
/* The file of an evidence; -1 when the id is malformed or it won't fit. */
int	evidence_path(const char *root, const char *target, const char *id,
	    char *path, size_t len) __attribute__((warn_unused_result));
/*
 * Drop target's evidence older than age_ms before now_ms (0: no age), and
 * the oldest beyond EVIDENCE_KEEP, but never keep_id (NULL: none), and
 * leftovers of interrupted writes; how many files went in *removed, and
 * in *due_ms when the oldest of the others kept will be older than age_ms
 * (0: never, or none). A target that has none yet is left without a
 * folder.
 */
int	evidence_prune(const char *root, const char *target,
	    const char *keep_id, uint64_t age_ms, int64_t now_ms,
	    size_t *removed, int64_t *due_ms, char **cause)
	    __attribute__((warn_unused_result));

#endif
