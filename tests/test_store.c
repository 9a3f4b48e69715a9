/* Unit tests for src/store.c: the snapshot store of heapwatchd. */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "packstore.h"
#include "profile.h"
#include "store.h"
#include "tap.h"
#include "pbuild.h"

#define U(x)	((uint64_t)(x))
#define V(x)	((int64_t)(x))

#define WAIT_MAX_S	60	/* a busy machine's worst, not a timing */
#define STORE_PENDING_MAX_WANT	32	/* store.c's queue, a target */

static char	 tmpdir[256];
static char	 root[300];

/*
 * syncfs(2), as the store's syncer calls it: the kernel's, which, while
 * syncs_fail is set, is said to have failed with EIO, as it does after a
 * write-back error. syncs counts the calls.
 */
static int	 syncs_fail;
static int	 syncs;

int
syncfs(int fd)
{
	int	rc;

	rc = (int)syscall(SYS_syncfs, fd);
	__atomic_add_fetch(&syncs, 1, __ATOMIC_SEQ_CST);
	if (rc == 0 && __atomic_load_n(&syncs_fail, __ATOMIC_SEQ_CST)) {
		errno = EIO;
		return -1;
	}
	return rc;
}

/*
 * fsync(2) and fdatasync(2), as the store and SQLite call them: the
 * kernel's, counted in fsyncs.
 */
static int	 fsyncs;

int
fsync(int fd)
{
	__atomic_add_fetch(&fsyncs, 1, __ATOMIC_SEQ_CST);
	return (int)syscall(SYS_fsync, fd);
}

int
fdatasync(int fd)
{
	__atomic_add_fetch(&fsyncs, 1, __ATOMIC_SEQ_CST);
	return (int)syscall(SYS_fdatasync, fd);
}

/* A small valid heap profile, gzipped as Go serves it. */
static uint8_t *
profile_bytes(size_t *len)
{
	struct pb	*b = pb_small();
	uint8_t		*raw, *gz;
	size_t		 rawlen;

	raw = pb_pack(b, &rawlen);
	gz = pb_gzip(raw, rawlen, len);
	free(raw);
	free(b);
	return gz;
}

static void
write_file(const char *path, const void *data, size_t len)
{
	FILE	*f;

	if ((f = fopen(path, "w")) == NULL) {
		printf("# %s: %s\n", path, strerror(errno));
		return;
	}
	fwrite(data, 1, len, f);
	fclose(f);
}

static bool
exists(const char *path)
{
	struct stat	sb;

	return lstat(path, &sb) == 0;
}

/* How many entries of folder dir start with prefix. */
/* How many of this process's open files are path (by its name now). */
static int
fds_on(const char *path)
{
	struct dirent	*de;
	DIR		*d;
	char		 link[300], to[PATH_MAX];
	ssize_t		 n;
	int		 count = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		snprintf(link, sizeof link, "/proc/self/fd/%s", de->d_name);
		if ((n = readlink(link, to, sizeof to - 1)) <= 0)
			continue;
		to[n] = '\0';
		if (strcmp(to, path) == 0)
			count++;
	}
	closedir(d);
	return count;
}

static int
count_prefix(const char *dir, const char *prefix)
{
	DIR		*d;
	struct dirent	*de;
	int		 n = 0;

	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
			n++;
	closedir(d);
	return n;
}

/* Whether a file holds exactly data. */
static bool
same_file(const char *path, const void *data, size_t len)
{
	void	*got;
	size_t	 n;
	char	*cause = NULL;
	bool	 same;

	if (profile_read_file(path, 1 << 20, &got, &n, &cause) == -1) {
		printf("# %s\n", cause);
		free(cause);
		return false;
	}
	same = n == len && memcmp(got, data, len) == 0;
	free(got);
	return same;
}

static int
put(struct store *st, const char *target, int64_t ms, const void *data,
    size_t len, char *id)
{
	char	*cause = NULL;
	int	 rc;

	rc = store_put(st, target, ms, data, len, id, &cause);
	if (rc == -1) {
		printf("# put %s %lld: %s\n", target, (long long)ms, cause);
		free(cause);
	}
	return rc;
}

/* Append s to the string in buf, separated by a comma when not first. */
static void
join(char *buf, size_t size, const char *s)
{
	size_t	used = strlen(buf);

	snprintf(buf + used, size - used, "%s%s", used > 0 ? "," : "", s);
}

/* A target's snapshot ids as "a,b,c", or "error". */
static const char *
ids(struct store *st, const char *target)
{
	static char		 buf[4096];
	struct store_snapshot	*v;
	size_t			 n, i;
	char			*cause = NULL;

	buf[0] = '\0';
	if (store_list(st, target, &v, &n, &cause) == -1) {
		printf("# list %s: %s\n", target, cause);
		free(cause);
		return "error";
	}
	for (i = 0; i < n; i++)
		join(buf, sizeof buf, v[i].id);
	store_list_free(v);
	return buf;
}

static int
retain(struct store *st, const char *target, size_t snapshots,
    uint64_t age_ms, uint64_t size, int64_t now_ms)
{
	struct store_retention	 r = { .snapshots = snapshots, .age_ms = age_ms,
	    .size = size };
	size_t			 removed = 0;
	char			*cause = NULL;

	if (store_retain(st, target, &r, now_ms, &removed, &cause) == -1) {
		printf("# retain %s: %s\n", target, cause);
		free(cause);
		return -1;
	}
	return (int)removed;
}

static void
test_open(void)
{
	struct store	*st;
	struct stat	 sb;
	char		 path[400], *cause = NULL;

	st = store_open(root, &cause);
	ok(st != NULL && stat(root, &sb) == 0 && S_ISDIR(sb.st_mode),
	    "store_open creates a missing root");
	ok(st != NULL && (sb.st_mode & 07777) == 0750, "root has mode 0750");
	store_close(st);
	snprintf(path, sizeof path, "%s/", root);
	st = store_open(path, &cause);
	is_str(st != NULL ? store_root(st) : NULL, root,
	    "trailing slash left off the root");
	store_close(st);

	snprintf(path, sizeof path, "%s/plainfile", tmpdir);
	write_file(path, "x", 1);
	st = store_open(path, &cause);
	ok(st == NULL && cause != NULL && strstr(cause, strerror(ENOTDIR)),
	    "a root that is a file is refused (%s)", cause);
	free(cause);
	cause = NULL;
	snprintf(path, sizeof path, "%s/no/such", tmpdir);
	st = store_open(path, &cause);
	ok(st == NULL && cause != NULL && strstr(cause, strerror(ENOENT)),
	    "a root whose parent is missing is refused");
	free(cause);
	store_close(NULL);
}

static void
test_roundtrip(struct store *st, const uint8_t *prof, size_t len)
{
	struct store_snapshot	*v = NULL;
	struct profile		*p;
	struct stat		 sb;
	char			 id[STORE_ID_MAX], path[512], want[512];
	char			*cause = NULL;
	void			*data = NULL;
	size_t			 n = 0, dlen = 0;

	ok(put(st, "api", 1732712345123LL, prof, len, id) == 0,
	    "put a snapshot");
	is_str(id, "1732712345123", "its id is the time in milliseconds");
	ok(store_list(st, "api", &v, &n, &cause) == 0 && n == 1,
	    "list shows one snapshot");
	if (n == 1) {
		is_str(v[0].id, "1732712345123", "listed id");
		is_int(v[0].time_ms, 1732712345123LL, "listed time");
		is_int(v[0].size, len, "listed size");
	}
	store_list_free(v);

	ok(store_read(st, "api", id, 1 << 20, &data, &dlen, &cause) == 0 &&
	    dlen == len && memcmp(data, prof, len) == 0,
	    "read gives the bytes as received");
	free(data);
	ok(store_read(st, "api", id, len - 1, &data, &dlen, &cause) == -1 &&
	    strstr(cause, "exceeds") != NULL, "read refuses more than max");
	free(cause);
	cause = NULL;
	ok(store_read(st, "api", "42", 1 << 20, &data, &dlen, &cause) == -1 &&
	    strstr(cause, strerror(ENOENT)) != NULL,
	    "read of a missing snapshot says so");
	free(cause);
	cause = NULL;

	snprintf(want, sizeof want, "%s/api/1732712345123.pb.gz", root);
	ok(stat(want, &sb) == 0 && S_ISREG(sb.st_mode) &&
	    (size_t)sb.st_size == len,
	    "the snapshot is the file root/target/id.pb.gz");
	ok(stat(want, &sb) == 0 && (sb.st_mode & 07777) == 0640,
	    "snapshot file has mode 0640");
	p = profile_load(want, PROFILE_MAX_INFLATED, NULL, &cause);
	ok(p != NULL && p->nsamples == 2, "stored file decodes as a profile");
	profile_free(p);
	snprintf(path, sizeof path, "%s/api", root);
	is_int(count_prefix(path, ".tmp-"), 0, "no temporary file is left");

	ok(store_list(st, "nosuch", &v, &n, &cause) == 0 && n == 0 &&
	    v == NULL, "a target without a folder has no snapshots");
	ok(store_put(st, "api", -1, prof, len, id, &cause) == -1,
	    "a time before 1970 is refused");
	free(cause);
}

static void
test_order(struct store *st, const uint8_t *prof, size_t len)
{
	char	id[STORE_ID_MAX], want[1024], one[64];
	int	i, rc = 0;

	put(st, "ord", 3000, prof, len, id);
	put(st, "ord", 1000, prof, len, id);
	put(st, "ord", 2000, prof, len, id);
	put(st, "ord", 999, prof, len, id);
	/* Numeric order: a string sort would put "1000" before "999". */
	is_str(ids(st, "ord"), "999,1000,2000,3000",
	    "listed oldest first, in numeric order");

	snprintf(want, sizeof want, "5000");
	for (i = 0; i < 12; i++) {
		rc |= put(st, "same", 5000, prof, len, id);
		if (i == 0)
			is_str(id, "5000", "first in a millisecond: no suffix");
		if (i == 1)
			is_str(id, "5000-1", "second in a millisecond: -1");
		if (i > 0) {
			snprintf(one, sizeof one, "5000-%d", i);
			join(want, sizeof want, one);
		}
	}
	ok(rc == 0, "twelve snapshots in one millisecond stored");
	is_str(id, "5000-11", "twelfth in a millisecond: -11");
	is_str(ids(st, "same"), want,
	    "same-millisecond ids listed in arrival order (-2 before -10)");
}

static void
test_not_listed(struct store *st, const uint8_t *prof, size_t len)
{
	struct profile	*p;
	char		 id[STORE_ID_MAX], dir[400], path[512], *cause = NULL;
	void		*data;
	size_t		 dlen;
	int		 rc;

	put(st, "hid", 1000, prof, len, id);
	snprintf(dir, sizeof dir, "%s/hid", root);
	snprintf(path, sizeof path, "%s/.tmp-99-0", dir);
	write_file(path, prof, len / 2);
	snprintf(path, sizeof path, "%s/2000.pb.gz.bak", dir);
	write_file(path, prof, len);
	snprintf(path, sizeof path, "%s/abc.pb.gz", dir);
	write_file(path, prof, len);
	snprintf(path, sizeof path, "%s/0100.pb.gz", dir);
	write_file(path, prof, len);
	snprintf(path, sizeof path, "%s/2500-0.pb.gz", dir);
	write_file(path, prof, len);
	snprintf(path, sizeof path, "%s/3000.pb.gz", dir);
	if (symlink("/etc/passwd", path) == -1)
		printf("# symlink: %s\n", strerror(errno));
	snprintf(path, sizeof path, "%s/4000.pb.gz", dir);
	mkdir(path, 0700);
	is_str(ids(st, "hid"), "1000",
	    "temporary, misnamed, linked and folder entries not listed");
	rc = store_read(st, "hid", "3000", 1 << 20, &data, &dlen, &cause);
	ok(rc == -1 && errno == ENOENT && cause != NULL,
	    "read refuses a snapshot that is a symbolic link: %s", cause);
	free(cause);
	cause = NULL;
	p = store_load(st, "hid", "4000", 1 << 20, NULL, &cause);
	ok(p == NULL && errno == ENOENT && cause != NULL,
	    "load refuses a snapshot that is a folder: %s", cause);
	profile_free(p);
	free(cause);
}

/* A temporary file is always a new one: one that exists is not reused. */
static void
test_tmp_exclusive(const uint8_t *prof, size_t len)
{
	struct store	*st;
	char		 path[512], id[STORE_ID_MAX], *cause = NULL;

	if ((st = store_open(root, &cause)) == NULL) {
		ok(0, "store_open: %s", cause);
		free(cause);
		return;
	}
	snprintf(path, sizeof path, "%s/excl", root);
	mkdir(path, 0750);
	/* The name a fresh store tries first. */
	snprintf(path, sizeof path, "%s/excl/.tmp-%ld-0", root, (long)getpid());
	write_file(path, "foreign", 7);
	ok(put(st, "excl", 1000, prof, len, id) == 0 &&
	    same_file(path, "foreign", 7),
	    "an existing temporary file is neither written nor renamed");
	is_str(ids(st, "excl"), "1000", "and the snapshot is stored");
	store_close(st);
}

