#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "durable.h"
#include "spool.h"
#include "xmalloc.h"

#define SPOOL_DIGITS	20		/* of a sequence number */
#define SPOOL_NAME_MAX	(SPOOL_DIGITS + sizeof SPOOL_SUFFIX)

struct spool {
	char		*path;
	int		 fd;		/* the folder */
	unsigned int	 tmpseq;	/* makes temporary names unique */
};

/* A cause naming a file of the spool, what failed and why. */
static void
spool_cause(char **cause, const struct spool *sp, const char *file,
    const char *op, int error)
{
	xasprintf(cause, "%s%s%s: %s: %s", sp->path, file != NULL ? "/" : "",
	    file != NULL ? file : "", op, strerror(error));
}

static void
spool_name(char *name, size_t len, uint64_t seq)
{
	snprintf(name, len, "%0*llu%s", SPOOL_DIGITS, (unsigned long long)seq,
	    SPOOL_SUFFIX);
}

/* The sequence number of an entry's file name; false for other names. */
static bool
spool_parse(const char *name, uint64_t *seq)
{
	size_t	i;

	if (strlen(name) != SPOOL_DIGITS + strlen(SPOOL_SUFFIX) ||
	    strcmp(name + SPOOL_DIGITS, SPOOL_SUFFIX) != 0)
		return false;
	*seq = 0;
	for (i = 0; i < SPOOL_DIGITS; i++) {
		if (name[i] < '0' || name[i] > '9' ||
		    *seq > (UINT64_MAX - (uint64_t)(name[i] - '0')) / 10)
			return false;
		*seq = *seq * 10 + (uint64_t)(name[i] - '0');
	}
	return *seq != 0;
}

struct spool *
spool_open(const char *root, const char *name, char **cause)
{
	struct spool	*sp;
	int		 rfd, fd;

	if ((rfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		xasprintf(cause, "%s: %s", root, strerror(errno));
		return NULL;
	}
	if (mkdirat(rfd, name, 0750) == 0) {
		if (durable_dir_sync(rfd) == -1) {
			xasprintf(cause, "%s: fsync: %s", root,
			    strerror(errno));
			close(rfd);
			return NULL;
		}
	} else if (errno != EEXIST) {
		xasprintf(cause, "%s/%s: mkdir: %s", root, name,
		    strerror(errno));
		close(rfd);
		return NULL;
	}
	fd = openat(rfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC);
	if (fd == -1) {
		xasprintf(cause, "%s/%s: %s", root, name,
		    strerror(errno == ELOOP ? ENOTDIR : errno));
		close(rfd);
		return NULL;
	}
	close(rfd);
	sp = xcalloc(1, sizeof *sp);
	xasprintf(&sp->path, "%s/%s", root, name);
	sp->fd = fd;
	return sp;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	close(sp->fd);
	free(sp->path);
	free(sp);
}

const char *
spool_path(const struct spool *sp)
{
	return sp->path;
}

int
spool_put(struct spool *sp, uint64_t seq, const void *data, size_t len,
    char **cause)
{
	char		 name[SPOOL_NAME_MAX];
	const char	*op;

	spool_name(name, sizeof name, seq);
	if (durable_replace(sp->fd, &sp->tmpseq, name, data, len,
	    &op) == -1) {
		/* After a failed folder sync the entry may not survive a
		 * crash: said, though it stays, as a replaced entry's old
		 * bytes are gone already. */
		spool_cause(cause, sp, name, op, errno);
		return -1;
	}
	return 0;
}

int
spool_remove(struct spool *sp, uint64_t seq, char **cause)
{
	char	name[SPOOL_NAME_MAX];

	spool_name(name, sizeof name, seq);
	if (unlinkat(sp->fd, name, 0) == -1) {
		if (errno == ENOENT)
			return 0;
		spool_cause(cause, sp, name, "unlink", errno);
		return -1;
	}
	if (durable_dir_sync(sp->fd) == -1) {
		spool_cause(cause, sp, NULL, "fsync", errno);
		return -1;
	}
	return 0;
}

static int
seq_cmp(const void *a, const void *b)
{
	uint64_t	x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int
spool_list(struct spool *sp, uint64_t **seqs, size_t *n, size_t *tmp_removed,
    char **cause)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	uint64_t	*v = NULL, seq;
	size_t		 nv = 0, cap = 0;
	int		 dfd, saved;

	*seqs = NULL;
	*n = 0;
	*tmp_removed = 0;
	if ((dfd = openat(sp->fd, ".", O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1 || (d = fdopendir(dfd)) == NULL) {
		saved = errno;
		if (dfd != -1)
			close(dfd);
		spool_cause(cause, sp, NULL, "open", saved);
		return -1;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL)
			break;
		if (fstatat(sp->fd, de->d_name, &sb, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(sb.st_mode))
			continue;
		if (strncmp(de->d_name, DURABLE_TMP_PREFIX, strlen(DURABLE_TMP_PREFIX)) == 0) {
			if (unlinkat(sp->fd, de->d_name, 0) == 0)
				(*tmp_removed)++;
			continue;
		}
		if (!spool_parse(de->d_name, &seq))
			continue;
		if (nv == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			v = xreallocarray(v, cap, sizeof *v);
		}
		v[nv++] = seq;
	}
	saved = errno;
	closedir(d);
	if (saved != 0) {
		free(v);
		spool_cause(cause, sp, NULL, "read", saved);
		return -1;
	}
	if (nv > 1)
		qsort(v, nv, sizeof *v, seq_cmp);
	*seqs = v;
	*n = nv;
	return 0;
}

int
spool_read(struct spool *sp, uint64_t seq, size_t max, char **data,
    size_t *len, char **cause)
{
	char		 name[SPOOL_NAME_MAX];
	const char	*op;

	spool_name(name, sizeof name, seq);
	if (durable_read(sp->fd, name, max, data, len, &op) == -1) {
		if (errno == EFBIG)
			xasprintf(cause, "%s/%s: more than %zu bytes",
			    sp->path, name, max);
		else
			spool_cause(cause, sp, name, op, errno);
		return -1;
	}
	return 0;
}

int
spool_quarantine(struct spool *sp, uint64_t seq, char **cause)
{
	char		 name[SPOOL_NAME_MAX];
	const char	*op;
	int		 qfd = -1, rc = 0;

	spool_name(name, sizeof name, seq);
	if (durable_set_aside(sp->fd, SPOOL_QUARANTINE, &qfd, name,
	    &op) == -1) {
		spool_cause(cause, sp, name, op, errno);
		rc = -1;
	}
	if (qfd != -1)
		close(qfd);
	return rc;
}
