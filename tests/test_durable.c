/*
 * durable.c's deferred writes and its syncer: a file written without a
 * sync reads back whole under its temporary name, a spare rewritten
 * without one holds the new bytes alone; the syncer syncs only once
 * something is marked, once for a mark, and a last time when freed with
 * something unsynced; a sync that fails is told to the caller's callback
 * with its errno, tried again without a mark, and releases nothing: the
 * number a mark gives is reached only by a sync that succeeds.
 */
#include "config.h"

#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "durable.h"
#include "tap.h"

#define PERIOD_MS	20
#define WAIT_MAX_S	60	/* a busy machine's worst, not a timing */

struct failures {
	int	calls;
	int	error;
	int	recovered;
};

/*
 * syncfs(2), as the syncer calls it: the kernel's, said to have failed
 * with EIO, as after a write-back error, while syncs_fail is set.
 */
static int	syncs_fail;

int
syncfs(int fd)
{
	int	rc;

	rc = (int)syscall(SYS_syncfs, fd);
	if (rc == 0 && __atomic_load_n(&syncs_fail, __ATOMIC_SEQ_CST)) {
		errno = EIO;
		return -1;
	}
	return rc;
}

static void
failed(int error, void *arg)
{
	struct failures	*f = arg;

	if (error == 0) {
		__atomic_add_fetch(&f->recovered, 1, __ATOMIC_SEQ_CST);
		return;
	}
	__atomic_store_n(&f->error, error, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&f->calls, 1, __ATOMIC_SEQ_CST);
}