static void
test_bad_ids(struct store *st)
{
	const char	*bad[] = { "..", "../x", "%2e%2e", "1/2", "", "abc",
			    "-1", "1-", "01", "1-0", "1-01", "1--1", "1-1-1",
			    "1.pb.gz", "1732712345123.pb.gz", " 1", "1 ",
			    "1\n", "+1", "0x10", "99999999999999999999",
			    "9223372036854775808", "1-4294967296",
			    "1732712345123/../../../etc/passwd",
			    "../../api/1732712345123" };
	const char	*good[] = { "0", "1732712345123", "5-1",
			    "9223372036854775807", "1-4294967295" };
	const char	*badtarget[] = { "", ".", "..", "../x", "a/b",
			    ".hidden", "/etc", "a b", "a%2fb" };
	char		 path[512], id[STORE_ID_MAX], *cause;
	size_t		 i;
	int		 refused;
	void		*data;
	size_t		 dlen;

	refused = 0;
	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		cause = NULL;
		if (store_read(st, "api", bad[i], 1 << 20, &data, &dlen,
		    &cause) == -1 && errno == EINVAL &&
		    !store_id_valid(bad[i]))
			refused++;
		else
			printf("# accepted id \"%s\"\n", bad[i]);
		free(cause);
		cause = NULL;
		if (store_load(st, "api", bad[i], 1 << 20, NULL,
		    &cause) != NULL || errno != EINVAL)
			printf("# loaded id \"%s\"\n", bad[i]);
		else
			refused++;
		free(cause);
	}
	is_int(refused, 2 * (sizeof bad / sizeof bad[0]),
	    "malformed ids (.., ../x, %%2e%%2e, 1/2, empty, letters, "
	    "leading zeros, overflow) refused by store_read and store_load");
	cause = NULL;
	ok(store_read(st, "api", NULL, 1 << 20, &data, &dlen, &cause) == -1 &&
	    errno == EINVAL, "NULL id refused");
	free(cause);
	cause = NULL;
	ok(store_read(st, "api", "../api/1732712345123", 1 << 20, &data,
	    &dlen, &cause) == -1 && strstr(cause, "invalid snapshot id"),
	    "store_read refuses a malformed id");
	free(cause);
	for (i = 0; i < sizeof good / sizeof good[0]; i++)
		ok(store_id_valid(good[i]), "id \"%s\" is well-formed",
		    good[i]);
	cause = NULL;
	ok(store_load(st, "api", "42", 1 << 20, NULL, &cause) == NULL &&
	    errno == ENOENT, "a well-formed id that does not exist is refused");
	free(cause);

	refused = 0;
	for (i = 0; i < sizeof badtarget / sizeof badtarget[0]; i++) {
		cause = NULL;
		if (store_put(st, badtarget[i], 1000, "x", 1, id,
		    &cause) == -1) {
			free(cause);
			cause = NULL;
			if (store_read(st, badtarget[i], "1000", 1 << 20,
			    &data, &dlen, &cause) == -1)
				refused++;
		} else
			printf("# accepted target \"%s\"\n", badtarget[i]);
		free(cause);
	}
	is_int(refused, sizeof badtarget / sizeof badtarget[0],
	    "target names with '/', a leading '.' or other bytes refused");
	snprintf(path, sizeof path, "%s/x", tmpdir);
	ok(!exists(path), "nothing written outside the root");
}

static void
test_retain(struct store *st, const uint8_t *prof, size_t len)
{
	char	id[STORE_ID_MAX];
	int	t;

	for (t = 1000; t <= 5000; t += 1000)
		put(st, "rc", t, prof, len, id);
	is_int(retain(st, "rc", 0, 0, 0, 9000), 0, "no limits: none removed");
	is_int(retain(st, "rc", 3, 0, 0, 9000), 2, "count 3 of 5: 2 removed");
	is_str(ids(st, "rc"), "3000,4000,5000", "count: the newest 3 kept");
	is_int(retain(st, "rc", 1, 0, 0, 9000), 2, "count 1: 2 more removed");
	is_str(ids(st, "rc"), "5000", "count 1: the newest kept");

	for (t = 1000; t <= 5000; t += 1000)
		put(st, "ra", t, prof, len, id);
	is_int(retain(st, "ra", 0, 3000, 0, 6000), 2,
	    "age 3s at 6s: 2 removed");
	is_str(ids(st, "ra"), "3000,4000,5000",
	    "age: one exactly as old as the limit is kept");
	is_int(retain(st, "ra", 0, 1000, 0, 100000), 2,
	    "age: all too old, all but one removed");
	is_str(ids(st, "ra"), "5000", "age: the newest kept however old");

	for (t = 1000; t <= 5000; t += 1000)
		put(st, "rs", t, prof, len, id);
	is_int(retain(st, "rs", 0, 0, 5 * len, 6000), 0,
	    "size: exactly at the limit, none removed");
	is_int(retain(st, "rs", 0, 0, 2 * len + len / 2, 6000), 3,
	    "size 2.5 snapshots: 3 removed");
	is_str(ids(st, "rs"), "4000,5000", "size: the newest 2 kept");
	is_int(retain(st, "rs", 0, 0, 1, 6000), 1,
	    "size below one snapshot: 1 removed");
	is_str(ids(st, "rs"), "5000", "size: the newest kept however large");

	/* Any of the three: each case has a different limit binding. */
	for (t = 1000; t <= 6000; t += 1000)
		put(st, "rx", t, prof, len, id);
	is_int(retain(st, "rx", 5, 4500, 3 * len, 7000), 3,
	    "combined, size strictest: 3 removed");
	is_str(ids(st, "rx"), "4000,5000,6000", "combined: size wins");
	for (t = 1000; t <= 6000; t += 1000)
		put(st, "ry", t, prof, len, id);
	is_int(retain(st, "ry", 5, 2500, 10 * len, 7000), 4,
	    "combined, age strictest: 4 removed");
	is_str(ids(st, "ry"), "5000,6000", "combined: age wins");
	for (t = 1000; t <= 6000; t += 1000)
		put(st, "rz", t, prof, len, id);
	is_int(retain(st, "rz", 2, 4500, 10 * len, 7000), 4,
	    "combined, count strictest: 4 removed");
	is_str(ids(st, "rz"), "5000,6000", "combined: count wins");
	is_int(retain(st, "nosuch", 1, 1, 1, 7000), 0,
	    "retain on a target without a folder removes nothing");
}

/*
 * Tiers: three hours of one-minute snapshots, every one kept for the last
 * hour, one per 10 minutes for the hour before, one per hour before that.
 */
/* Whether data, gzipped pprof, decodes to as many samples as prof. */
static bool
same_samples(const void *data, size_t len, const uint8_t *prof,
    size_t plen)
{
	struct profile	*a, *b;
	char		*cause = NULL;
	bool		 same;

	a = profile_decode(data, len, 1 << 20, NULL, &cause);
	b = profile_decode(prof, plen, 1 << 20, NULL, &cause);
	same = a != NULL && b != NULL && a->nsamples == b->nsamples &&
	    a->ntypes == b->ntypes && a->nsamples > 0 &&
	    memcmp(a->values, b->values, a->nsamples * a->ntypes *
	    sizeof *a->values) == 0;
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
	profile_free(a);
	profile_free(b);
	return same;
}

static void
test_tiers(struct store *st, const char *target, const uint8_t *prof,
    size_t len)
{
	struct store_retention	 r = { .ntiers = 2, .tiers = {
	    { 3600000, 600000 }, { 7200000, 3600000 } } };
	struct store_snapshot	*v = NULL;
	char			 id[STORE_ID_MAX], *cause = NULL;
	int64_t			 t0 = 1699999200000;	/* on the hour */
	size_t			 removed = 0, n = 0, i;
	bool			 all;
	int			 k;

	for (k = 0; k < 180; k++)
		put(st, target, t0 + k * 60000, prof, len, id);
	ok(store_retain(st, target, &r, t0 + 179 * 60000, &removed,
	    &cause) == 0, "tiers: retention runs");
	/*
	 * Kept: minute 0 (the first of its hour), 59 and 60 to 110 by tens
	 * (the first of each 10 minutes over an hour old), and 119 to 179.
	 */
	is_int(removed, 180 - 69, "tiers: 111 of 180 removed");
	if (store_list(st, target, &v, &n, &cause) == -1)
		n = 0;
	all = n == 69 && v[0].time_ms == t0 &&
	    v[1].time_ms == t0 + 59 * 60000;
	for (i = 0; all && i < 6; i++)
		all = v[2 + i].time_ms == t0 + (60 + 10 * (int64_t)i) * 60000;
	for (i = 0; all && i < 61; i++)
		all = v[8 + i].time_ms == t0 + (119 + (int64_t)i) * 60000;
	ok(all, "tiers: the first of each bucket kept, the last hour whole");
	store_list_free(v);
	ok(store_retain(st, target, &r, t0 + 179 * 60000, &removed,
	    &cause) == 0 && removed == 0, "tiers: a second pass removes none");
	/*
	 * An hour on: what was kept in a bucket stays kept; minute 59, now
	 * second in its hour, goes unless an open alert cites it.
	 */
	for (k = 180; k < 240; k++)
		put(st, target, t0 + k * 60000, prof, len, id);
	snprintf(r.pinned[1], sizeof r.pinned[1], "%lld",
	    (long long)(t0 + 59 * 60000));
	ok(store_retain(st, target, &r, t0 + 239 * 60000, &removed,
	    &cause) == 0, "tiers: an hour later");
	if (store_list(st, target, &v, &n, &cause) == -1)
		n = 0;
	all = n > 4 && v[0].time_ms == t0 &&
	    v[1].time_ms == t0 + 59 * 60000 &&
	    v[2].time_ms == t0 + 60 * 60000 &&
	    v[3].time_ms == t0 + 119 * 60000 &&
	    v[n - 1].time_ms == t0 + 239 * 60000;
	ok(all, "tiers: the hours' first snapshots stay, the pinned one, and "
	    "the newest");
	store_list_free(v);
	r.pinned[1][0] = '\0';
	ok(store_retain(st, target, &r, t0 + 239 * 60000, &removed,
	    &cause) == 0 && removed == 1, "tiers: unpinned, it goes");
	if (store_list(st, target, &v, &n, &cause) == -1)
		n = 0;
	ok(n > 2 && v[1].time_ms == t0 + 60 * 60000,
	    "tiers: the hour's first is next");
	/* Every one kept reads back, whichever form thinning went through. */
	for (i = 0, all = n > 0; all && i < n; i++) {
		void	*data;
		size_t	 dlen;

		all = store_read(st, target, v[i].id, 1 << 20, &data, &dlen,
		    &cause) == 0 && same_samples(data, dlen, prof, len);
		if (all)
			free(data);
	}
	ok(all, "tiers: the %zu kept read back", n);
	store_list_free(v);
	free(cause);
}

static void
test_recover(struct store *st, const uint8_t *prof, size_t len)
{
	struct store_recovery	 rec;
	const char		 junk1[] = "\x1f\x8b\x08\x00 truncated gzip";
	const char		 junk2[] = "not a profile either";
	char			 id[STORE_ID_MAX], dir[400], path[512];
	char			*cause = NULL;
	int			 rc;

	put(st, "rec", 1000, prof, len, id);
	put(st, "rec", 2000, prof, len, id);
	snprintf(dir, sizeof dir, "%s/rec", root);
	snprintf(path, sizeof path, "%s/.tmp-1-0", dir);
	write_file(path, prof, len / 3);
	snprintf(path, sizeof path, "%s/.tmp-7-3", dir);
	write_file(path, "", 0);
	snprintf(path, sizeof path, "%s/1500.pb.gz", dir);
	write_file(path, junk1, sizeof junk1 - 1);
	snprintf(path, sizeof path, "%s/notes.txt", dir);
	write_file(path, "keep me", 7);
	is_str(ids(st, "rec"), "1000,1500,2000",
	    "before recovery the corrupt snapshot is listed");

	rc = store_recover(st, "rec", PROFILE_MAX_INFLATED, &rec, &cause);
	ok(rc == 0, "recovery runs");
	is_int(rec.kept, 2, "recovery keeps the two good snapshots");
	is_int(rec.tmp_removed, 2, "recovery removes two temporary files");
	is_int(rec.quarantined, 1, "recovery quarantines the corrupt one");
	is_int(rec.ignored, 1, "recovery ignores the stranger");
	ok(rec.first_cause != NULL && strstr(rec.first_cause, "1500.pb.gz"),
	    "the cause names the file (%s)", rec.first_cause);
	store_recovery_clear(&rec);
	is_int(count_prefix(dir, ".tmp-"), 0, "no temporary file left");
	is_str(ids(st, "rec"), "1000,2000", "good snapshots still listed");
	snprintf(path, sizeof path, "%s/quarantine/1500.pb.gz", dir);
	ok(same_file(path, junk1, sizeof junk1 - 1),
	    "corrupt snapshot set aside in quarantine/, unchanged");
	snprintf(path, sizeof path, "%s/notes.txt", dir);
	ok(exists(path), "unknown files are left alone");

	snprintf(path, sizeof path, "%s/1500.pb.gz", dir);
	write_file(path, junk2, sizeof junk2 - 1);
	rc = store_recover(st, "rec", PROFILE_MAX_INFLATED, &rec, &cause);
	ok(rc == 0 && rec.quarantined == 1 && rec.kept == 2,
	    "a second corrupt snapshot of the same name is quarantined");
	store_recovery_clear(&rec);
	snprintf(path, sizeof path, "%s/quarantine/1500.pb.gz.1", dir);
	ok(same_file(path, junk2, sizeof junk2 - 1),
	    "under a new name, quarantine/1500.pb.gz.1");
	snprintf(path, sizeof path, "%s/quarantine/1500.pb.gz", dir);
	ok(same_file(path, junk1, sizeof junk1 - 1),
	    "the first quarantined file is not replaced");

	rc = store_recover(st, "rec", PROFILE_MAX_INFLATED, &rec, &cause);
	ok(rc == 0 && rec.kept == 2 && rec.quarantined == 0 &&
	    rec.tmp_removed == 0 && rec.first_cause == NULL,
	    "recovery of a sound folder changes nothing");
	store_recovery_clear(&rec);

	put(st, "small", 1000, prof, len, id);
	rc = store_recover(st, "small", len - 1, &rec, &cause);
	ok(rc == 0 && rec.quarantined == 1 && rec.kept == 0 &&
	    rec.first_cause != NULL && strstr(rec.first_cause, "exceeds"),
	    "a snapshot over the size limit is set aside");
	store_recovery_clear(&rec);

	rc = store_recover(st, "nosuch", PROFILE_MAX_INFLATED, &rec, &cause);
	ok(rc == 0 && rec.kept == 0 && rec.quarantined == 0,
	    "recovery of a target without a folder does nothing");
	store_recovery_clear(&rec);
}

