/*
 * Files that a crash leaves whole, for the store and the spool: a file
 * is written under a temporary name, synced, then renamed to its name,
 * and the folder synced. A reader sees the old file or the new one,
 * never a part, and a crash leaves at most a temporary file behind,
 * which the owner of the folder removes by its prefix.
 *
 * Each function returns 0, or -1 with errno saying why and *op naming
 * the step that failed ("write", "fsync", "rename", ...), for messages.
 */
#ifndef DURABLE_H
#define DURABLE_H

#include <stdbool.h>
#include <stddef.h>

#define DURABLE_TMP_PREFIX	".tmp-"
#define DURABLE_TMP_MAX		64	/* a temporary name and its NUL */

/* Write all of data, through short writes and interruptions. */
int	durable_write_all(int fd, const void *data, size_t len);
/* Sync folder dfd; a file system that cannot (EINVAL) is no error. */
int	durable_dir_sync(int dfd);
/*
 * Write data to a new file in folder dfd, named DURABLE_TMP_PREFIX, the
 * process id and *seq (which it advances), and sync it when sync is set
 * (else its bytes reach the disk when a durable_syncer, below, syncs its
 * file system); its name is left in tmp. On failure nothing is left
 * behind.
 */
int	durable_tmp_write(int dfd, unsigned int *seq, const void *data,
	    size_t len, bool sync, char tmp[DURABLE_TMP_MAX], const char **op);
/*
 * Write data over the existing file spare in folder dfd and sync it (not
 * synced, sync unset, for a durable_syncer to do: the file is then cut to
 * nothing before data is written, see durable.c), in
 * place of durable_tmp_write() making a file, when nobody can see it
 * change: spare must be a regular file of one link with no descriptor
 * open on it anywhere but this one, which a write lease proves (fcntl(2)
 * grants one only then, and an open of the file while it is held waits
 * for it to end). 0 when rewritten; 1 when spare is missing or cannot be
 * taken, and then removed, for the caller to make a file; -1 with errno
 * and *op when a write fails, spare removed. *no_lease is set when the
 * file system grants no leases at all. A lease broken by another's open
 * raises SIGIO, which the process must ignore.
 */
int	durable_rewrite(int dfd, const char *spare, const void *data,
	    size_t len, bool sync, bool *no_lease, const char **op);
/* Write data to name in folder dfd as described above. */
int	durable_replace(int dfd, unsigned int *seq, const char *name,
	    const void *data, size_t len, const char **op);
/*
 * Read the regular file name in folder dfd, without following a link;
 * EFBIG when it holds more than max bytes. *data holds *len bytes and a
 * NUL; free() it.
 */
int	durable_read(int dfd, const char *name, size_t max, char **data,
	    size_t *len, const char **op);
/*
 * Move name from folder dfd to folder qdir inside it (made when missing;
 * *qfd caches it, -1 at first, for the caller to close), as name, or
 * name.N when that is taken, and sync both folders.
 */
int	durable_set_aside(int dfd, const char *qdir, int *qfd,
	    const char *name, const char **op);

/*
 * A group commit: a thread that syncs the file system holding folder fd
 * (syncfs(2)) once every period_ms when durable_syncer_mark() said that
 * something was written since its last sync, and once more when stopped,
 * for writers that would otherwise sync each file and its folder. A
 * failed sync is told to failed with its errno, and tried again a period
 * on until one succeeds, which is told with error 0; failed runs on the
 * syncer's thread (the last time, in durable_syncer_stop(), on its
 * caller's). fd stays the caller's and must outlive the syncer. NULL when
 * no thread can start.
 *
 * The syncs are numbered as they begin: durable_syncer_mark() and
 * durable_syncer_ticket() give the number of a sync that takes what was
 * written before the call to the disk, which is there once
 * durable_syncer_synced() has reached it (see durable.c).
 */
typedef void	(*durable_sync_failed_cb)(int error, void *arg);
struct durable_syncer;

struct durable_syncer	*durable_syncer_new(int fd, unsigned int period_ms,
			    durable_sync_failed_cb failed, void *arg);
/* Something was written: the number of the sync that takes it. */
unsigned long		 durable_syncer_mark(struct durable_syncer *sy);
/* The number of a sync that takes all that was marked so far. */
unsigned long		 durable_syncer_ticket(struct durable_syncer *sy);
/* The highest number of the syncs that succeeded; 0 for none. */
unsigned long		 durable_syncer_synced(struct durable_syncer *sy);
/*
 * The highest number of the syncs that failed; 0 for none. What was given
 * a number at or below it may not be on the disk, whatever succeeded since.
 */
unsigned long		 durable_syncer_failed(struct durable_syncer *sy);
/* The syncs done since the syncer started, failed or not. */
unsigned long		 durable_syncer_syncs(struct durable_syncer *sy);
/*
 * Stop the thread, then sync a last time when something is unsynced, once
 * (a second call does nothing); -1 when the last sync made failed.
 */
int			 durable_syncer_stop(struct durable_syncer *sy);
/* durable_syncer_stop(), and free sy. */
void			 durable_syncer_free(struct durable_syncer *sy);

#endif