static void
nap_ms(long ms)
{
	struct timespec	ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Wait until sy has done at least n syncs, for WAIT_MAX_S at most. */
static unsigned long
wait_syncs(struct durable_syncer *sy, unsigned long n)
{
	time_t		 end = time(NULL) + WAIT_MAX_S;
	unsigned long	 got;

	while ((got = durable_syncer_syncs(sy)) < n && time(NULL) < end)
		nap_ms(PERIOD_MS);
	return got;
}

static void
test_deferred(int dfd)
{
	char		 tmp[DURABLE_TMP_MAX], *data;
	const char	*op = NULL, body[] = "a snapshot's bytes";
	unsigned int	 seq = 0;
	size_t		 len;

	ok(durable_tmp_write(dfd, &seq, body, sizeof body, false, tmp,
	    &op) == 0, "a deferred write succeeds");
	ok(strncmp(tmp, DURABLE_TMP_PREFIX, strlen(DURABLE_TMP_PREFIX)) == 0,
	    "under a temporary name (%s)", tmp);
	ok(durable_read(dfd, tmp, 1024, &data, &len, &op) == 0 &&
	    len == sizeof body && memcmp(data, body, len) == 0,
	    "which reads back whole");
	free(data);
	is_int(seq, 1, "the sequence advances");
	unlinkat(dfd, tmp, 0);
}

/* A spare rewritten without a sync holds the new bytes alone. */
static void
test_rewrite_deferred(int dfd)
{
	char		 old[4096], *data;
	const char	*op = NULL, body[] = "a shorter snapshot";
	bool		 no_lease = false;
	size_t		 len;
	int		 fd, rc;

	memset(old, 'x', sizeof old);
	if ((fd = openat(dfd, "spare", O_WRONLY | O_CREAT | O_TRUNC,
	    0640)) == -1 || write(fd, old, sizeof old) != sizeof old) {
		ok(0, "a spare to rewrite");
		if (fd != -1)
			close(fd);
		return;
	}
	close(fd);
	rc = durable_rewrite(dfd, "spare", body, sizeof body, false,
	    &no_lease, &op);
	if (no_lease) {
		/* tmpfs and others grant no lease: the spare is removed. */
		is_int(rc, 1, "no lease here: the spare is not used");
		ok(faccessat(dfd, "spare", F_OK, 0) == -1, "and removed");
		return;
	}
	is_int(rc, 0, "a spare is rewritten without a sync");
	ok(durable_read(dfd, "spare", sizeof old, &data, &len, &op) == 0 &&
	    len == sizeof body && memcmp(data, body, len) == 0,
	    "and holds the new bytes alone (%zu)", len);
	free(data);
	unlinkat(dfd, "spare", 0);
}

static void
test_syncer(int dfd)
{
	struct durable_syncer	*sy;
	struct failures		 f = { 0, 0, 0 };

	if ((sy = durable_syncer_new(dfd, PERIOD_MS, failed, &f)) == NULL) {
		ok(0, "a syncer starts");
		return;
	}
	/* No mark, no sync, however long it waits. */
	nap_ms(5 * PERIOD_MS);
	is_int(durable_syncer_syncs(sy), 0, "nothing marked, nothing synced");
	/* One mark is cleared by one sync, whenever the thread runs. */
	durable_syncer_mark(sy);
	is_int(wait_syncs(sy, 1), 1, "marked: synced");
	nap_ms(5 * PERIOD_MS);
	is_int(durable_syncer_syncs(sy), 1, "and not again without a mark");
	durable_syncer_mark(sy);
	is_int(wait_syncs(sy, 2), 2, "marked again: synced again");
	durable_syncer_free(sy);
	is_int(f.calls, 0, "no sync failed");
}

/* Wait until sy's syncs have reached number gen, for WAIT_MAX_S at most. */
static bool
wait_synced(struct durable_syncer *sy, unsigned long gen)
{
	time_t	end = time(NULL) + WAIT_MAX_S;

	while (durable_syncer_synced(sy) < gen && time(NULL) < end)
		nap_ms(PERIOD_MS);
	return durable_syncer_synced(sy) >= gen;
}

/*
 * A mark is given the number of the next sync to begin; what was marked
 * is on disk once a sync of that number or later has succeeded.
 */
static void
test_tickets(int dfd)
{
	struct durable_syncer	*sy;
	struct failures		 f = { 0, 0, 0 };
	unsigned long		 t;

	/* A period longer than the test: no sync but the last. */
	if ((sy = durable_syncer_new(dfd, 3600 * 1000, failed, &f)) == NULL) {
		ok(0, "a syncer starts");
		return;
	}
	is_int(durable_syncer_ticket(sy), 0, "nothing marked: nothing to wait");
	is_int(durable_syncer_mark(sy), 1, "a mark waits for the first sync");
	is_int(durable_syncer_mark(sy), 1, "a second before it, too");
	is_int(durable_syncer_ticket(sy), 1, "as does all marked so far");
	is_int(durable_syncer_synced(sy), 0, "which has not run");
	is_int(durable_syncer_stop(sy), 0, "stopped with a last sync");
	is_int(durable_syncer_synced(sy), 1, "which reaches the marks");
	is_int(durable_syncer_stop(sy), 0, "a second stop does nothing");
	is_int(durable_syncer_syncs(sy), 1, "no second sync");
	durable_syncer_free(sy);

	if ((sy = durable_syncer_new(dfd, PERIOD_MS, failed, &f)) == NULL) {
		ok(0, "a syncer starts");
		return;
	}
	t = durable_syncer_mark(sy);
	ok(wait_synced(sy, t), "the thread's sync reaches a mark");
	is_int(durable_syncer_ticket(sy), t, "and all marked before");
	t = durable_syncer_mark(sy);
	is_int(t, durable_syncer_synced(sy) + 1, "the next mark, the next sync");
	ok(wait_synced(sy, t), "which the thread makes");
	durable_syncer_free(sy);
	is_int(f.calls, 0, "no sync failed");
}

/*
 * A failed sync leaves what was marked unsynced, and is tried again a
 * period on without a mark, each failure told; the sync that succeeds
 * then reaches the marks and is told as the end of the failures.
 */
static void
test_retry(int dfd)
{
	struct durable_syncer	*sy;
	struct failures		 f = { 0, 0, 0 };
	unsigned long		 t;

	__atomic_store_n(&syncs_fail, 1, __ATOMIC_SEQ_CST);
	if ((sy = durable_syncer_new(dfd, PERIOD_MS, failed, &f)) == NULL) {
		__atomic_store_n(&syncs_fail, 0, __ATOMIC_SEQ_CST);
		ok(0, "a syncer starts");
		return;
	}
	t = durable_syncer_mark(sy);
	ok(wait_syncs(sy, 3) >= 3, "failing, the syncer tries again");
	/* The third may not be told yet. */
	ok(__atomic_load_n(&f.calls, __ATOMIC_SEQ_CST) >= 2 &&
	    __atomic_load_n(&f.error, __ATOMIC_SEQ_CST) == EIO,
	    "each failure told with its errno (%d)",
	    __atomic_load_n(&f.calls, __ATOMIC_SEQ_CST));
	is_int(durable_syncer_synced(sy), 0, "and none reaches the mark");
	is_int(__atomic_load_n(&f.recovered, __ATOMIC_SEQ_CST), 0,
	    "no recovery told");
	__atomic_store_n(&syncs_fail, 0, __ATOMIC_SEQ_CST);
	ok(wait_synced(sy, t), "the disk is back: a retry reaches the mark");
	durable_syncer_free(sy);
	is_int(f.recovered, 1, "told once");
}

static void
test_failures(void)
{
	struct durable_syncer	*sy;
	struct failures		 f = { 0, 0, 0 };

	/* A period longer than the test: only the last sync runs. */
	if ((sy = durable_syncer_new(-1, 3600 * 1000, failed, &f)) == NULL) {
		ok(0, "a syncer starts");
		return;
	}
	durable_syncer_free(sy);
	is_int(f.calls, 0, "freed with nothing marked: no sync");
	if ((sy = durable_syncer_new(-1, 3600 * 1000, failed, &f)) == NULL) {
		ok(0, "a syncer starts");
		return;
	}
	durable_syncer_mark(sy);
	durable_syncer_free(sy);
	is_int(f.calls, 1, "freed with a mark: synced a last time");
	is_int(f.error, EBADF, "a failed sync is told with its errno");
	durable_syncer_free(NULL);
}

int
main(void)
{
	char		 dir[256];
	const char	*t;
	int		 dfd;

	if ((t = getenv("TMPDIR")) == NULL || *t == '\0')
		t = "/tmp";
	snprintf(dir, sizeof dir, "%s/test_durable.XXXXXX", t);
	if (mkdtemp(dir) == NULL ||
	    (dfd = open(dir, O_RDONLY | O_DIRECTORY)) == -1) {
		printf("Bail out! %s: %s\n", dir, strerror(errno));
		return 1;
	}
	test_deferred(dfd);
	test_rewrite_deferred(dfd);
	test_syncer(dfd);
	test_tickets(dfd);
	test_retry(dfd);
	test_failures();
	close(dfd);
	rmdir(dir);
	return tap_done();
}