/*
 * A write past RLIMIT_FSIZE. heapwatchd ignores SIGXFSZ; without that the
 * signal would kill this test instead of write() failing with EFBIG.
 */
static void
test_efbig(struct store *st)
{
	struct rlimit	 old, small;
	char		 dir[400], id[STORE_ID_MAX], big[8192], *cause = NULL;
	int		 rc;

	signal(SIGXFSZ, SIG_IGN);
	memset(big, 'x', sizeof big);
	if (getrlimit(RLIMIT_FSIZE, &old) == -1) {
		ok(0, "getrlimit: %s", strerror(errno));
		return;
	}
	small = old;
	small.rlim_cur = 1024;
	if (setrlimit(RLIMIT_FSIZE, &small) == -1) {
		ok(0, "setrlimit: %s", strerror(errno));
		return;
	}
	rc = store_put(st, "big", 1000, big, sizeof big, id, &cause);
	setrlimit(RLIMIT_FSIZE, &old);
	ok(rc == -1, "a write past RLIMIT_FSIZE fails");
	ok(cause != NULL && strstr(cause, strerror(EFBIG)) != NULL,
	    "its cause says EFBIG (%s)", cause);
	free(cause);
	is_str(ids(st, "big"), "", "no snapshot is listed after it");
	snprintf(dir, sizeof dir, "%s/big", root);
	is_int(count_prefix(dir, ".tmp-"), 0, "no temporary file is left");
	ok(put(st, "big", 2000, big, sizeof big, id) == 0,
	    "the same write succeeds once the limit is lifted");
}

/*
 * store_put_retain() of len bytes keeping the newest keep, through *cache;
 * how many it removed, or -1. The new snapshot's id into id and the put's
 * counts into *out (its bytes 0 on a failure), when given.
 */
static int
put_with(struct store *st, struct store_cache **cache, const char *target,
    int64_t ms, const void *data, size_t len, size_t keep, char *id,
    struct store_put *out)
{
	struct store_retention	 r = { .snapshots = keep };
	struct store_put	 put;
	char			*cause = NULL;
	int			 rc;

	memset(&put, 0, sizeof put);
	put.keep = &r;
	put.cache = *cache;
	rc = store_put_retain(st, target, ms, data, len, &put, &cause);
	*cache = put.cache;
	if (rc == -1 || put.retain_cause != NULL) {
		printf("# put %s %lld: %s\n", target, (long long)ms,
		    rc == -1 ? cause : put.retain_cause);
		rc = -1;
	} else if (id != NULL)
		snprintf(id, STORE_ID_MAX, "%s", put.id);
	free(cause);
	free(put.retain_cause);
	put.retain_cause = NULL;
	put.keep = NULL;
	if (rc == -1)
		put.bytes = 0;
	if (out != NULL)
		*out = put;
	return rc == -1 ? -1 : (int)put.removed;
}

/* put_with(), without the bytes. */
static int
put_bytes(struct store *st, struct store_cache **cache, const char *target,
    int64_t ms, const void *data, size_t len, size_t keep, char *id)
{
	return put_with(st, cache, target, ms, data, len, keep, id, NULL);
}

/* The same of a string, one cache a target, as heapwatchd keeps. */
static int
put_keep(struct store *st, const char *target, int64_t ms, const char *data,
    size_t keep, char *id)
{
	static struct store_cache	*cache;
	static char			 last[64];

	if (strcmp(last, target) != 0) {
		store_cache_free(cache);
		cache = NULL;
		snprintf(last, sizeof last, "%s", target);
	}
	return put_bytes(st, &cache, target, ms, data, strlen(data), keep, id);
}

/* The inode of a target's snapshot ms, or of its spare; 0 when missing. */
static ino_t
inode_of(const char *target, int64_t ms)
{
	struct stat	sb;
	char		path[400];

	if (ms < 0)
		snprintf(path, sizeof path, "%s/%s/%s", root, target,
		    STORE_SPARE);
	else
		snprintf(path, sizeof path, "%s/%s/%lld%s", root, target,
		    (long long)ms, STORE_SUFFIX);
	return lstat(path, &sb) == 0 ? sb.st_ino : 0;
}

static bool
snapshot_holds(const char *target, int64_t ms, const char *data)
{
	char	path[400];

	snprintf(path, sizeof path, "%s/%s/%lld%s", root, target,
	    (long long)ms, STORE_SUFFIX);
	return same_file(path, data, strlen(data));
}

/*
 * The first snapshot that retention drops becomes the spare, whose file
 * the next snapshot rewrites; never while anyone has it open or it has
 * another link, so that no reader sees a file change.
 */
static void
test_spare(struct store *st)
{
	struct store_recovery rec;
	struct stat	 sb, held;
	const char	*c = "the third, shorter";
	char		*cause = NULL;
	char		 id[STORE_ID_MAX], path[400], spare[400], buf[64];
	ino_t		 first, second;
	ssize_t		 n;
	int		 fd, spfd;

	snprintf(spare, sizeof spare, "%s/spare/%s", root, STORE_SPARE);
	ok(put_keep(st, "spare", 1000, "the first snapshot's bytes", 1,
	    id) == 0, "a first snapshot");
	first = inode_of("spare", 1000);
	ok(put_keep(st, "spare", 2000, "the second snapshot's bytes", 1,
	    id) == 1, "a second drops the first");
	second = inode_of("spare", 2000);
	is_str(ids(st, "spare"), "2000", "which is no longer listed");
	ok(first != 0 && inode_of("spare", -1) == first &&
	    same_file(spare, "the first snapshot's bytes", 26),
	    "but kept whole as the spare");

	/* Held by path only, which takes no lease: its number stays. */
	spfd = open(spare, O_PATH | O_CLOEXEC);
	ok(put_keep(st, "spare", 3000, c, 1, id) == 1 &&
	    strcmp(id, "3000") == 0, "a third snapshot");
	snprintf(path, sizeof path, "%s/spare/3000%s", root, STORE_SUFFIX);
	ok(spfd != -1 && fstat(spfd, &held) == 0 && lstat(path, &sb) == 0 &&
	    held.st_ino == sb.st_ino && held.st_dev == sb.st_dev &&
	    sb.st_ino == first, "takes over the spare's file");
	if (spfd != -1)
		close(spfd);
	ok(snapshot_holds("spare", 3000, c), "with its own bytes only, "
	    "the longer old ones cut");
	ok(inode_of("spare", -1) == second, "the second is the spare now");
	is_str(ids(st, "spare"), "3000", "one snapshot is listed");

	/* A reader of the third keeps reading it when it is dropped. */
	snprintf(path, sizeof path, "%s/spare/3000%s", root, STORE_SUFFIX);
	fd = open(path, O_RDONLY);
	ok(fd != -1 && put_keep(st, "spare", 4000, "the fourth", 1, id) == 1 &&
	    inode_of("spare", 4000) == second && inode_of("spare", -1) == first,
	    "the third, open, becomes the spare");
	ok(put_keep(st, "spare", 5000, "the fifth snapshot's bytes", 1,
	    id) == 1 && inode_of("spare", 5000) != first,
	    "a spare open elsewhere is not rewritten");
	ok(snapshot_holds("spare", 5000, "the fifth snapshot's bytes"),
	    "the fifth is a file of its own");
	memset(buf, 0, sizeof buf);
	n = fd == -1 ? -1 : pread(fd, buf, sizeof buf - 1, 0);
	ok(n == (ssize_t)strlen(c) && strcmp(buf, c) == 0,
	    "the reader still reads the third whole");
	ok(fstat(fd, &sb) == 0 && sb.st_nlink == 0,
	    "and the store let go of it");
	if (fd != -1)
		close(fd);

	/* A spare with another link is left to it. */
	snprintf(path, sizeof path, "%s/linked", tmpdir);
	ok(inode_of("spare", -1) == second && same_file(spare, "the fourth", 10),
	    "the fourth is the spare");
	ok(link(spare, path) == 0, "linked elsewhere");
	ok(put_keep(st, "spare", 6000, "the sixth", 1, id) == 1 &&
	    inode_of("spare", 6000) != second,
	    "a spare with another link is not rewritten");
	ok(same_file(path, "the fourth", 10), "the other link keeps its bytes");
	unlink(path);

	/* At start-up a spare is removed: its name may not be on disk. */
	memset(&rec, 0, sizeof rec);
	ok(exists(spare) && store_recover(st, "spare", 1 << 20, &rec,
	    &cause) == 0 && !exists(spare) && rec.tmp_removed == 0,
	    "recovery removes the spare, not counted as a leftover");
	store_recovery_clear(&rec);
	free(cause);
	cause = NULL;

	/* Plain retention makes no spare: nothing would sync it in time. */
	ok(put(st, "nospare", 1000, "a", 1, id) == 0 &&
	    put(st, "nospare", 2000, "b", 1, id) == 0 &&
	    retain(st, "nospare", 1, 0, 0, 2000) == 1, "store_retain drops one");
	snprintf(path, sizeof path, "%s/nospare/%s", root, STORE_SPARE);
	ok(!exists(path), "and keeps no spare");
}

/* Counts the failures a deferred sync reports, and the syncs after. */
struct told {
	int	failed;
	int	recovered;
};

static void
sync_failed(int error, void *arg)
{
	struct told	*t = arg;

	if (error != 0)
		__atomic_add_fetch(&t->failed, 1, __ATOMIC_SEQ_CST);
	else
		__atomic_add_fetch(&t->recovered, 1, __ATOMIC_SEQ_CST);
}

static void
nap_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

static bool
snapshot_exists(const char *target, int64_t ms)
{
	return inode_of(target, ms) != 0;
}

/*
 * Tick the store, as heapwatchd's loop does, every 20 ms until snapshot
 * ms of target is gone, for WAIT_MAX_S at most: whether it went.
 */
static bool
dropped_in_time(struct store *st, const char *target, int64_t ms)
{
	time_t	 end = time(NULL) + WAIT_MAX_S;
	char	*cause = NULL;

	while (snapshot_exists(target, ms) && time(NULL) < end) {
		nap_ms(20);
		if (store_tick(st, &cause) == -1) {
			printf("# tick: %s\n", cause);
			free(cause);
			return false;
		}
	}
	return !snapshot_exists(target, ms);
}

