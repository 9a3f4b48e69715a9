#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "xmalloc.h"

#define DURABLE_TRIES	100	/* names tried for a new or set-aside file */

int
durable_write_all(int fd, const void *data, size_t len)
{
	const char	*p = data;
	ssize_t		 w;

	while (len > 0) {
		if ((w = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (w == 0) {
			/* No progress and no error: take it as a full disk. */
			errno = ENOSPC;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

int
durable_dir_sync(int dfd)
{
	if (fsync(dfd) == -1 && errno != EINVAL)
		return -1;
	return 0;
}

/*
 * Write data into fd from its start and close fd; -1 with errno and *op
 * naming the failed step. Over an old file (over), the file is cut to
 * data's length. Synced (sync), it is cut after the write, then synced.
 * Not synced, it is cut to nothing first: a journaling file system
 * (ext4's data=ordered) then commits the cut before any rename of the
 * file that follows, and the new bytes before the cut (ext4 forces out
 * what a file cut to nothing and written again holds), so the file never
 * shows its old bytes under a new name, whatever a power loss leaves.
 */
static int
fill(int fd, const void *data, size_t len, bool over, bool sync,
    const char **op)
{
	int	error;

	*op = NULL;
	if (over && !sync && ftruncate(fd, 0) == -1)
		*op = "truncate";
	else if (durable_write_all(fd, data, len) == -1)
		*op = "write";
	else if (over && sync && ftruncate(fd, (off_t)len) == -1)
		*op = "truncate";
	else if (sync && fsync(fd) == -1)
		*op = "fsync";
	error = errno;
	if (close(fd) == -1 && *op == NULL) {
		*op = "close";
		error = errno;
	}
	if (*op == NULL)
		return 0;
	errno = error;
	return -1;
}

int
durable_tmp_write(int dfd, unsigned int *seq, const void *data, size_t len,
    bool sync, char tmp[DURABLE_TMP_MAX], const char **op)
{
	int	fd = -1, i, error;

	for (i = 0; i < DURABLE_TRIES && fd == -1; i++) {
		/* The store writes from more than one thread. */
		snprintf(tmp, DURABLE_TMP_MAX, DURABLE_TMP_PREFIX "%ld-%u",
		    (long)getpid(), __atomic_fetch_add(seq, 1,
		    __ATOMIC_RELAXED));
		fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL |
		    O_NOFOLLOW | O_CLOEXEC, 0640);
		if (fd == -1 && errno != EEXIST)
			break;
	}
	if (fd == -1) {
		*op = "creating a temporary file";
		return -1;
	}
	if (fill(fd, data, len, false, sync, op) == 0)
		return 0;
	error = errno;
	unlinkat(dfd, tmp, 0);
	errno = error;
	return -1;
}

int
durable_rewrite(int dfd, const char *spare, const void *data, size_t len,
    bool sync, bool *no_lease, const char **op)
{
	struct stat	sb, named;
	int		fd, error;

	*op = NULL;
	/* Not blocking: a FIFO of that name would wait for a reader. */
	if ((fd = openat(dfd, spare, O_WRONLY | O_NONBLOCK | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		goto unusable;
	}
	if (fcntl(fd, F_SETLEASE, F_WRLCK) == -1) {
		/* EAGAIN: open elsewhere; EINVAL: no leases here. */
		if (errno == EINVAL || errno == ENOLCK)
			*no_lease = true;
		goto unusable;
	}
	/* Checked under the lease: a link or a rename does not break it. */
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_nlink != 1 || fstatat(dfd, spare, &named,
	    AT_SYMLINK_NOFOLLOW) == -1 || named.st_ino != sb.st_ino ||
	    named.st_dev != sb.st_dev)
		goto unusable;
	/* Closing it ends the lease. */
	if (fill(fd, data, len, true, sync, op) == 0)
		return 0;
	error = errno;
	unlinkat(dfd, spare, 0);
	errno = error;
	return -1;
unusable:
	if (fd != -1)
		close(fd);
	unlinkat(dfd, spare, 0);
	return 1;
}

int
durable_replace(int dfd, unsigned int *seq, const char *name,
    const void *data, size_t len, const char **op)
{
	char	tmp[DURABLE_TMP_MAX];
	int	error;

	if (durable_tmp_write(dfd, seq, data, len, true, tmp, op) == -1)
		return -1;
	if (renameat(dfd, tmp, dfd, name) == -1) {
		error = errno;
		unlinkat(dfd, tmp, 0);
		errno = error;
		*op = "rename";
		return -1;
	}
	if (durable_dir_sync(dfd) == -1) {
		*op = "fsync";
		return -1;
	}
	return 0;
}

int
durable_read(int dfd, const char *name, size_t max, char **data, size_t *len,
    const char **op)
{
	struct stat	 sb;
	char		*buf;
	size_t		 n = 0, size;
	ssize_t		 r;
	int		 fd, error;

	*data = NULL;
	*len = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		*op = "open";
		return -1;
	}
	error = 0;
	if (fstat(fd, &sb) == -1)
		error = errno;
	else if (!S_ISREG(sb.st_mode))
		error = EINVAL;
	else if ((uint64_t)sb.st_size > max)
		error = EFBIG;
	if (error != 0) {
		close(fd);
		*op = "open";
		errno = error;
		return -1;
	}
	size = (size_t)sb.st_size;
	buf = xmalloc(size + 1);
	while (n < size) {
		if ((r = read(fd, buf + n, size - n)) == -1) {
			if (errno == EINTR)
				continue;
			error = errno;
			free(buf);
			close(fd);
			*op = "read";
			errno = error;
			return -1;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

int
durable_set_aside(int dfd, const char *qdir, int *qfd, const char *name,
    const char **op)
{
	struct stat	 sb;
	char		*qname;
	int		 i;

	if (*qfd == -1) {
		if (mkdirat(dfd, qdir, 0750) == -1 && errno != EEXIST) {
			*op = "mkdir";
			return -1;
		}
		if ((*qfd = openat(dfd, qdir, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1) {
			*op = "open";
			return -1;
		}
	}
	for (i = 0; i < DURABLE_TRIES; i++) {
		if (i == 0)
			qname = xstrdup(name);
		else
			xasprintf(&qname, "%s.%d", name, i);
		if (fstatat(*qfd, qname, &sb, AT_SYMLINK_NOFOLLOW) == -1) {
			if (errno == ENOENT)
				break;
			free(qname);
			*op = "stat";
			return -1;
		}
		free(qname);
	}
	if (i == DURABLE_TRIES) {
		*op = "set aside";
		errno = EEXIST;
		return -1;
	}
	if (renameat(dfd, name, *qfd, qname) == -1) {
		free(qname);
		*op = "rename";
		return -1;
	}
	free(qname);
	if (durable_dir_sync(*qfd) == -1 || durable_dir_sync(dfd) == -1) {
		*op = "fsync";
		return -1;
	}
	return 0;
}

/*
 * The syncer: a thread that syncs the file system of a folder once a
 * period, when something was written since its last sync, and once more
 * when it is freed.
 *
 * Its syncs are numbered from 1 in the order they begin (started), and
 * synced is the highest number of those that succeeded: a writer marks
 * what it wrote and is given started + 1, the number of the next sync to
 * begin, which begins after the write and so takes it to the disk; what
 * it wrote is there once synced has reached that number. Counting the
 * syncs done instead would need two more (one may have begun before the
 * write), and a second sync that nothing asks for may never come. A
 * failed sync leaves synced behind and marks the syncer again, so that the
 * next period tries again; one that then succeeds began after the writes
 * of the failed one, yet cannot release them: the kernel keeps a page
 * whose write-back failed in memory, marked clean, so what a failure
 * lost no later sync can tell. lost is the highest number of those that
 * failed; a writer whose number is at or below it cannot know its bytes
 * are on the disk (see durable_syncer_failed()).
 */
struct durable_syncer {
	int			 fd;
	unsigned int		 period_ms;
	durable_sync_failed_cb	 failed;
	void			*arg;
	pthread_t		 thread;
	bool			 running;	/* the thread */
	bool			 stopped;	/* the last sync made */
	pthread_mutex_t		 mtx;
	pthread_cond_t		 cond;		/* quit was set */
	bool			 dirty;		/* under mtx */
	bool			 quit;		/* under mtx */
	bool			 failing;	/* under mtx: the last failed */
	unsigned long		 syncs;		/* under mtx: done */
	unsigned long		 started;	/* under mtx */
	unsigned long		 synced;	/* under mtx */
	unsigned long		 lost;		/* under mtx: failed, highest */
};

/*
 * Make the sync numbered gen (begun under mtx), sy->mtx not held; tell
 * sy->failed when it fails, or when it succeeds after a failure.
 */
static void
syncer_sync(struct durable_syncer *sy, unsigned long gen)
{
	bool	ok, told;
	int	error = 0;

	/* syncfs(2) reports a write-back error once since the last call. */
	ok = syncfs(sy->fd) == 0;
	if (!ok)
		error = errno;
	pthread_mutex_lock(&sy->mtx);
	sy->syncs++;
	told = !ok || sy->failing;
	if (ok) {
		if (gen > sy->synced)
			sy->synced = gen;
		sy->failing = false;
	} else {
		sy->dirty = true;	/* tried again a period on */
		sy->failing = true;
		if (gen > sy->lost)
			sy->lost = gen;
	}
	pthread_mutex_unlock(&sy->mtx);
	if (told && sy->failed != NULL)
		sy->failed(error, sy->arg);
}

/* Begin a sync when one is due, sy->mtx held: its number, else 0. */
static unsigned long
syncer_begin(struct durable_syncer *sy)
{
	if (!sy->dirty)
		return 0;
	sy->dirty = false;
	return ++sy->started;
}

static void *
syncer_run(void *arg)
{
	struct durable_syncer	*sy = arg;
	struct timespec		 ts;
	unsigned long		 gen;

	pthread_mutex_lock(&sy->mtx);
	while (!sy->quit) {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += sy->period_ms / 1000;
		ts.tv_nsec += (long)(sy->period_ms % 1000) * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		while (!sy->quit && pthread_cond_timedwait(&sy->cond, &sy->mtx,
		    &ts) != ETIMEDOUT)
			;
		if (sy->quit || (gen = syncer_begin(sy)) == 0)
			continue;
		pthread_mutex_unlock(&sy->mtx);
		syncer_sync(sy, gen);
		pthread_mutex_lock(&sy->mtx);
	}
	pthread_mutex_unlock(&sy->mtx);
	return NULL;
}

struct durable_syncer *
durable_syncer_new(int fd, unsigned int period_ms,
    durable_sync_failed_cb failed, void *arg)
{
	struct durable_syncer	*sy;
	pthread_condattr_t	 ca;

	sy = xcalloc(1, sizeof *sy);
	sy->fd = fd;
	sy->period_ms = period_ms > 0 ? period_ms : 1;
	sy->failed = failed;
	sy->arg = arg;
	pthread_mutex_init(&sy->mtx, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&sy->cond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&sy->thread, NULL, syncer_run, sy) != 0) {
		pthread_cond_destroy(&sy->cond);
		pthread_mutex_destroy(&sy->mtx);
		free(sy);
		return NULL;
	}
	sy->running = true;
	return sy;
}

unsigned long
durable_syncer_mark(struct durable_syncer *sy)
{
	unsigned long	gen;

	pthread_mutex_lock(&sy->mtx);
	sy->dirty = true;
	gen = sy->started + 1;
	pthread_mutex_unlock(&sy->mtx);
	return gen;
}

unsigned long
durable_syncer_ticket(struct durable_syncer *sy)
{
	unsigned long	gen;

	/*
	 * Marked and not begun: the next sync takes it. Else the sync that
	 * cleared the last mark began after it, and is numbered at most
	 * started.
	 */
	pthread_mutex_lock(&sy->mtx);
	gen = sy->dirty ? sy->started + 1 : sy->started;
	pthread_mutex_unlock(&sy->mtx);
	return gen;
}

/* One of the syncer's counts, read under its lock. */
static unsigned long
syncer_count(struct durable_syncer *sy, const unsigned long *count)
{
	unsigned long	n;

	pthread_mutex_lock(&sy->mtx);
	n = *count;
	pthread_mutex_unlock(&sy->mtx);
	return n;
}

unsigned long
durable_syncer_synced(struct durable_syncer *sy)
{
	return syncer_count(sy, &sy->synced);
}

unsigned long
durable_syncer_failed(struct durable_syncer *sy)
{
	return syncer_count(sy, &sy->lost);
}

unsigned long
durable_syncer_syncs(struct durable_syncer *sy)
{
	return syncer_count(sy, &sy->syncs);
}

int
durable_syncer_stop(struct durable_syncer *sy)
{
	unsigned long	gen;

	if (sy->stopped)
		return sy->failing ? -1 : 0;
	sy->stopped = true;
	if (sy->running) {
		pthread_mutex_lock(&sy->mtx);
		sy->quit = true;
		pthread_cond_signal(&sy->cond);
		pthread_mutex_unlock(&sy->mtx);
		pthread_join(sy->thread, NULL);
		sy->running = false;
	}
	/* What was written since the last sync, written last. */
	pthread_mutex_lock(&sy->mtx);
	gen = syncer_begin(sy);
	pthread_mutex_unlock(&sy->mtx);
	if (gen != 0)
		syncer_sync(sy, gen);
	return sy->failing ? -1 : 0;
}

void
durable_syncer_free(struct durable_syncer *sy)
{
	if (sy == NULL)
		return;
	(void)durable_syncer_stop(sy);
	pthread_cond_destroy(&sy->cond);
	pthread_mutex_destroy(&sy->mtx);
	free(sy);
}
