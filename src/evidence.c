#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "durable.h"
#include "evidence.h"
#include "xmalloc.h"

/* The length of the digits of an id, or 0 when they are malformed. */
static size_t
evidence_digits(const char *id)
{
	size_t	n = 0;

	while (id[n] >= '0' && id[n] <= '9')
		n++;
	/* 19 digits hold every int64 time; no leading zero. */
	if (n == 0 || n > 19 || (n > 1 && id[0] == '0'))
		return 0;
	return n;
}

bool
evidence_id_valid(const char *id)
{
	size_t	n = evidence_digits(id);

	return n > 0 && (strcmp(id + n, ".pb.gz") == 0 ||
	    strcmp(id + n, ".txt") == 0);
}

/* The unix milliseconds of a valid id. */
static long long
evidence_time(const char *id)
{
	return strtoll(id, NULL, 10);
}

int
evidence_path(const char *root, const char *target, const char *id,
    char *path, size_t len)
{
	int	n;

	if (!evidence_id_valid(id) || strchr(target, '/') != NULL ||
	    target[0] == '.' || target[0] == '\0')
		return -1;
	n = snprintf(path, len, "%s/%s/%s/%s", root, target, EVIDENCE_DIR,
	    id);
	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* Open the target's evidence folder, made when missing; -1 with *cause. */
static int
evidence_dir(const char *root, const char *target, char **cause)
{
	char	path[4096];
	int	fd;

	if (strchr(target, '/') != NULL || target[0] == '.' ||
	    target[0] == '\0') {
		xasprintf(cause, "malformed target name");
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s", root, target);
	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/%s/%s", root, target, EVIDENCE_DIR);
	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    O_NOFOLLOW)) == -1)
		xasprintf(cause, "%s: %s", path, strerror(errno));
	return fd;
}

int
evidence_put(const char *root, const char *target, int64_t time_ms,
    bool text, const void *data, size_t len, char id[EVIDENCE_ID_MAX],
    char **cause)
{
	static unsigned int	 seq;
	const char		*op;
	int			 dfd, rc = 0;

	if ((dfd = evidence_dir(root, target, cause)) == -1)
		return -1;
	snprintf(id, EVIDENCE_ID_MAX, "%lld%s", (long long)time_ms,
	    text ? ".txt" : ".pb.gz");
	if (durable_replace(dfd, &seq, id, data, len, &op) == -1) {
		xasprintf(cause, "%s/%s/%s: %s: %s", target, EVIDENCE_DIR, id,
		    op, strerror(errno));
		id[0] = '\0';
		rc = -1;
	}
	close(dfd);
	return rc;
}

/* When evidence taken at time_ms is past age_ms; a far future's, never. */
static int64_t
evidence_due(int64_t time_ms, uint64_t age_ms)
{
	if (age_ms >= (uint64_t)INT64_MAX || time_ms >= INT64_MAX -
	    (int64_t)age_ms - 1)
		return INT64_MAX;
	return time_ms + (int64_t)age_ms + 1;
}

static int
evidence_cmp(const void *a, const void *b)
{
	long long	x = evidence_time(*(char *const *)a);
	long long	y = evidence_time(*(char *const *)b);

	return x < y ? -1 : x > y;
}

/*
 * The ids of target's evidence, oldest first, in *ids (n of them), and its
 * folder open in *d; with tidy, leftovers of interrupted writes removed,
 * counted in *removed. 0 with *d NULL when none was ever taken.
 */
static int
evidence_scan(const char *root, const char *target, bool tidy, DIR **d,
    char ***ids, size_t *n, size_t *removed, char **cause)
{
	struct dirent	*de;
	char		 path[4096];
	size_t		 cap = 0;
	int		 dfd;

	*d = NULL;
	*ids = NULL;
	*n = 0;
	snprintf(path, sizeof path, "%s/%s/%s", root, target, EVIDENCE_DIR);
	if (access(path, F_OK) == -1 && errno == ENOENT)
		return 0;	/* none taken yet */
	if ((dfd = evidence_dir(root, target, cause)) == -1)
		return -1;
	if ((*d = fdopendir(dfd)) == NULL) {
		xasprintf(cause, "%s/%s: %s", target, EVIDENCE_DIR,
		    strerror(errno));
		close(dfd);
		return -1;
	}
	while ((de = readdir(*d)) != NULL) {
		if (strncmp(de->d_name, DURABLE_TMP_PREFIX,
		    strlen(DURABLE_TMP_PREFIX)) == 0) {
			if (tidy && unlinkat(dirfd(*d), de->d_name, 0) == 0)
				(*removed)++;
			continue;
		}
		if (!evidence_id_valid(de->d_name))
			continue;
		if (*n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			*ids = xreallocarray(*ids, cap, sizeof **ids);
		}
		(*ids)[(*n)++] = xstrdup(de->d_name);
	}
	qsort(*ids, *n, sizeof **ids, evidence_cmp);
	return 0;
}

static void
evidence_ids_free(char **ids, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
}

int
evidence_find(const char *root, const char *target, int64_t from_ms,
    char id[EVIDENCE_ID_MAX], char **cause)
{
	DIR	 *d;
	char	**ids;
	size_t	  n, removed = 0;
	int	  rc = 0;

	id[0] = '\0';
	if (evidence_scan(root, target, false, &d, &ids, &n, &removed,
	    cause) == -1)
		return -1;
	if (n > 0 && evidence_time(ids[n - 1]) >= from_ms) {
		snprintf(id, EVIDENCE_ID_MAX, "%s", ids[n - 1]);
		rc = 1;
	}
	evidence_ids_free(ids, n);
	if (d != NULL)
		closedir(d);
	return rc;
}

int
evidence_prune(const char *root, const char *target, const char *keep_id,
    uint64_t age_ms, int64_t now_ms, size_t *removed, int64_t *due_ms,
    char **cause)
{
	DIR		 *d;
	char		**ids;
	size_t		  n, i, left;
	int		  rc = 0;
	bool		  drop;

	*removed = 0;
	*due_ms = 0;
	if (evidence_scan(root, target, true, &d, &ids, &n, removed,
	    cause) == -1)
		return -1;
	if (d == NULL)
		return 0;
	left = n;
	for (i = 0; i < n; i++) {
		if (keep_id != NULL && strcmp(ids[i], keep_id) == 0)
			continue;
		drop = left > EVIDENCE_KEEP || (age_ms != 0 &&
		    evidence_time(ids[i]) < now_ms - (int64_t)age_ms);
		if (!drop) {
			/* Sorted: the first kept is the first to age. */
			if (age_ms != 0 && *due_ms == 0)
				*due_ms = evidence_due(evidence_time(ids[i]),
				    age_ms);
			continue;
		}
		if (unlinkat(dirfd(d), ids[i], 0) == -1 && errno != ENOENT) {
			if (rc == 0)
				xasprintf(cause, "%s/%s/%s: %s", target,
				    EVIDENCE_DIR, ids[i], strerror(errno));
			rc = -1;
			continue;
		}
		(*removed)++;
		left--;
	}
	if (*removed > 0)
		(void)durable_dir_sync(dirfd(d));
	evidence_ids_free(ids, n);
	closedir(d);
	return rc;
}