/* How many snapshot files a target's folder holds, listed or not. */
static int
files(const char *target)
{
	DIR		*d;
	struct dirent	*de;
	char		 dir[400];
	size_t		 len, sl = strlen(STORE_SUFFIX);
	int		 n = 0;

	snprintf(dir, sizeof dir, "%s/%s", root, target);
	if ((d = opendir(dir)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		len = strlen(de->d_name);
		if (len > sl && strcmp(de->d_name + len - sl,
		    STORE_SUFFIX) == 0)
			n++;
	}
	closedir(d);
	return n;
}

/* Wait until syncfs() was called n times in all, for WAIT_MAX_S at most. */
static bool
synced_in_time(int n)
{
	time_t	end = time(NULL) + WAIT_MAX_S;

	while (__atomic_load_n(&syncs, __ATOMIC_SEQ_CST) < n &&
	    time(NULL) < end)
		nap_ms(20);
	return __atomic_load_n(&syncs, __ATOMIC_SEQ_CST) >= n;
}

/*
 * How many snapshots a target has: through st, or a store of its own
 * (no syncer) when NULL; -1 on error.
 */
static int
listed(struct store *st, const char *target)
{
	struct store_snapshot	*v;
	struct store		*own = NULL;
	size_t			 n;
	char			*cause = NULL;

	if (st == NULL && (st = own = store_open(root, &cause)) == NULL) {
		printf("# %s\n", cause);
		free(cause);
		return -1;
	}
	if (store_list(st, target, &v, &n, &cause) == -1) {
		printf("# %s\n", cause);
		free(cause);
		store_close(own);
		return -1;
	}
	store_list_free(v);
	store_close(own);
	return (int)n;
}

static struct store *
deferred_store(unsigned int period_ms, struct told *told)
{
	struct store	*st;
	char		*cause = NULL;

	if ((st = store_open(root, &cause)) == NULL) {
		ok(0, "a second store on the root: %s", cause);
		free(cause);
		return NULL;
	}
	if (store_defer_sync(st, period_ms, sync_failed, told) == -1) {
		ok(0, "the syncs deferred to a thread");
		store_close(st);
		return NULL;
	}
	return st;
}

/*
 * With the syncs deferred to the store's syncer, as heapwatchd asks, a put
 * still leaves each snapshot whole under its name; the snapshot it
 * displaces is no longer listed but stays, read whole, until the syncer
 * has synced the put, then the tick makes it the spare, rewritten cut to
 * the new bytes; closing the store makes the last sync and the drops it
 * releases.
 */
static void
test_deferred(void)
{
	struct store	*st;
	struct told	 told = { 0, 0 };
	const char	*c = "the third, shorter";
	char		 id[STORE_ID_MAX], *cause = NULL, path[400];
	ino_t		 first;
	void		*data;
	size_t		 len;

	if ((st = deferred_store(20, &told)) == NULL)
		return;
	ok(put_keep(st, "deferred", 1000, "the first snapshot's bytes", 1,
	    id) == 0 && snapshot_holds("deferred", 1000,
	    "the first snapshot's bytes"), "a first snapshot, whole");
	first = inode_of("deferred", 1000);
	is_int(put_keep(st, "deferred", 2000, "the second snapshot's bytes", 1,
	    id), 1, "a second drops the first, counted at once");
	ok(inode_of("deferred", 1000) == first && inode_of("deferred",
	    -1) == 0, "but its file stays, not yet the spare");
	is_str(ids(st, "deferred"), "2000", "not listed");
	ok(store_read(st, "deferred", "1000", 1024, &data, &len,
	    &cause) == 0 && len == 26, "but read whole");
	free(data);
	free(cause);
	cause = NULL;
	ok(dropped_in_time(st, "deferred", 1000),
	    "the syncer has synced: the tick drops the first");
	ok(inode_of("deferred", -1) == first, "into the spare");
	/* After the file system's clock has moved on, as test_cache says. */
	nap_ms(20);
	snprintf(path, sizeof path, "%s/deferred/1500%s", root, STORE_SUFFIX);
	write_file(path, "by hand", 7);
	is_int(put_keep(st, "deferred", 3000, c, 1, id), 2,
	    "the third drops the second, and one added by hand after the "
	    "tick");
	ok(inode_of("deferred", 3000) == first &&
	    snapshot_holds("deferred", 3000, c),
	    "and rewrites the spare, its longer old bytes cut");
	ok(ids(st, "deferred") != NULL && strcmp(ids(st, "deferred"),
	    "3000") == 0 && snapshot_exists("deferred", 2000),
	    "the second waits, not listed");
	store_close(st);
	ok(!snapshot_exists("deferred", 2000) &&
	    snapshot_holds("deferred", 3000, c),
	    "the close syncs and drops it");
	ok(told.failed == 0, "no sync failed (%d)", told.failed);
}

/*
 * Before the syncer has synced, nothing a put displaced is dropped, by
 * the puts or retention that follow; retention does not count those
 * waiting again; the close makes the sync and drops them.
 */
static void
test_deferred_wait(void)
{
	struct store	*st;
	struct told	 told = { 0, 0 };
	char		 id[STORE_ID_MAX];
	void		*data;
	size_t		 len;
	char		*cause = NULL;

	/* A period longer than the test: only the close syncs. */
	__atomic_store_n(&syncs, 0, __ATOMIC_SEQ_CST);
	if ((st = deferred_store(3600 * 1000, &told)) == NULL)
		return;
	ok(put_keep(st, "waits", 1000, "one", 1, id) == 0 &&
	    put_keep(st, "waits", 2000, "two", 1, id) == 1 &&
	    put_keep(st, "waits", 3000, "three", 1, id) == 1,
	    "three snapshots kept to one: one dropped a put");
	is_int(retain(st, "waits", 1, 0, 0, 3000), 0,
	    "retention finds nothing more to drop");
	is_int(files("waits"), 3, "unsynced: the dropped stay");
	is_str(ids(st, "waits"), "3000", "not listed");
	ok(store_tick(st, &cause) == 0 && files("waits") == 3,
	    "nor dropped by the tick");
	free(cause);
	cause = NULL;
	ok(store_read(st, "waits", "1000", 1024, &data, &len, &cause) == 0 &&
	    len == 3 && memcmp(data, "one", 3) == 0, "and read whole");
	free(data);
	free(cause);
	is_int(__atomic_load_n(&syncs, __ATOMIC_SEQ_CST), 0,
	    "the syncer has not synced");
	store_close(st);
	ok(__atomic_load_n(&syncs, __ATOMIC_SEQ_CST) == 1 &&
	    !snapshot_exists("waits", 1000) &&
	    !snapshot_exists("waits", 2000) &&
	    snapshot_holds("waits", 3000, "three"),
	    "the close syncs once, then drops both");
	ok(told.failed == 0, "no sync failed (%d)", told.failed);
}

/*
 * A sync that fails releases nothing: the displaced snapshot stays while
 * the syncer tries again, and goes once a sync succeeds.
 */
static void
test_deferred_failing(void)
{
	struct store	*st;
	struct told	 told = { 0, 0 };
	char		 id[STORE_ID_MAX], *cause = NULL;
	int		 n;

	__atomic_store_n(&syncs, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&syncs_fail, 1, __ATOMIC_SEQ_CST);
	if ((st = deferred_store(20, &told)) == NULL) {
		__atomic_store_n(&syncs_fail, 0, __ATOMIC_SEQ_CST);
		return;
	}
	ok(put_keep(st, "failing", 1000, "one", 1, id) == 0 &&
	    put_keep(st, "failing", 2000, "two", 1, id) == 1,
	    "a put drops one while the syncs fail");
	/* Of two syncs ended after the put, the second began after it. */
	n = __atomic_load_n(&syncs, __ATOMIC_SEQ_CST);
	ok(synced_in_time(n + 2), "the syncer tries again without a put");
	ok(retain(st, "failing", 1, 0, 0, 2000) == 0 &&
	    snapshot_exists("failing", 1000),
	    "a failed sync releases nothing: the first stays");
	n = __atomic_load_n(&told.failed, __ATOMIC_SEQ_CST);
	ok(n >= 2, "each failure is told (%d)", n);
	is_int(__atomic_load_n(&told.recovered, __ATOMIC_SEQ_CST), 0,
	    "and no recovery yet");
	ok(store_tick(st, &cause) == 0 && snapshot_exists("failing", 1000),
	    "nor does the tick");
	free(cause);
	cause = NULL;
	__atomic_store_n(&syncs_fail, 0, __ATOMIC_SEQ_CST);
	for (n = 0; n < WAIT_MAX_S * 50 &&
	    __atomic_load_n(&told.recovered, __ATOMIC_SEQ_CST) == 0; n++)
		nap_ms(20);
	is_int(__atomic_load_n(&told.recovered, __ATOMIC_SEQ_CST), 1,
	    "a sync succeeds, and the recovery is told");
	/*
	 * The second's bytes met a failed sync: it may be lost, so the
	 * first, which it was to replace, stays for retention to choose
	 * again.
	 */
	ok(store_tick(st, &cause) == 0 && store_tick(st, &cause) == 0 &&
	    snapshot_exists("failing", 1000), "a sync after a failed one "
	    "releases nothing: the first stays");
	free(cause);
	cause = NULL;
	ok(put_keep(st, "failing", 3000, "three", 1, id) == 2,
	    "the next put chooses both older ones again");
	ok(dropped_in_time(st, "failing", 1000) &&
	    dropped_in_time(st, "failing", 2000),
	    "and its sync drops them");
	is_int(__atomic_load_n(&told.recovered, __ATOMIC_SEQ_CST), 1,
	    "the recovery is told once");
	store_close(st);
	ok(snapshot_holds("failing", 3000, "three"), "the third stays");
}

/*
 * When the syncs keep failing, a target's queue of drops is bounded: the
 * oldest go unsynced, said once; a close whose last sync fails drops
 * nothing it did not release.
 */
static void
test_deferred_bound(void)
{
	struct store		*st;
	struct store_retention	 r = { .snapshots = 1 };
	struct store_put	 put;
	struct told		 told = { 0, 0 };
	char			*cause = NULL;
	int			 i, said = 0, removed = 0, bad = 0;

	__atomic_store_n(&syncs, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&syncs_fail, 1, __ATOMIC_SEQ_CST);
	if ((st = deferred_store(3600 * 1000, &told)) == NULL) {
		__atomic_store_n(&syncs_fail, 0, __ATOMIC_SEQ_CST);
		return;
	}
	memset(&put, 0, sizeof put);
	for (i = 1; i <= 50; i++) {
		put.keep = &r;
		put.removed = 0;
		if (store_put_retain(st, "bound", i * 1000, "bytes", 5, &put,
		    &cause) == -1) {
			printf("# %s\n", cause);
			free(cause);
			cause = NULL;
			bad++;
		}
		removed += (int)put.removed;
		if (put.retain_cause != NULL) {
			printf("# %s\n", put.retain_cause);
			said++;
		}
		free(put.retain_cause);
		put.retain_cause = NULL;
	}
	store_cache_free(put.cache);
	ok(bad == 0 && removed == 49, "50 puts kept to one: 49 dropped (%d)",
	    removed);
	is_int(files("bound"), 1 + STORE_PENDING_MAX_WANT,
	    "the newest and the last 32 dropped stay");
	is_int(listed(st, "bound"), 1, "one listed");
	ok(!snapshot_exists("bound", 17000) && snapshot_exists("bound",
	    18000), "the oldest went unsynced");
	is_int(said, 1, "which a put says once");
	store_close(st);
	is_int(__atomic_load_n(&told.failed, __ATOMIC_SEQ_CST), 1,
	    "the close's sync fails too");
	is_int(files("bound"), 1 + STORE_PENDING_MAX_WANT,
	    "and drops none of those waiting");
	is_int(listed(NULL, "bound"), 1 + STORE_PENDING_MAX_WANT,
	    "listed again by the next start, for retention to drop");
	__atomic_store_n(&syncs_fail, 0, __ATOMIC_SEQ_CST);
}

/*
 * Retention lowered, as by a reload: a write drops many at once, of which
 * only the newest 32 wait for the sync, the older ones not displaced by
 * an unsynced write; nothing is said.
 */
static void
test_deferred_lowered(void)
{
	struct store		*st;
	struct store_retention	 r = { .snapshots = 100 };
	struct store_put	 put;
	struct told		 told = { 0, 0 };
	char			*cause = NULL;
	int			 i, bad = 0;

	/* A period longer than the test: only the close syncs. */
	if ((st = deferred_store(3600 * 1000, &told)) == NULL)
		return;
	memset(&put, 0, sizeof put);
	put.keep = &r;
	for (i = 1; i <= 41; i++) {
		if (i == 41)
			r.snapshots = 1;
		if (store_put_retain(st, "lowered", i * 1000, "bytes", 5, &put,
		    &cause) == -1 || put.retain_cause != NULL) {
			printf("# %s\n", cause != NULL ? cause :
			    put.retain_cause);
			bad++;
		}
		free(cause);
		cause = NULL;
		free(put.retain_cause);
		put.retain_cause = NULL;
	}
	store_cache_free(put.cache);
	ok(bad == 0 && put.removed == 40,
	    "40 kept, then one: 40 dropped at once, nothing said (%zu)",
	    put.removed);
	is_int(files("lowered"), 1 + STORE_PENDING_MAX_WANT,
	    "the newest 32 dropped wait, the older went");
	ok(snapshot_exists("lowered", 9000) && !snapshot_exists("lowered",
	    8000), "the newest of them wait");
	store_close(st);
	is_int(files("lowered"), 1, "the close syncs and drops them");
}

/* A put of prof at ms kept to keep, with a cache of its own. */
static int
put_kept(struct store *st, const char *target, int64_t ms, const void *prof,
    size_t len, size_t keep)
{
	struct store_cache	*cache = NULL;
	int			 rc;

	rc = put_bytes(st, &cache, target, ms, prof, len, keep, NULL);
	store_cache_free(cache);
	return rc;
}

/*
 * A target's database and its log as a checkpoint leaves them: the
 * database's size and modification time, which a checkpoint changes as
 * it copies the log into it (syncing both), and the log's size and
 * header (checkpoint count, first salt), which change when the log is
 * started again or cut.
 */
struct wal_state {
	off_t		 size;
	uint8_t		 hdr[8];
	struct stat	 db;
};

static void
wal_state(const char *target, struct wal_state *w)
{
	char	path[400];
	int	fd;

	memset(w, 0, sizeof *w);
	snprintf(path, sizeof path, "%s/%s/%s", root, target, PACKSTORE_FILE);
	if (stat(path, &w->db) == -1)
		return;
	snprintf(path, sizeof path, "%s/%s/%s-wal", root, target,
	    PACKSTORE_FILE);
	if ((fd = open(path, O_RDONLY)) == -1)
		return;
	w->size = lseek(fd, 0, SEEK_END);
	if (pread(fd, w->hdr, sizeof w->hdr, 12) != (ssize_t)sizeof w->hdr)
		memset(w->hdr, 0, sizeof w->hdr);
	close(fd);
}

/*
 * Whether only the log changed from a to b, growing: no checkpoint in
 * between, which would have written the database.
 */
static bool
wal_grew(const struct wal_state *a, const struct wal_state *b)
{
	return a->size > 0 && b->size > a->size &&
	    memcmp(a->hdr, b->hdr, sizeof a->hdr) == 0 &&
	    a->db.st_size == b->db.st_size &&
	    a->db.st_mtim.tv_sec == b->db.st_mtim.tv_sec &&
	    a->db.st_mtim.tv_nsec == b->db.st_mtim.tv_nsec;
}

/*
 * Packed, with the syncs deferred: a put commits without a sync (the
 * database's synchronous=NORMAL) and marks the syncer, which takes the
 * commit to the disk; a file it displaces waits for that sync, as a
 * file's put would have it wait, and a packed snapshot goes at once,
 * since a power loss that took the put takes the drop committed after it.
 */
static void
test_deferred_packed(const uint8_t *prof, size_t len)
{
	struct store	*st;
	struct told	 told = { 0, 0 };
	struct wal_state wa, wb;
	char		 id[STORE_ID_MAX], *cause = NULL;
	void		*data = NULL;
	size_t		 n;
	int		 before, rc, i, synced, dropped = 0;

	/* A period longer than the test: only the close syncs. */
	__atomic_store_n(&syncs, 0, __ATOMIC_SEQ_CST);
	if ((st = deferred_store(3600 * 1000, &told)) == NULL)
		return;
	ok(put_keep(st, "defpack", 1000, "a file", 1, id) == 0,
	    "a snapshot as a file");
	store_set_format(st, STORE_PACK);
	ok(put_kept(st, "defpack", 2000, prof, len, 1) == 1,
	    "a packed put drops it");
	is_int(files("defpack"), 1, "but its file waits for the sync");
	ok(store_read(st, "defpack", "1000", 1024, &data, &n, &cause) == 0 &&
	    n == 6, "read whole");
	free(data);
	data = NULL;
	free(cause);
	cause = NULL;
	/*
	 * Every few puts, SQLite copies the log into the database, which
	 * syncs: the first put that it leaves alone is the one counted.
	 */
	for (i = 0, synced = -1; i < 8 && synced == -1; i++) {
		wal_state("defpack", &wa);
		before = __atomic_load_n(&fsyncs, __ATOMIC_SEQ_CST);
		dropped = put_kept(st, "defpack", 3000 + i, prof, len, 1);
		wal_state("defpack", &wb);
		if (dropped != 1)
			break;
		if (wal_grew(&wa, &wb))
			synced = __atomic_load_n(&fsyncs, __ATOMIC_SEQ_CST) -
			    before;
	}
	ok(dropped == 1, "the next packed puts drop the one before");
	is_int(synced, 0, "without a sync (put %d)", i);
	rc = store_read(st, "defpack", "2000", 1 << 20, &data, &n, &cause);
	ok(rc == -1 && errno == ENOENT, "at once: %s", cause);
	free(cause);
	cause = NULL;
	is_int(__atomic_load_n(&syncs, __ATOMIC_SEQ_CST), 0,
	    "the syncer has not synced");
	store_close(st);
	ok(__atomic_load_n(&syncs, __ATOMIC_SEQ_CST) == 1 &&
	    files("defpack") == 0 && listed(NULL, "defpack") == 1,
	    "the close syncs, then drops the file");

	/* A packed put alone has the syncer sync. */
	if ((st = deferred_store(20, &told)) == NULL)
		return;
	store_set_format(st, STORE_PACK);
	before = __atomic_load_n(&syncs, __ATOMIC_SEQ_CST);
	ok(put_kept(st, "defpack", 4000, prof, len, 1) == 1 &&
	    synced_in_time(before + 1), "a packed put is synced in time");
	store_close(st);
	ok(told.failed == 0, "no sync failed (%d)", told.failed);
}

/*
 * A packed put in a folder that keeps a file too: the packed snapshot it
 * displaces waits for the sync as well, since the file, unsynced, may be
 * what displaced it, and is not in the database's log.
 */
static void
test_deferred_mixed(const uint8_t *prof, size_t len)
{
	struct store	*st;
	struct told	 told = { 0, 0 };
	char		*cause = NULL;
	void		*data = NULL;
	size_t		 n;
	int		 rc;

	/* A period longer than the test: only the close syncs. */
	if ((st = deferred_store(3600 * 1000, &told)) == NULL)
		return;
	store_set_format(st, STORE_PACK);
	ok(put_kept(st, "mixed", 1000, prof, len, 2) == 0,
	    "a packed snapshot");
	store_set_format(st, STORE_PPROF);
	ok(put_kept(st, "mixed", 2000, prof, len, 2) == 0,
	    "a file beside it, not synced");
	store_set_format(st, STORE_PACK);
	ok(put_kept(st, "mixed", 3000, prof, len, 2) == 1,
	    "a packed put drops the first");
	is_str(ids(st, "mixed"), "2000,3000", "which is no longer listed");
	rc = store_read(st, "mixed", "1000", 1 << 20, &data, &n, &cause);
	ok(rc == 0 && same_samples(data, n, prof, len),
	    "but waits for the sync, read whole: %s",
	    cause == NULL ? "yes" : cause);
	free(data);
	free(cause);
	store_close(st);
	is_int(listed(NULL, "mixed"), 2, "the close syncs and drops it");
	ok(told.failed == 0, "no sync failed (%d)", told.failed);
}

/* Overwrite the stored body of a target's packed snapshot ms. */
static bool
damage_body(const char *target, int64_t ms)
{
	sqlite3	*db;
	char	 path[400], sql[200];
	bool	 done;

	snprintf(path, sizeof path, "%s/%s/%s", root, target, PACKSTORE_FILE);
	snprintf(sql, sizeof sql, "UPDATE snap SET body = substr(body, 1, 6)"
	    " || x'00112233' || substr(body, 11) WHERE time_ms = %lld",
	    (long long)ms);
	done = sqlite3_open(path, &db) == SQLITE_OK &&
	    sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK &&
	    sqlite3_changes(db) == 1;
	sqlite3_close(db);
	return done;
}

/*
 * A put says how many snapshots its target lists after it, which is
 * what heapwatchd's count of them is set to. In a folder with a file
 * beside its database, the packed drops wait for the sync, and the tick
 * makes them: when one finds a segment damaged and sets snapshots aside,
 * no put's count of removed ones holds those, but the next put's count
 * of listed ones has them out.
 */
static void
test_deferred_aside(const uint8_t *prof, size_t len)
{
	struct store		*st;
	struct store_cache	*cache = NULL;
	struct store_put	 put;
	struct told		 told = { 0, 0 };
	char			*cause = NULL;
	const int64_t		 t0 = 2000, step = 1000;
	const int		 npacked = PACKSTORE_SEGMENT + 8;
	time_t			 end;
	int			 k, bad = 0, rc;

	if ((st = deferred_store(20, &told)) == NULL)
		return;
	ok(put_kept(st, "aside", 1000, prof, len, 1000) == 0,
	    "a snapshot as a file");
	store_set_format(st, STORE_PACK);
	for (k = 0; k < npacked; k++)
		if (put_with(st, &cache, "aside", t0 + k * step, prof, len,
		    1000, NULL, &put) == -1 || put.listed != (size_t)k + 2)
			bad++;
	ok(bad == 0, "%d packed beside it, each put counting the listed",
	    npacked);
	store_cache_free(cache);
	cache = NULL;
	store_close(st);
	ok(damage_body("aside", t0 + 5 * step),
	    "the sixth packed one's body damaged once stored");

	if ((st = deferred_store(20, &told)) == NULL)
		return;
	store_set_format(st, STORE_PACK);
	/*
	 * The file and the oldest 40 go, the sixth among them. The queue
	 * holds STORE_PENDING_MAX (32): the put makes the oldest 9 at once,
	 * which leave the first segment more than half full, so that it is
	 * not coded again yet; the tick makes the other 32, which leave it
	 * half empty, and it is coded again then.
	 */
	rc = put_with(st, &cache, "aside", t0 + npacked * step, prof, len,
	    npacked + 1 - 40, NULL, &put);
	ok(rc == 41 && put.listed == (size_t)npacked - 39,
	    "retention chooses 41, %d listed after (%zu, %zu)", npacked - 39,
	    put.removed, put.listed);
	/* The drops wait for the sync; the tick makes them, and says so. */
	end = time(NULL) + WAIT_MAX_S;
	while (cause == NULL && time(NULL) < end) {
		nap_ms(20);
		if (store_tick(st, &cause) == 0 && cause != NULL) {
			free(cause);
			cause = NULL;
		}
	}
	ok(cause != NULL && strstr(cause, "24 snapshots set aside") != NULL,
	    "the tick's drops find the damage: %s",
	    cause == NULL ? "nothing said" : cause);
	free(cause);
	is_int(listed(st, "aside"), npacked - 63, "the first segment's "
	    "later snapshots are no longer listed");
	rc = put_with(st, &cache, "aside", t0 + (npacked + 1) * step, prof,
	    len, npacked + 1 - 40, NULL, &put);
	ok(rc == 0 &&
	    put.listed == (size_t)npacked - 62 &&
	    listed(st, "aside") == npacked - 62,
	    "the next put removes none and counts %d listed (%zu)",
	    npacked - 62, put.listed);
	store_cache_free(cache);
	store_close(st);
	ok(told.failed == 0, "no sync failed (%d)", told.failed);
}

/*
 * Between writes, retention trusts what the last write left in the folder
 * while the folder is unchanged, and reads it again when it changed.
 */
static void
test_cache(struct store *st)
{
	struct stat	 sb;
	struct timespec	 ts[2];
	char		 id[STORE_ID_MAX], path[400], dir[400];
	int		 i, ok_all = 1;

	for (i = 1; i <= 10; i++)
		if (put_keep(st, "cache", i * 1000, "bytes", 3, id) == -1)
			ok_all = 0;
	ok(ok_all, "ten snapshots kept to three");
	is_str(ids(st, "cache"), "8000,9000,10000", "the newest three stay");

	/* One removed by hand: the next write sees three, not four. */
	usleep(20000);
	snprintf(path, sizeof path, "%s/cache/9000%s", root, STORE_SUFFIX);
	ok(unlink(path) == 0, "a snapshot removed by hand");
	ok(put_keep(st, "cache", 11000, "bytes", 3, id) == 0,
	    "the next write removes none");
	is_str(ids(st, "cache"), "8000,10000,11000", "three stay");

	/* One added by hand counts too. */
	usleep(20000);
	snprintf(path, sizeof path, "%s/cache/10500%s", root, STORE_SUFFIX);
	write_file(path, "bytes", 5);
	ok(put_keep(st, "cache", 12000, "bytes", 3, id) == 2,
	    "a snapshot added by hand is counted");
	is_str(ids(st, "cache"), "10500,11000,12000", "three stay");

	/* Even when its modification time is set back, as rsync does. */
	snprintf(dir, sizeof dir, "%s/cache", root);
	snprintf(path, sizeof path, "%s/cache/11000%s", root, STORE_SUFFIX);
	ok(stat(dir, &sb) == 0 && unlink(path) == 0, "one removed by hand");
	ts[0] = sb.st_atim;
	ts[1] = sb.st_mtim;
	ok(utimensat(AT_FDCWD, dir, ts, 0) == 0,
	    "the folder's time set back");
	ok(put_keep(st, "cache", 13000, "bytes", 3, id) == 0,
	    "the next write removes none");
	is_str(ids(st, "cache"), "10500,12000,13000", "three stay");
	for (i = 1; i <= 70; i++)
		if (put_keep(st, "cache", 13000 + i * 1000, "bytes", 3,
		    id) == -1)
			ok_all = 0;
	ok(ok_all, "70 more writes");
	is_str(ids(st, "cache"), "81000,82000,83000", "three stay");
}

/* Append a line to target "series", with RLIMIT_FSIZE at limit if set. */
static int
series_add(struct store *st, const char *line, rlim_t limit, char **cause)
{
	struct rlimit	old, small;
	int		rc;

	getrlimit(RLIMIT_FSIZE, &old);
	small = old;
	if (limit != 0) {
		small.rlim_cur = limit;
		setrlimit(RLIMIT_FSIZE, &small);
	}
	rc = store_series_append(st, "series", line, cause);
	setrlimit(RLIMIT_FSIZE, &old);
	return rc;
}

static void
test_series(struct store *st)
{
	const char	 want[] = "1 10\n2 20\n4 40\n";
	char		 path[400], *cause = NULL;
	FILE		*f;

	ok(series_add(st, "1 10", 0, &cause) == 0 &&
	    series_add(st, "2 20", 0, &cause) == 0,
	    "series lines are appended");
	if (store_series_path(st, "series", path, sizeof path) == -1) {
		ok(0, "the series has a path");
		return;
	}
	ok(same_file(path, "1 10\n2 20\n", 10), "one line each");
	/* A crash half-way through a line leaves "3 3" unfinished. */
	if ((f = fopen(path, "a")) != NULL) {
		fputs("3 3", f);
		fclose(f);
	}
	ok(series_add(st, "4 40", 0, &cause) == 0 &&
	    same_file(path, want, sizeof want - 1),
	    "an unfinished line is cut away before the next");
	ok(series_add(st, "5 50", sizeof want + 1, &cause) == -1,
	    "a line past RLIMIT_FSIZE is refused");
	ok(cause != NULL && strstr(cause, strerror(EFBIG)) != NULL,
	    "with EFBIG as its cause (%s)", cause);
	free(cause);
	ok(same_file(path, want, sizeof want - 1),
	    "and what was written of it is cut back");
	ok(store_series_replace(st, "series", "9 90\n", 5, &cause) == 0 &&
	    same_file(path, "9 90\n", 5), "a series is replaced whole");
	snprintf(path, sizeof path, "%s/series", root);
	is_int(count_prefix(path, ".tmp-"), 0, "no temporary file is left");
}

/*
 * Try a write as the user nobody, in a child that drops root's privileges:
 * 0 when it is stored, 1 when it fails with the cause in buf, 2 when the
 * privileges could not be dropped.
 */
static int
put_as_nobody(struct store *st, const char *target, char *buf, size_t len)
{
	char	*cause = NULL, id[STORE_ID_MAX];
	ssize_t	 r;
	size_t	 n = 0;
	pid_t	 pid;
	int	 fds[2], status, rc;

	buf[0] = '\0';
	if (pipe(fds) == -1)
		return 2;
	if ((pid = fork()) == -1)
		return 2;
	if (pid == 0) {
		close(fds[0]);
		if (setgroups(0, NULL) == -1 || setgid(65534) == -1 ||
		    setuid(65534) == -1 || geteuid() == 0)
			_exit(2);
		rc = store_put(st, target, 1000, "x", 1, id, &cause);
		if (rc == -1 && write(fds[1], cause, strlen(cause)) == -1)
			_exit(3);
		free(cause);
		_exit(rc == -1 ? 1 : 0);
	}
	close(fds[1]);
	while (n + 1 < len && (r = read(fds[0], buf + n, len - 1 - n)) > 0)
		n += (size_t)r;
	buf[n] = '\0';
	close(fds[0]);
	if (waitpid(pid, &status, 0) == -1 || !WIFEXITED(status))
		return 2;
	return WEXITSTATUS(status);
}

/*
 * Folders the store cannot write in. One that is a regular file fails for
 * everyone. A read-only (0555) folder does not stop root, who is not held
 * to permissions: run as root, the test tries that write in a child that
 * has become nobody, with the root folder opened up for it to reach.
 */
static void
test_unwritable(struct store *st)
{
	char	path[512], id[STORE_ID_MAX], buf[1024], *cause = NULL;
	int	rc;

	snprintf(path, sizeof path, "%s/isfile", root);
	write_file(path, "not a folder", 12);
	rc = store_put(st, "isfile", 1000, "x", 1, id, &cause);
	ok(rc == -1 && cause != NULL && strstr(cause, strerror(ENOTDIR)),
	    "a target folder that is a file fails the write (%s)", cause);
	free(cause);
	cause = NULL;
	ok(same_file(path, "not a folder", 12), "and the file is untouched");

	snprintf(path, sizeof path, "%s/ro", root);
	mkdir(path, 0555);
	chmod(path, 0555);
	if (geteuid() == 0) {
		chmod(root, 0755);
		rc = put_as_nobody(st, "ro", buf, sizeof buf);
		chmod(root, 0750);
	} else {
		rc = store_put(st, "ro", 1000, "x", 1, id, &cause) == -1;
		snprintf(buf, sizeof buf, "%s", cause != NULL ? cause : "");
		free(cause);
	}
	if (rc == 2)
		ok(1, "read-only folder # SKIP cannot drop root's privileges");
	else
		ok(rc == 1 && strstr(buf, strerror(EACCES)) != NULL,
		    "a read-only folder fails the write (%s)", buf);
	chmod(path, 0750);
	is_str(ids(st, "ro"), "", "and leaves nothing in it");
	is_int(count_prefix(path, ".tmp-"), 0, "not even a temporary file");
}

static void
test_targets(void)
{
	struct store	 *st;
	char		**names = NULL, path[512], *cause = NULL, list[256];
	size_t		  n = 0, i;
	const char	 *dirs[] = { "b", "a.b-c_d", ".hidden", STORE_SPOOL,
	    "a" };

	snprintf(path, sizeof path, "%s/root2", tmpdir);
	if ((st = store_open(path, &cause)) == NULL) {
		ok(0, "store_open: %s", cause);
		free(cause);
		return;
	}
	for (i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
		snprintf(path, sizeof path, "%s/root2/%s", tmpdir, dirs[i]);
		mkdir(path, 0750);
	}
	snprintf(path, sizeof path, "%s/root2/file", tmpdir);
	write_file(path, "x", 1);
	snprintf(path, sizeof path, "%s/root2/link", tmpdir);
	if (symlink(tmpdir, path) == -1)
		printf("# symlink: %s\n", strerror(errno));
	ok(store_targets(st, &names, &n, &cause) == 0, "store_targets runs");
	list[0] = '\0';
	for (i = 0; i < n; i++)
		join(list, sizeof list, names[i]);
	is_str(list, "a,a.b-c_d,b",
	    "target folders sorted; files, links, dot-folders and the "
	    "webhooks' spool left out");
	store_targets_free(names, n);
	store_close(st);
}

/*
 * A packed target being read holds its newest snapshot as received: the
 * next read of it gives those bytes; one that retention drops at once
 * (older than the newest, one kept) is not served from there.
 */
static void
test_pack_newest(struct store *st, const uint8_t *prof, size_t len)
{
	struct store_retention	 keep = { .snapshots = 1 };
	struct store_put	 sp = { .keep = &keep };
	char			 id[STORE_ID_MAX], *cause = NULL;
	void			*data = NULL;
	size_t			 n = 0;
	int			 rc;

	store_set_format(st, STORE_PACK);
	rc = put(st, "newest", 1000, prof, len, id) == 0 &&
	    store_read(st, "newest", "1000", 1 << 20, &data, &n, &cause) == 0;
	ok(rc && same_samples(data, n, prof, len) && (n != len ||
	    memcmp(data, prof, len) != 0), "a packed read is pprof made "
	    "again, not the bytes received");
	free(data);
	data = NULL;
	rc = put(st, "newest", 2000, prof, len, id) == 0 &&
	    store_read(st, "newest", "2000", 1 << 20, &data, &n, &cause) == 0;
	ok(rc && n == len && memcmp(data, prof, len) == 0,
	    "the newest put after a read is served as received");
	free(data);
	data = NULL;
	ok(store_put_retain(st, "newest", 1500, prof, len, &sp, &cause) == 0 &&
	    sp.removed == 2 && strcmp(sp.id, "1500") == 0,
	    "one older than the newest is put and dropped at once, with the oldest");
	store_cache_free(sp.cache);
	free(sp.retain_cause);
	rc = store_read(st, "newest", "1500", 1 << 20, &data, &n, &cause);
	ok(rc == -1 && errno == ENOENT, "... and is not served: %s", cause);
	free(cause);
	cause = NULL;
	rc = store_read(st, "newest", "2000", 1 << 20, &data, &n, &cause);
	ok(rc == 0 && same_samples(data, n, prof, len),
	    "the newest left reads back");
	free(data);
	store_set_format(st, STORE_PPROF);
}

/* Remove a target's database, its log and its index, as an operator may. */
static void
remove_db(const char *target)
{
	static const char *const ends[] = { "", "-wal", "-shm" };
	char	path[600];
	size_t	i;

	for (i = 0; i < sizeof ends / sizeof *ends; i++) {
		snprintf(path, sizeof path, "%s/%s/%s%s", root, target,
		    PACKSTORE_FILE, ends[i]);
		(void)unlink(path);
	}
}

/*
 * A target's database removed while the connection to it is kept (its
 * history cleared by hand, the database set aside), then its folder: the
 * next put makes the database again, as the first did.
 */
static void
test_pack_gone(const uint8_t *prof, size_t len)
{
	struct store_cache	*cache = NULL;
	struct store		*st;
	char			 dir[400], id[STORE_ID_MAX], *cause = NULL;
	int			 bad = 0;

	if ((st = store_open(root, &cause)) == NULL) {
		ok(0, "store_open: %s", cause);
		free(cause);
		return;
	}
	store_set_format(st, STORE_PACK);
	if (put_bytes(st, &cache, "gone", 1000, prof, len, 10, id) == -1 ||
	    put_bytes(st, &cache, "gone", 2000, prof, len, 10, id) == -1)
		bad++;
	remove_db("gone");
	ok(bad == 0 && put_bytes(st, &cache, "gone", 3000, prof, len, 10,
	    id) == 0 && strcmp(ids(st, "gone"), "3000") == 0,
	    "a put after the target's database was removed makes it again");
	remove_db("gone");
	snprintf(dir, sizeof dir, "%s/gone", root);
	ok(rmdir(dir) == 0 && put_bytes(st, &cache, "gone", 4000, prof, len,
	    10, id) == 0 && strcmp(ids(st, "gone"), "4000") == 0,
	    "and after its folder was removed");
	store_cache_free(cache);
	store_close(st);
}

/*
 * STORE_PACK: snapshots in the target's database, listed, read and
 * written out as pprof; then files beside them after a switch back, both
 * listed, read and retained together; recovery of the database.
 */
static void
test_pack_form(struct store *st, const uint8_t *prof, size_t len)
{
	struct store_recovery	 rec;
	struct rlimit		 old, small;
	char			 dir[400], path[600], id[STORE_ID_MAX];
	char			 other[600], moved[600], dbpath[700];
	struct profile		*p, *q;
	char			*cause = NULL;
	void			*data;
	size_t			 n;
	int			 rc;

	store_set_format(st, STORE_PACK);
	ok(put(st, "packed", 1000, prof, len, id) == 0 &&
	    put(st, "packed", 2000, prof, len, id) == 0 &&
	    put(st, "packed", 2000, prof, len, id) == 0 &&
	    strcmp(id, "2000-1") == 0, "three packed snapshots, ids as files "
	    "would have them");
	is_str(ids(st, "packed"), "1000,2000,2000-1", "they are listed");
	snprintf(dir, sizeof dir, "%s/packed", root);
	snprintf(path, sizeof path, "%s/snapshots.db", dir);
	ok(exists(path) && count_prefix(dir, "1") == 0,
	    "in the database, not in files");
	rc = store_read(st, "packed", "2000", 1 << 20, &data, &n, &cause);
	ok(rc == 0 && n > 2 && ((uint8_t *)data)[0] == 0x1f &&
	    same_samples(data, n, prof, len),
	    "store_read gives one as gzipped pprof, the samples received");
	if (rc == 0)
		free(data);
	rc = store_read(st, "packed", "3000", 1 << 20, &data, &n, &cause);
	ok(rc == -1 && errno == ENOENT && cause != NULL,
	    "a missing one is an error, ENOENT: %s", cause);
	free(cause);
	cause = NULL;
	p = store_load(st, "packed", "1000", 1 << 20, NULL, &cause);
	q = profile_decode(prof, len, 1 << 20, NULL, &cause);
	snprintf(path, sizeof path, "%s/.pprof", dir);
	ok(p != NULL && q != NULL && p->nsamples > 0 && !exists(path) &&
	    p->nsamples == q->nsamples && p->ntypes == q->ntypes &&
	    memcmp(p->values, q->values, p->nsamples * p->ntypes *
	    sizeof *p->values) == 0,
	    "store_load decodes one made again from the pack (not the newest)"
	    " in memory, the samples received, writing no file");
	profile_free(p);
	profile_free(q);
	p = store_load(st, "packed", "1500", 1 << 20, NULL, &cause);
	ok(p == NULL && errno == ENOENT && cause != NULL,
	    "store_load refuses one that is not there: %s", cause);
	free(cause);
	cause = NULL;

	/*
	 * The database a read keeps open is replaced under its name (as
	 * recovery's quarantine and a new first put do, here by moving
	 * whole folders, the log with the database): reads follow the file
	 * at the path, not the connection kept.
	 */
	ok(put(st, "other", 7000, prof, len, id) == 0 &&
	    put(st, "other", 8000, prof, len, id) == 0,
	    "another target's two packed snapshots");
	snprintf(path, sizeof path, "%s/packed", root);
	snprintf(other, sizeof other, "%s/other", root);
	snprintf(moved, sizeof moved, "%s/packed.aside", root);
	snprintf(dbpath, sizeof dbpath, "%s/snapshots.db", path);
	rc = store_read(st, "packed", "1000", 1 << 20, &data, &n, &cause);
	if (rc == 0)
		free(data);
	ok(rc == 0 && fds_on(dbpath) == 0,
	    "a read that no hold covers leaves no file open");
	store_hold(st, "packed");
	rc = store_read(st, "packed", "1000", 1 << 20, &data, &n, &cause);
	if (rc == 0)
		free(data);
	ok(rc == 0 && fds_on(dbpath) == 1, "one under a hold keeps it open");
	ok(rename(path, moved) == 0 && rename(other, path) == 0,
	    "then the target's folder is replaced by another's");
	rc = store_read(st, "packed", "7000", 1 << 20, &data, &n, &cause);
	ok(rc == 0 && same_samples(data, n, prof, len),
	    "the new database's snapshot is read: %s", rc == 0 ? "" : cause);
	if (rc == 0)
		free(data);
	free(cause);
	cause = NULL;
	rc = store_read(st, "packed", "1000", 1 << 20, &data, &n, &cause);
	ok(rc == -1 && errno == ENOENT,
	    "the old one's is not, from the connection kept: %s", cause);
	if (rc == 0)
		free(data);
	free(cause);
	cause = NULL;
	ok(rename(path, other) == 0 && rename(moved, path) == 0,
	    "the folders put back");
	rc = store_read(st, "packed", "1000", 1 << 20, &data, &n, &cause);
	ok(rc == 0 && same_samples(data, n, prof, len),
	    "and read again: %s", rc == 0 ? "" : cause);
	if (rc == 0)
		free(data);
	free(cause);
	cause = NULL;
	store_hold(st, "packed");
	store_release(st, "packed");
	ok(fds_on(dbpath) == 1, "a nested hold's release keeps it open");
	store_release(st, "packed");
	ok(fds_on(dbpath) == 0, "the last release closes it");

	store_set_format(st, STORE_PPROF);
	ok(put(st, "packed", 3000, prof, len, id) == 0 &&
	    strcmp(id, "3000") == 0, "switched back, a file is written");
	is_str(ids(st, "packed"), "1000,2000,2000-1,3000",
	    "files and packed snapshots are listed together");
	is_int(retain(st, "packed", 2, 0, 0, 4000), 2,
	    "retention drops the two oldest, packed");
	is_str(ids(st, "packed"), "2000-1,3000", "the newest two are left");
	rc = store_read(st, "packed", "2000-1", 1 << 20, &data, &n, &cause);
	ok(rc == 0 && same_samples(data, n, prof, len),
	    "the packed one left reads back");
	if (rc == 0)
		free(data);

	/* The folder of pprof copies an older heapwatchd kept. */
	snprintf(path, sizeof path, "%s/.pprof", dir);
	mkdir(path, 0750);
	snprintf(path, sizeof path, "%s/.pprof/1000.pb.gz", dir);
	write_file(path, prof, len);
	memset(&rec, 0, sizeof rec);
	ok(store_recover(st, "packed", 1 << 20, &rec, &cause) == 0 &&
	    rec.kept == 2 && rec.quarantined == 0 && rec.ignored == 0,
	    "recovery keeps both forms, ignores none of the database's files");
	store_recovery_clear(&rec);
	snprintf(path, sizeof path, "%s/.pprof", dir);
	ok(!exists(path), "and removes an old folder of pprof copies");

	/* A file size limit: the database's write fails, and says why. */
	store_set_format(st, STORE_PACK);
	signal(SIGXFSZ, SIG_IGN);
	if (getrlimit(RLIMIT_FSIZE, &old) == -1)
		return;
	small = old;
	small.rlim_cur = 4096;
	setrlimit(RLIMIT_FSIZE, &small);
	for (n = 0, rc = 0; n < 64 && rc == 0; n++)
		rc = store_put(st, "packed", 5000 + (int64_t)n, prof, len, id,
		    &cause);
	setrlimit(RLIMIT_FSIZE, &old);
	ok(rc == -1 && cause != NULL && strstr(cause, strerror(EFBIG)) != NULL,
	    "a packed write past RLIMIT_FSIZE fails with EFBIG: %s", cause);
	free(cause);
	cause = NULL;
	ok(put(st, "packed", 9000, prof, len, id) == 0 &&
	    store_read(st, "packed", "9000", 1 << 20, &data, &n, &cause) == 0,
	    "and the next, the limit lifted, is stored and reads back");
	free(data);

	/* A database that is none: set aside whole, and a new one made. */
	snprintf(path, sizeof path, "%s/junk", root);
	mkdir(path, 0750);
	snprintf(path, sizeof path, "%s/junk/snapshots.db", root);
	write_file(path, "this is no database at all, not even close", 43);
	memset(&rec, 0, sizeof rec);
	rc = store_recover(st, "junk", 1 << 20, &rec, &cause);
	ok(rc == 0 && rec.quarantined == 1 && rec.first_cause != NULL,
	    "recovery sets aside a database that is none: %s",
	    rec.first_cause);
	store_recovery_clear(&rec);
	snprintf(path, sizeof path, "%s/junk/quarantine/snapshots.db", root);
	ok(exists(path), "into quarantine/, kept");
	ok(put(st, "junk", 1000, prof, len, id) == 0 &&
	    strcmp(ids(st, "junk"), "1000") == 0,
	    "and the next snapshot starts a new database");
	store_set_format(st, STORE_PPROF);
}

/*
 * Target's snapshot id read through a store of its own (which keeps no
 * newest as received), decoded; NULL, said, when it does not read.
 */
static struct profile *
load(const char *dir, const char *target, const char *id)
{
	struct store	*rd;
	struct profile	*p;
	char		*cause = NULL;

	if ((rd = store_open(dir, &cause)) == NULL) {
		printf("# %s\n", cause);
		free(cause);
		return NULL;
	}
	if ((p = store_load(rd, target, id, 1 << 20, NULL, &cause)) == NULL) {
		printf("# load %s %s: %s\n", target, id, cause);
		free(cause);
	}
	store_close(rd);
	return p;
}

/* Whether two profiles hold the same samples, times and all. */
static bool
same_loaded(const struct profile *a, const struct profile *b)
{
	return a != NULL && b != NULL && a->nsamples == b->nsamples &&
	    a->ntypes == b->ntypes && a->time_nanos == b->time_nanos &&
	    a->duration_nanos == b->duration_nanos && memcmp(a->values,
	    b->values, a->nsamples * a->ntypes * sizeof *a->values) == 0 &&
	    memcmp(a->stacks, b->stacks, a->stack_off[a->nsamples] *
	    sizeof *a->stacks) == 0;
}

/*
 * A heap profile of n stacks of three frames over 200 locations (its
 * samples appended to pbuild's tables as Sample messages: pbuild holds a
 * few hundred); k moves the values, the second of which is (i + k) * 512.
 */
static uint8_t *
stacks_profile(int n, int k, size_t *len)
{
	struct pb	*b = pb_heap();
	uint64_t	 m, f[50], l[200];
	uint64_t	 ids[3], vals[4];
	uint8_t		*base, *out;
	char		 fn[32];
	size_t		 baselen, at;
	int		 i;

	m = pb_mapping(b, 0x400000, 0x800000, "/usr/bin/app");
	for (i = 0; i < 50; i++) {
		snprintf(fn, sizeof fn, "main.f%d", i);
		f[i] = pb_func(b, fn, "/src/app.go");
	}
	for (i = 0; i < 200; i++)
		l[i] = pb_loc(b, m, 0x401000 + 16 * i, 1, f[i % 50],
		    (int64_t)(10 + i));
	base = pb_pack(b, &baselen);
	free(b);
	out = malloc(baselen + (size_t)n * 64);
	memcpy(out, base, baselen);
	at = baselen;
	for (i = 0; i < n; i++) {
		ids[0] = l[i % 200];
		ids[1] = l[(i / 200) % 200];
		ids[2] = l[(i / 7) % 200];
		vals[0] = (uint64_t)i + 1;
		vals[1] = (uint64_t)(i + k) * 512;
		vals[2] = (uint64_t)(i % 5 + k);
		vals[3] = vals[2] * 512;
		at += pb_wr_sample(out + at, ids, 3, vals, 4);
	}
	free(base);
	*len = at;
	return out;
}

/* Whether snapshot id of target reads back as n stacks, values of k. */
static bool
reads_stacks(struct store *st, const char *target, const char *id, int n,
    int k)
{
	struct profile	*p;
	void		*out;
	size_t		 len, i;
	int64_t		 sum = 0, want = 0;
	char		*cause = NULL;
	bool		 good;

	if (store_read(st, target, id, (size_t)64 << 20, &out, &len,
	    &cause) == -1) {
		printf("# %s %s: %s\n", target, id, cause);
		free(cause);
		return false;
	}
	if ((p = profile_decode(out, len, (size_t)64 << 20, NULL,
	    &cause)) == NULL) {
		printf("# %s %s: %s\n", target, id, cause);
		free(cause);
		free(out);
		return false;
	}
	for (i = 0; i < p->nsamples; i++)
		sum += p->values[i * p->ntypes + 1];
	for (i = 0; i < (size_t)n; i++)
		want += (int64_t)(i + (size_t)k) * 512;
	good = p->nsamples == (size_t)n && sum == want;
	profile_free(p);
	free(out);
	return good;
}

/* Store data as target bN's at time_ms; whether it was stored. */
static bool
put_nth(struct store *st, int n, int64_t time_ms, const uint8_t *data,
    size_t len, struct store_put *put)
{
	char	target[16], *cause = NULL;

	snprintf(target, sizeof target, "b%d", n);
	if (store_put_retain(st, target, time_ms, data, len, put,
	    &cause) == 0)
		return true;
	printf("# put %s: %s\n", target, cause);
	free(cause);
	return false;
}

/*
 * The packed writers' budget: whole writers of a few hundred KB until they
 * hold 4 MiB, the rest shrunk to their newest snapshot (some KB); a target
 * that kept its writer whole goes on keeping it, and one shrunk stores and
 * reads back as well. A store of 8 packed targets or fewer keeps them whole
 * up to 16 MiB.
 */
static void
test_pack_budget(void)
{
	struct store_put	 put[64];
	struct store		*st;
	char			 dir[512], target[16], *cause = NULL;
	uint8_t			*p[2];
	size_t			 len[2], h0, held;
	bool			 whole, kept = true, small = true;
	int			 i, n, bad = 0;

	snprintf(dir, sizeof dir, "%s/budget", tmpdir);
	if ((st = store_open(dir, &cause)) == NULL) {
		ok(0, "store_open: %s", cause);
		free(cause);
		return;
	}
	store_set_format(st, STORE_PACK);
	p[0] = stacks_profile(3000, 1, &len[0]);
	p[1] = stacks_profile(3000, 2, &len[1]);
	memset(put, 0, sizeof put);
	if (!put_nth(st, 0, 1000, p[0], len[0], &put[0])) {
		ok(0, "the first put");
		goto out;
	}
	h0 = store_cache_held(put[0].cache, &whole);
	ok(whole && h0 > 100000, "a target's writer is kept whole: %zu "
	    "bytes", h0);
	n = (int)((4 << 20) / h0) + 2;
	if (n > 64)
		n = 64;
	for (i = 1; i < n; i++)
		if (!put_nth(st, i, 1000, p[0], len[0], &put[i]))
			bad++;
	for (i = 0; i < n; i++) {
		snprintf(target, sizeof target, "b%d", i);
		if (!put_nth(st, i, 2000, p[1], len[1], &put[i]) ||
		    !reads_stacks(st, target, put[i].id, 3000, 2))
			bad++;
		held = store_cache_held(put[i].cache, &whole);
		if (i == 0 && !whole)
			kept = false;
		if (i == n - 1 && (whole || held == 0 || held * 10 > h0))
			small = false;
	}
	ok(bad == 0, "%d targets, each put twice, read back", n);
	ok(kept, "... the first keeps its writer whole past the budget");
	ok(small, "... the last, over 4 MiB of whole writers, keeps its "
	    "newest snapshot: %zu bytes", store_cache_held(put[n - 1].cache,
	    &whole));
	for (i = 0; i < 64; i++)
		store_cache_free(put[i].cache);
	store_close(st);
	memset(put, 0, sizeof put);

	/* Eight targets of 12,000 stacks: over 4 MiB, none shrunk. */
	snprintf(dir, sizeof dir, "%s/budget-few", tmpdir);
	if ((st = store_open(dir, &cause)) == NULL) {
		ok(0, "store_open: %s", cause);
		free(cause);
		goto out;
	}
	store_set_format(st, STORE_PACK);
	free(p[0]);
	p[0] = stacks_profile(12000, 1, &len[0]);
	for (i = 0, h0 = 0, bad = 0, kept = true; i < 8; i++) {
		if (!put_nth(st, i, 1000, p[0], len[0], &put[i]))
			bad++;
		held = store_cache_held(put[i].cache, &whole);
		h0 += held;
		if (!whole)
			kept = false;
	}
	ok(bad == 0 && kept && h0 > (4 << 20), "8 targets keep their writers "
	    "whole: %zu bytes in all", h0);
out:
	for (i = 0; i < 64; i++)
		store_cache_free(put[i].cache);
	store_close(st);
	free(p[0]);
	free(p[1]);
}

/*
 * A repeat (store_put.repeat, its body the last profile again but for
 * its times): packed, the newest snapshot is stored again with the new
 * times, reading back as the profile received (as a target that codes
 * each profile gives it), unless the last put through the cache was not
 * packed, when the body is coded as any other; the file form writes the
 * body as received.
 */
static void
test_pack_repeat(const uint8_t *prof, size_t len)
{
	struct store		*st;
	struct store_put	 full = { 0 }, rep = { 0 }, brk = { 0 };
	struct profile		*a, *b;
	struct pb		*pb;
	sqlite3			*db;
	char			 dir[400], path[600], *cause = NULL;
	uint8_t			*p2, *q, *q2, *raw;
	size_t			 l2, ql, ql2, rawlen;
	int			 ra, rb;

	snprintf(dir, sizeof dir, "%s/repeats", tmpdir);
	if ((st = store_open(dir, &cause)) == NULL) {
		ok(0, "store_open: %s", cause);
		free(cause);
		return;
	}
	/* The profile again at 2 s, and another, q, and it again. */
	p2 = pb_retime(prof, len, 2000000000LL, 7, &l2);
	pb = pb_small();
	pb_sample(pb, 1, (uint64_t)1, (int64_t)3, (int64_t)3072, (int64_t)1,
	    (int64_t)1024);
	raw = pb_pack(pb, &rawlen);
	q = pb_gzip(raw, rawlen, &ql);
	free(raw);
	free(pb);
	q2 = pb_retime(q, ql, 4000000000LL, 9, &ql2);

	store_set_format(st, STORE_PACK);
	rep.repeat = true;
	rep.time_nanos = 1;
	ra = store_put_retain(st, "full", 1000, prof, len, &full, &cause);
	rb = store_put_retain(st, "rep", 1000, prof, len, &rep, &cause);
	ok(ra == 0 && rb == 0 && !rep.repeated, "a repeat with nothing "
	    "packed before through its cache is coded from the body");
	rep.time_nanos = 2000000000LL;
	rep.duration_nanos = 7;
	ra = store_put_retain(st, "full", 2000, p2, l2, &full, &cause);
	rb = store_put_retain(st, "rep", 2000, p2, l2, &rep, &cause);
	ok(ra == 0 && rb == 0 && rep.repeated && strcmp(rep.id, "2000") == 0,
	    "the next, after a packed put, is stored as a repeat");
	a = load(dir, "full", "2000");
	b = load(dir, "rep", "2000");
	ok(same_loaded(a, b) && b->time_nanos == 2000000000LL &&
	    b->duration_nanos == 7, "it reads back as the profile with its "
	    "new times, stored again, does");
	profile_free(a);
	profile_free(b);

	/* A file comes between: its profile is no longer the newest packed. */
	store_set_format(st, STORE_PPROF);
	rep.repeat = false;
	rb = store_put_retain(st, "rep", 3000, q, ql, &rep, &cause);
	store_set_format(st, STORE_PACK);
	rep.repeat = true;
	rep.time_nanos = 4000000000LL;
	rep.duration_nanos = 9;
	rb = rb == 0 ? store_put_retain(st, "rep", 4000, q2, ql2, &rep,
	    &cause) : -1;
	a = load(dir, "rep", "4000");
	b = NULL;
	if (a != NULL)
		b = profile_decode(q2, ql2, 1 << 20, NULL, &cause);
	ok(rb == 0 && !rep.repeated && same_loaded(a, b),
	    "after a file, a repeat is coded from its body, not the packed "
	    "newest");
	profile_free(a);
	profile_free(b);

	/* The file form writes the body as received. */
	store_set_format(st, STORE_PPROF);
	rep.time_nanos = 1;
	rb = store_put_retain(st, "rep", 5000, q2, ql2, &rep, &cause);
	snprintf(path, sizeof path, "%s/rep/5000.pb.gz", dir);
	ok(rb == 0 && !rep.repeated && same_file(path, q2, ql2),
	    "the file form writes a repeat's body as received");
	if (cause != NULL)
		printf("# %s\n", cause);
	free(cause);
	cause = NULL;

	/*
	 * A database that fails a repeat fails the put, rather than coding
	 * the body to meet the failure again: a dictionary that does not
	 * read, which a key (over an hour on) needs.
	 */
	store_set_format(st, STORE_PACK);
	brk.repeat = false;
	rb = store_put_retain(st, "broken", 1000, prof, len, &brk, &cause);
	snprintf(path, sizeof path, "%s/broken/snapshots.db", dir);
	if (rb == 0 && sqlite3_open(path, &db) == SQLITE_OK) {
		rb = sqlite3_exec(db, "UPDATE dict SET blob = substr(blob, 1, 6)"
		    " || x'00112233' || substr(blob, 11) WHERE n = 1", NULL,
		    NULL, NULL) == SQLITE_OK && sqlite3_changes(db) == 1 ? 0 :
		    -1;
		sqlite3_close(db);
	} else
		rb = -1;
	store_cache_shrink(brk.cache);
	brk.repeat = true;
	rb = rb == 0 ? store_put_retain(st, "broken", 1000 + 7200 * 1000, p2,
	    l2, &brk, &cause) : 0;
	ok(rb == -1 && !brk.repeated && cause != NULL &&
	    strstr(cause, "dictionary") != NULL, "a repeat whose database "
	    "fails fails the put: %s", cause);
	free(cause);
	store_cache_free(full.cache);
	store_cache_free(rep.cache);
	store_cache_free(brk.cache);
	store_close(st);
	free(p2);
	free(q);
	free(q2);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

/*
 * What a target's folder holds on disk, counted apart from the store: the
 * bytes of its snapshot files and of its database's files.
 */
static uint64_t
folder_bytes(const char *target)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	char		 path[600];
	size_t		 l;
	uint64_t	 n = 0;

	snprintf(path, sizeof path, "%s/%s", root, target);
	if ((d = opendir(path)) == NULL)
		return 0;
	while ((de = readdir(d)) != NULL) {
		l = strlen(de->d_name);
		if (!(l > strlen(STORE_SUFFIX) && strcmp(de->d_name + l -
		    strlen(STORE_SUFFIX), STORE_SUFFIX) == 0) &&
		    strncmp(de->d_name, PACKSTORE_FILE,
		    strlen(PACKSTORE_FILE)) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s/%s", root, target,
		    de->d_name);
		if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode))
			n += (uint64_t)sb.st_size;
	}
	closedir(d);
	return n;
}

