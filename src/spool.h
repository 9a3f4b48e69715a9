/*
 * A spool: a folder of numbered entries that must outlive the process
 * until they are done with. heapwatchd's notifier keeps there every alert
 * it has not yet delivered (see notifier.h).
 *
 * An entry is a file named by its sequence number in 20 digits and
 * SPOOL_SUFFIX, so that names sort as numbers do. It is written as the
 * store writes a snapshot: to a ".tmp-" file, synced, renamed over its
 * name, and the folder synced; a file with an entry's name is therefore
 * always whole, and spool_put() on an existing entry replaces it at once.
 * spool_list() removes the ".tmp-" leftovers of a crash, and
 * spool_quarantine() moves an entry its reader refuses into quarantine/,
 * never deleting it.
 *
 * The folder is not followed if it is a symbolic link. One process writes
 * a spool at a time.
 */
#ifndef SPOOL_H
#define SPOOL_H

#include <stddef.h>
#include <stdint.h>

#define SPOOL_SUFFIX		".json"
#define SPOOL_QUARANTINE	"quarantine"	/* in the spool's folder */

struct spool;

/* Open folder name under root, making it when it is missing. */
struct spool	*spool_open(const char *root, const char *name, char **cause);
void		 spool_close(struct spool *);
const char	*spool_path(const struct spool *);

/* Write entry seq (from 1), or replace it, atomically. */
int		 spool_put(struct spool *, uint64_t seq, const void *data,
		    size_t len, char **cause)
		    __attribute__((warn_unused_result));
/* Remove entry seq; one that does not exist is not an error. */
int		 spool_remove(struct spool *, uint64_t seq, char **cause)
		    __attribute__((warn_unused_result));
/*
 * The entries, in sequence order; *tmp_removed counts the leftovers of
 * interrupted writes removed on the way. free() *seqs.
 */
int		 spool_list(struct spool *, uint64_t **seqs, size_t *n,
		    size_t *tmp_removed, char **cause)
		    __attribute__((warn_unused_result));
/* Entry seq's bytes, NUL-terminated, refused past max; free() them. */
int		 spool_read(struct spool *, uint64_t seq, size_t max,
		    char **data, size_t *len, char **cause)
		    __attribute__((warn_unused_result));
/* Set entry seq aside in quarantine/, as NAME or NAME.N if taken. */
int		 spool_quarantine(struct spool *, uint64_t seq, char **cause)
		    __attribute__((warn_unused_result));

#endif
