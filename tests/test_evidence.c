/*
 * Unit tests for src/evidence.c: ids, files written whole in the target's
 * .evidence folder, and pruning by age and count that spares the open
 * alert's evidence.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "evidence.h"
#include "tap.h"

static char	root[] = "/tmp/test_evidence.XXXXXX";

/* How many files the target's evidence folder holds. */
static int
count(const char *target)
{
	char	cmd[256];
	FILE	*p;
	int	n = -1;

	snprintf(cmd, sizeof cmd, "ls -A %s/%s/%s | wc -l", root, target,
	    EVIDENCE_DIR);
	if ((p = popen(cmd, "r")) == NULL || fscanf(p, "%d", &n) != 1)
		n = -1;
	if (p != NULL)
		pclose(p);
	return n;
}

static bool
exists(const char *target, const char *id)
{
	char	path[4096];

	return evidence_path(root, target, id, path, sizeof path) == 0 &&
	    access(path, F_OK) == 0;
}

int
main(void)
{
	char	 id[EVIDENCE_ID_MAX], path[4096], first[EVIDENCE_ID_MAX];
	char	 buf[64], *cause = NULL;
	size_t	 removed;
	int64_t	 due;
	FILE	*f;
	int	 i;

	if (mkdtemp(root) == NULL) {
		perror("mkdtemp");
		return 1;
	}

	ok(evidence_id_valid("1700000000000.pb.gz"), "a profile's id");
	ok(evidence_id_valid("1700000000000.txt"), "a dump's id");
	ok(!evidence_id_valid("../1700000000000.txt") &&
	    !evidence_id_valid("01.txt") && !evidence_id_valid(".txt") &&
	    !evidence_id_valid("1700000000000.pb") &&
	    !evidence_id_valid("1700000000000.txt/..") &&
	    !evidence_id_valid("17000000000000000000.txt"),
	    "malformed ids are refused");
	ok(evidence_path(root, "api", "../x.txt", path, sizeof path) == -1 &&
	    evidence_path(root, "..", "1.txt", path, sizeof path) == -1,
	    "no path is built from a bad id or target");

	ok(evidence_put(root, "api", 1700000000000, false, "PROFILE", 7, id,
	    &cause) == 0, "a profile is written");
	is_str(id, "1700000000000.pb.gz", "its id");
	snprintf(first, sizeof first, "%s", id);
	ok(evidence_path(root, "api", id, path, sizeof path) == 0 &&
	    (f = fopen(path, "r")) != NULL && fgets(buf, sizeof buf, f) !=
	    NULL && fclose(f) == 0 && strcmp(buf, "PROFILE") == 0,
	    "it reads back whole");
	ok(evidence_put(root, "api", 1700000000001, true, "goroutine 1", 11,
	    id, &cause) == 0 && strcmp(id, "1700000000001.txt") == 0,
	    "a dump is written as .txt");

	/* Twelve more, a second apart: the oldest beyond 8 go, not first. */
	for (i = 0; i < 12; i++)
		if (evidence_put(root, "api", 1700000010000 + i * 1000, false,
		    "P", 1, id, &cause) == -1)
			break;
	is_int(i, 12, "twelve more are written");
	ok(evidence_prune(root, "api", first, 0, 1700000030000, &removed,
	    &due, &cause) == 0, "prune by count");
	is_int(removed, 6, "6 of 14 dropped, the open alert's kept");
	ok(exists("api", first), "the open alert's evidence stays");
	ok(!exists("api", "1700000000001.txt") &&
	    !exists("api", "1700000010000.pb.gz"), "the oldest others go");
	ok(exists("api", "1700000021000.pb.gz") &&
	    exists("api", "1700000015000.pb.gz"), "the 7 newest stay");
	is_int(count("api"), 8, "8 files left: EVIDENCE_KEEP");

	/* By age: older than 5 s before the newest, the open one spared. */
	ok(evidence_prune(root, "api", NULL, 5000, 1700000021000, &removed,
	    &due, &cause) == 0, "prune by age");
	is_int(count("api"), 6, "the alert resolved: 6 within 5 s left");
	ok(!exists("api", first), "once resolved, its evidence ages out");
	ok(due == 1700000021001, "the oldest left, of 1700000016000, is due "
	    "5 s after it: %lld", (long long)due);
	ok(evidence_prune(root, "api", NULL, 5000, due - 1, &removed, &due,
	    &cause) == 0 && removed == 0 && count("api") == 6,
	    "a prune before then drops nothing");
	ok(evidence_prune(root, "api", NULL, 5000, due, &removed, &due,
	    &cause) == 0 && removed == 1 && count("api") == 5 &&
	    due == 1700000022001, "at it, that one goes; the next is due "
	    "a second later: %lld", (long long)due);
	ok(evidence_prune(root, "api", "1700000017000.pb.gz", 5000,
	    1700000023000, &removed, &due, &cause) == 0 && removed == 0 &&
	    due == 1700000023001, "an open alert's evidence is kept, and not "
	    "due: the next is: %lld", (long long)due);
	ok(evidence_prune(root, "api", NULL, 0, 1700000023000, &removed, &due,
	    &cause) == 0 && due == 0, "without an age, none is ever due");

	/* A time so far ahead that its age would pass INT64_MAX: never. */
	due = 0;
	i = evidence_put(root, "far", INT64_MAX - 10, false, "P", 1, id,
	    &cause) == 0 && evidence_prune(root, "far", NULL, 5000,
	    1700000023000, &removed, &due, &cause) == 0 && removed == 0;
	ok(i && due == INT64_MAX, "evidence from the far future is never "
	    "due, without overflow: %lld", (long long)due);

	/* A leftover of an interrupted write is removed. */
	snprintf(path, sizeof path, "%s/api/%s/.tmp-1-1", root, EVIDENCE_DIR);
	if ((f = fopen(path, "w")) != NULL)
		fclose(f);
	ok(evidence_prune(root, "api", NULL, 0, 0, &removed, &due,
	    &cause) == 0 && removed == 1 && access(path, F_OK) == -1,
	    "a .tmp- leftover is removed");

	/* A target with no evidence yet gets no folder from a prune. */
	snprintf(path, sizeof path, "%s/quiet", root);
	ok(evidence_prune(root, "quiet", NULL, 1000, 1700000000000, &removed,
	    &due, &cause) == 0 && removed == 0 && due == 0 &&
	    access(path, F_OK) == -1,
	    "pruning a target without evidence makes no folder");

	/* A folder that cannot be made: an error, not a crash. */
	ok(evidence_put("/nonexistent/root", "api", 1, false, "P", 1, id,
	    &cause) == -1 && cause != NULL, "an unwritable store is an error: "
	    "%s", cause != NULL ? cause : "");
	free(cause);

	snprintf(buf, sizeof buf, "rm -rf %s", root);
	if (system(buf) != 0)
		return 1;
	return tap_done();
}