/* put_with(), the bytes alone: what the kept snapshots take, or 0. */
static uint64_t
put_counted(struct store *st, struct store_cache **cache, const char *target,
    int64_t ms, const void *data, size_t len, size_t keep)
{
	struct store_put	put;

	(void)put_with(st, cache, target, ms, data, len, keep, NULL, &put);
	return put.bytes;
}

/* store_bytes() of what store_list() gives; 0 when it fails. */
static uint64_t
listed_bytes(struct store *st, const char *target)
{
	struct store_snapshot	*v;
	char			*cause = NULL;
	size_t			 n;
	uint64_t		 b;

	if (store_list(st, target, &v, &n, &cause) == -1) {
		printf("# list %s: %s\n", target, cause);
		free(cause);
		return 0;
	}
	b = store_bytes(st, target, v, n);
	store_list_free(v);
	return b;
}

/*
 * What the snapshots kept take on disk, as a put tells it and as
 * store_bytes() counts a listing: the files retention keeps, not the spare
 * nor what it dropped; a database's files whole, and both in a folder of
 * the two forms.
 */
static void
test_bytes(struct store *st, const uint8_t *prof, size_t len)
{
	struct store_cache	*cache = NULL;
	struct stat		 sb = { 0 };
	uint8_t			*stacks;
	char			 data[64], path[400];
	uint64_t		 b, want = 0;
	size_t			 i, n, sizes[5] = { 10, 20, 30, 40, 50 };
	bool			 good = true;

	memset(data, 'x', sizeof data);
	for (i = 0; i < 5; i++) {
		b = put_counted(st, &cache, "bytes", (int64_t)(i + 1) * 1000,
		    data, sizes[i], 3);
		want = sizes[i] + (i >= 1 ? sizes[i - 1] : 0) +
		    (i >= 2 ? sizes[i - 2] : 0);
		if (b != want || folder_bytes("bytes") != want) {
			printf("# put %zu: %llu bytes, %llu wanted, %llu in "
			    "the folder\n", i, (unsigned long long)b,
			    (unsigned long long)want,
			    (unsigned long long)folder_bytes("bytes"));
			good = false;
		}
	}
	ok(good, "each put counts the files retention keeps (the last %llu)",
	    (unsigned long long)want);
	is_int(listed_bytes(st, "bytes"), want, "so does store_bytes()");
	ok(inode_of("bytes", -1) != 0, "... and neither counts the spare");
	store_cache_free(cache);
	cache = NULL;

	store_set_format(st, STORE_PACK);
	good = true;
	for (i = 0; i < 3; i++) {
		b = put_counted(st, &cache, "pbytes", (int64_t)(i + 1) * 1000,
		    prof, len, 2);
		if (b == 0 || b != folder_bytes("pbytes")) {
			printf("# packed put %zu: %llu bytes, %llu in the "
			    "folder\n", i, (unsigned long long)b,
			    (unsigned long long)folder_bytes("pbytes"));
			good = false;
		}
	}
	b = folder_bytes("pbytes");
	ok(good && b >= 4096, "a packed put counts the database's files "
	    "(%llu bytes)", (unsigned long long)b);
	is_int(listed_bytes(st, "pbytes"), b, "so does store_bytes()");
	store_set_format(st, STORE_PPROF);
	want = b + len;
	b = put_counted(st, &cache, "pbytes", 4000, prof, len, 3);
	ok(b == want && b == folder_bytes("pbytes"),
	    "a file beside them adds its bytes (%llu)", (unsigned long long)b);
	is_int(listed_bytes(st, "pbytes"), folder_bytes("pbytes"),
	    "as store_bytes() counts them");
	store_cache_free(cache);
	cache = NULL;

	/*
	 * Profiles of 12,000 stacks, whose pages all pass through the
	 * database's log (a database of over 64 KB had as much log), which
	 * the connection going idle cuts back to 64 KB: counted once cut.
	 */
	store_set_format(st, STORE_PACK);
	for (i = 0; i < 2; i++) {
		stacks = stacks_profile(12000, (int)i + 1, &n);
		b = put_counted(st, &cache, "wbytes", (int64_t)(i + 1) * 1000,
		    stacks, n, 5);
		free(stacks);
		snprintf(path, sizeof path, "%s/wbytes/%s", root,
		    PACKSTORE_FILE);
		if (stat(path, &sb) == -1)
			sb.st_size = 0;
		ok(b != 0 && b == folder_bytes("wbytes") &&
		    sb.st_size > 64 * 1024,
		    "a put of 12,000 stacks counts the database once its log "
		    "is cut (%llu bytes, %llu in the folder, the database "
		    "%lld)", (unsigned long long)b,
		    (unsigned long long)folder_bytes("wbytes"),
		    (long long)sb.st_size);
	}
	store_cache_free(cache);
	store_set_format(st, STORE_PPROF);
	is_int(listed_bytes(st, "nobody"), 0, "a target with no folder: 0");
}

int
main(void)
{
	struct store	*st;
	const char	*t;
	uint8_t		*prof;
	size_t		 len;
	char		*cause = NULL;

	umask(022);
	if ((t = getenv("TMPDIR")) == NULL || *t == '\0')
		t = "/tmp";
	snprintf(tmpdir, sizeof tmpdir, "%s/test_store.XXXXXX", t);
	if (mkdtemp(tmpdir) == NULL) {
		printf("Bail out! mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	snprintf(root, sizeof root, "%s/store", tmpdir);
	prof = profile_bytes(&len);

	test_open();
	if ((st = store_open(root, &cause)) == NULL) {
		printf("Bail out! store_open: %s\n", cause);
		return 1;
	}
	test_roundtrip(st, prof, len);
	test_order(st, prof, len);
	test_not_listed(st, prof, len);
	test_tmp_exclusive(prof, len);
	test_bad_ids(st);
	test_retain(st, prof, len);
	test_tiers(st, "tiers", prof, len);
	store_set_format(st, STORE_PACK);
	test_tiers(st, "ptiers", prof, len);
	store_set_format(st, STORE_PPROF);
	test_recover(st, prof, len);
	test_efbig(st);
	test_series(st);
	test_spare(st);
	test_deferred();
	test_deferred_wait();
	test_deferred_failing();
	test_deferred_bound();
	test_deferred_lowered();
	test_deferred_packed(prof, len);
	test_deferred_mixed(prof, len);
	test_deferred_aside(prof, len);
	test_cache(st);
	test_unwritable(st);
	test_pack_form(st, prof, len);
	test_pack_newest(st, prof, len);
	test_pack_gone(prof, len);
	test_bytes(st, prof, len);
	store_close(st);
	test_targets();
	test_pack_repeat(prof, len);
	test_pack_budget();

	free(prof);
	nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}
