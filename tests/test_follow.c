/*
 * Unit tests for src/follow.c on a real event loop: a file that grows,
 * is rotated, truncated, missing, written a piece at a time or with
 * overlong lines; a command that prints, exits and is started again,
 * and one that will not stop when asked; a unit's entries in a journal
 * written by systemd-journal-remote.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "follow.h"
#include "tap.h"

#define POLL_MS		20
#define MAXLINES	4096

/* What a source delivered, in order. */
struct got {
	char		*lines[MAXLINES];
	int		 flags[MAXLINES];
	uint64_t	 at[MAXLINES];		/* ms, monotonic */
	int		 n;
	struct follow	*free_me;		/* freed on the first line */
};

static struct event_base	*base;
static char			 dir[64];

static uint64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
on_line(const char *s, size_t len, int flags, void *arg)
{
	struct got	*g = arg;

	if (g->n == MAXLINES)
		return;
	if ((g->lines[g->n] = malloc(len + 1)) == NULL)
		abort();
	memcpy(g->lines[g->n], s, len);
	g->lines[g->n][len] = '\0';
	g->flags[g->n] = flags;
	g->at[g->n] = now_ms();
	g->n++;
	if (g->free_me != NULL) {
		follow_free(g->free_me);
		g->free_me = NULL;
	}
}

static void
got_reset(struct got *g)
{
	int	i;

	for (i = 0; i < g->n; i++)
		free(g->lines[i]);
	memset(g, 0, sizeof *g);
}

static void
on_timeout(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/* Run the loop until g holds n lines or ms have passed. */
static bool
run_until(struct got *g, int n, uint64_t ms)
{
	struct event	*ev;
	struct timeval	 tv = { 0, 10000 };
	uint64_t	 end = now_ms() + ms;

	/* A short timer so that the loop never sleeps past the end. */
	ev = event_new(base, -1, EV_PERSIST, on_timeout, NULL);
	event_add(ev, &tv);
	while (g->n < n && now_ms() < end)
		event_base_loop(base, EVLOOP_ONCE);
	event_free(ev);
	return g->n >= n;
}

/* Run the loop for ms, whatever comes. */
static void
run_for(uint64_t ms)
{
	struct got	none;

	memset(&none, 0, sizeof none);
	run_until(&none, 1, ms);
}

static void
append(const char *path, const char *s)
{
	int	fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1 ||
	    write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
	close(fd);
}

static void
xwrite(int fd, const char *s)
{
	if (write(fd, s, strlen(s)) != (ssize_t)strlen(s))
		abort();
}

static struct follow *
file_source(const char *path, bool from_start, size_t max_line,
    struct got *g)
{
	struct follow_options	 o;
	struct follow		*f;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.kind = FOLLOW_FILE;
	o.name = "test";
	o.path = path;
	o.from_start = from_start;
	o.max_line = max_line;
	o.poll_ms = POLL_MS;
	if ((f = follow_new(base, &o, on_line, g, &cause)) == NULL) {
		printf("# follow_new: %s\n", cause);
		abort();
	}
	return f;
}

static bool
lines_are(struct got *g, const char *const *want, int n)
{
	int	i;

	if (g->n != n) {
		printf("#   %d lines, want %d\n", g->n, n);
		for (i = 0; i < g->n; i++)
			printf("#   got \"%s\"\n", g->lines[i]);
		return false;
	}
	for (i = 0; i < n; i++)
		if (strcmp(g->lines[i], want[i]) != 0 || g->flags[i] != 0) {
			printf("#   line %d: \"%s\", want \"%s\"\n", i,
			    g->lines[i], want[i]);
			return false;
		}
	return true;
}

static void
test_append(void)
{
	static const char *const want1[] = { "new1" };
	static const char *const want2[] = { "new1", "a", "b" };
	static const char *const want3[] = { "x", "y" };
	struct got	 g;
	struct follow	*f;
	char		 path[128];

	memset(&g, 0, sizeof g);
	snprintf(path, sizeof path, "%s/append.log", dir);
	append(path, "old1\nold2\npartial");
	f = file_source(path, false, 0, &g);
	run_for(3 * POLL_MS);
	is_int(g.n, 0, "from the end: nothing that was there");
	ok(follow_stats(f)->up, "the file is open");
	append(path, "-rest\nnew1\n");
	run_until(&g, 1, 2000);
	run_for(3 * POLL_MS);
	ok(lines_are(&g, want1, 1),
	    "a line begun before the start is dropped, the next delivered");
	append(path, "a\nb\n");
	run_until(&g, 3, 2000);
	ok(lines_are(&g, want2, 3), "appended lines delivered in order");
	is_int(follow_stats(f)->lines, 3, "stats: lines");
	is_int(follow_stats(f)->bytes, strlen("-rest\nnew1\na\nb\n"),
	    "stats: bytes read");
	follow_free(f);
	got_reset(&g);

	snprintf(path, sizeof path, "%s/start.log", dir);
	append(path, "x\ny\n");
	f = file_source(path, true, 0, &g);
	run_until(&g, 2, 2000);
	ok(lines_are(&g, want3, 2), "from the start: the existing lines");
	follow_free(f);
	got_reset(&g);
}

static void
test_partial(void)
{
	static const char *const want[] = { "hello", "world" };
	struct got	 g;
	struct follow	*f;
	char		 path[128];

	memset(&g, 0, sizeof g);
	snprintf(path, sizeof path, "%s/partial.log", dir);
	append(path, "");
	f = file_source(path, false, 0, &g);
	append(path, "hel");
	run_for(5 * POLL_MS);
	is_int(g.n, 0, "a partial line is held");
	append(path, "lo");
	run_for(3 * POLL_MS);
	is_int(g.n, 0, "still held without its newline");
	append(path, "\nworld\n");
	run_until(&g, 2, 2000);
	ok(lines_are(&g, want, 2), "completed later, delivered whole");
	follow_free(f);
	got_reset(&g);
}

/*
 * Rename-and-create, several times, with lines written to the old file
 * after the rename (as a writer does until it reopens) and lines in
 * both files before the loop runs: every line exactly once, in order.
 */
static void
test_rotate(void)
{
	struct got	 g;
	struct follow	*f;
	char		 path[128], old[160], s[64];
	int		 fd, next = 0, i, r, rounds = 5, per = 40;
	bool		 in_order = true;

	memset(&g, 0, sizeof g);
	snprintf(path, sizeof path, "%s/rotate.log", dir);
	snprintf(old, sizeof old, "%s.1", path);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0644)) == -1)
		abort();
	f = file_source(path, false, 0, &g);
	for (r = 0; r < rounds; r++) {
		for (i = 0; i < per; i++) {
			snprintf(s, sizeof s, "line %d\n", next++);
			xwrite(fd, s);
			if (i == per / 2 && r % 2 == 0)
				run_for(2 * POLL_MS);
		}
		if (rename(path, old) == -1)
			abort();
		/* The writer has not reopened yet. */
		for (i = 0; i < 5; i++) {
			snprintf(s, sizeof s, "line %d\n", next++);
			xwrite(fd, s);
		}
		if (r % 2 == 1)
			run_for(2 * POLL_MS);	/* seen with no file there */
		close(fd);
		if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND,
		    0644)) == -1)
			abort();
		snprintf(s, sizeof s, "line %d\n", next++);
		xwrite(fd, s);
		/*
		 * A file that comes and goes within one tick is never seen:
		 * let the loop find this one before it is rotated in turn.
		 */
		run_for(3 * POLL_MS);
	}
	close(fd);
	run_until(&g, next, 5000);
	run_for(3 * POLL_MS);
	is_int(g.n, next, "rotation: %d lines, none lost or repeated", next);
	for (i = 0; i < g.n && i < next; i++) {
		snprintf(s, sizeof s, "line %d", i);
		if (strcmp(g.lines[i], s) != 0) {
			printf("#   line %d: \"%s\"\n", i, g.lines[i]);
			in_order = false;
			break;
		}
	}
	ok(in_order, "rotation: in order");
	is_int(follow_stats(f)->rotations, rounds, "stats: rotations");
	follow_free(f);
	got_reset(&g);
}

static void
test_truncate(void)
{
	static const char *const want[] = {
		"before one", "before two", "after"
	};
	struct got	 g;
	struct follow	*f;
	char		 path[128];

	memset(&g, 0, sizeof g);
	snprintf(path, sizeof path, "%s/truncate.log", dir);
	append(path, "");
	f = file_source(path, false, 0, &g);
	append(path, "before one\nbefore two\n");
	run_until(&g, 2, 2000);
	/* copytruncate: the content went elsewhere, the file is emptied. */
	if (truncate(path, 0) == -1)
		abort();
	append(path, "after\n");
	run_until(&g, 3, 2000);
	run_for(3 * POLL_MS);
	ok(lines_are(&g, want, 3), "truncated: read again from 0");
	is_int(follow_stats(f)->truncations, 1, "stats: truncations");
	is_int(follow_stats(f)->rotations, 0, "not taken for a rotation");
	follow_free(f);
	got_reset(&g);
}

static void
test_missing(void)
{
	static const char *const want[] = { "first", "second" };
	struct got	 g;
	struct follow	*f;
	char		 path[128];

	memset(&g, 0, sizeof g);
	snprintf(path, sizeof path, "%s/later.log", dir);
	f = file_source(path, false, 0, &g);
	run_for(6 * POLL_MS);
	ok(!follow_stats(f)->up, "missing: not up");
	is_int(follow_stats(f)->errors, 1, "missing: said once");
	ok(strstr(follow_stats(f)->last_error, "later.log") != NULL,
	    "missing: last_error names the file (%s)",
	    follow_stats(f)->last_error);
	append(path, "first\nsecond\n");
	run_until(&g, 2, 2000);
	ok(lines_are(&g, want, 2), "created later: read from its start");
	ok(follow_stats(f)->up, "then up");
	is_int(follow_stats(f)->errors, 1, "no more errors");
	follow_free(f);
	got_reset(&g);
}

static void
test_overlong(void)
{
	struct got	 g;
	struct follow	*f;
	char		 path[128];
	bool		 good;
	int		 i;

	memset(&g, 0, sizeof g);
	snprintf(path, sizeof path, "%s/long.log", dir);
	append(path, "");
	f = file_source(path, false, 16, &g);
	append(path, "0123456789abcdefXYZ-the-rest\nshort\n");
	append(path, "0123456789abcdef\n");		/* exactly 16 */
	append(path, "0123456789");
	run_for(3 * POLL_MS);
	append(path, "abcdefghij");		/* cut across two reads */
	run_for(3 * POLL_MS);
	append(path, "klmnop\nend\n");
	run_until(&g, 5, 2000);
	run_for(3 * POLL_MS);
	good = g.n == 5 &&
	    strcmp(g.lines[0], "0123456789abcdef") == 0 &&
	    g.flags[0] == FOLLOW_CUT &&
	    strcmp(g.lines[1], "short") == 0 && g.flags[1] == 0 &&
	    strcmp(g.lines[2], "0123456789abcdef") == 0 && g.flags[2] == 0 &&
	    strcmp(g.lines[3], "0123456789abcdef") == 0 &&
	    g.flags[3] == FOLLOW_CUT &&
	    strcmp(g.lines[4], "end") == 0 && g.flags[4] == 0;
	ok(good, "overlong lines cut at 16 bytes and flagged, the rest "
	    "dropped");
	for (i = 0; !good && i < g.n; i++)
		printf("#   %d: \"%s\" %d\n", i, g.lines[i], g.flags[i]);
	is_int(follow_stats(f)->cut, 2, "stats: cut lines");
	follow_free(f);
	got_reset(&g);
}

/* Counts lines that must read 0, 1, 2, ... */
struct counter {
	long	next;
	bool	in_order;
};

static void
on_count(const char *s, size_t len, int flags, void *arg)
{
	struct counter	*c = arg;
	char		 want[32];
	int		 n;

	n = snprintf(want, sizeof want, "%ld", c->next++);
	if (flags != 0 || (size_t)n != len || memcmp(s, want, len) != 0)
		c->in_order = false;
}

/* A file larger than one tick reads, from its start. */
static void
test_big(void)
{
	struct follow_options	 o;
	struct counter		 c = { 0, true };
	struct follow		*f;
	struct got		 none;
	FILE			*fp;
	char			 path[128], *cause = NULL;
	long			 i, n = 1000000;

	snprintf(path, sizeof path, "%s/big.log", dir);
	if ((fp = fopen(path, "w")) == NULL)
		abort();
	for (i = 0; i < n; i++)
		fprintf(fp, "%ld\n", i);
	fclose(fp);
	memset(&o, 0, sizeof o);
	o.kind = FOLLOW_FILE;
	o.path = path;
	o.from_start = true;
	o.poll_ms = 3000;	/* bursts go on at once, not a tick later */
	if ((f = follow_new(base, &o, on_count, &c, &cause)) == NULL)
		abort();
	memset(&none, 0, sizeof none);
	for (i = 0; i < 200 && c.next < n; i++)
		run_until(&none, 1, 50);
	is_int(c.next, n, "a 6.9 MB file read from its start");
	ok(c.in_order, "every line once, in order");
	ok(i < 40, "in bursts without waiting a tick each (%ld x 50 ms)", i);
	follow_free(f);
}

static struct follow *
command_source(char *const *argv, uint64_t min, uint64_t max,
    uint64_t stable, uint64_t grace, struct got *g)
{
	struct follow_options	 o;
	struct follow		*f;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.kind = FOLLOW_COMMAND;
	o.name = "cmd";
	o.argv = argv;
	o.poll_ms = POLL_MS;
	o.backoff_min_ms = min;
	o.backoff_max_ms = max;
	o.stable_ms = stable;
	o.kill_grace_ms = grace;
	if ((f = follow_new(base, &o, on_line, g, &cause)) == NULL) {
		printf("# follow_new: %s\n", cause);
		abort();
	}
	return f;
}

static void
test_command(void)
{
	char *const	 argv[] = { "/bin/sh", "-c",
	    "echo one; echo two >&2; printf three", NULL };
	struct got	 g;
	struct follow	*f;
	uint64_t	 gap[4];
	int		 i, runs = 5;
	bool		 shape = true;

	memset(&g, 0, sizeof g);
	f = command_source(argv, 100, 400, 60000, 0, &g);
	run_until(&g, 3 * runs, 5000);
	follow_free(f);
	is_int(g.n, 3 * runs, "command: %d runs of 3 lines", runs);
	for (i = 0; i < g.n; i++)
		if (strcmp(g.lines[i], i % 3 == 0 ? "one" :
		    i % 3 == 1 ? "two" : "three") != 0)
			shape = false;
	ok(shape, "stdout and stderr, and a last line without newline");
	if (g.n < 3 * runs) {
		got_reset(&g);
		return;
	}
	for (i = 0; i < 4; i++)
		gap[i] = g.at[3 * (i + 1)] - g.at[3 * i];
	printf("# restart gaps: %llu %llu %llu %llu ms\n",
	    (unsigned long long)gap[0], (unsigned long long)gap[1],
	    (unsigned long long)gap[2], (unsigned long long)gap[3]);
	ok(gap[0] >= 90 && gap[1] >= 190 && gap[2] >= 390 &&
	    gap[3] >= 390, "backoff doubles from 100 ms");
	ok(gap[3] < gap[2] + 300, "backoff bounded at 400 ms");
	got_reset(&g);
}

/* A command that ran longer than stable_ms restarts after backoff_min. */
static void
test_command_stable(void)
{
	char *const	 argv[] = { "/bin/sh", "-c", "echo tick; sleep 0.3",
	    NULL };
	struct got	 g;
	struct follow	*f;
	uint64_t	 gap;
	int		 i;
	bool		 flat = true;

	memset(&g, 0, sizeof g);
	f = command_source(argv, 100, 5000, 200, 0, &g);
	run_until(&g, 5, 6000);
	is_int(g.n, 5, "stable command: 5 runs");
	ok(follow_stats(f)->restarts >= 4, "stats: restarts (%llu)",
	    (unsigned long long)follow_stats(f)->restarts);
	for (i = 1; i < g.n; i++) {
		gap = g.at[i] - g.at[i - 1];
		if (gap > 1000)
			flat = false;
		printf("# gap %d: %llu ms\n", i, (unsigned long long)gap);
	}
	ok(flat, "a run longer than stable_ms resets the backoff");
	follow_free(f);
	got_reset(&g);
}

static bool
proc_running(pid_t pid)
{
	char	path[64], buf[256], *p;
	FILE	*fp;
	bool	 running = false;

	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	if (fgets(buf, sizeof buf, fp) != NULL &&
	    (p = strrchr(buf, ')')) != NULL && p[1] == ' ')
		running = p[2] != 'Z' && p[2] != 'X';
	fclose(fp);
	return running;
}

static void
test_command_free(void)
{
	char *const	 stubborn[] = { "/bin/sh", "-c",
	    "trap '' TERM; sleep 60 & echo $$ $!; wait; wait", NULL };
	char *const	 polite[] = { "/bin/sh", "-c",
	    "echo $$; exec sleep 60", NULL };
	char *const	 missing[] = { "/nonexistent/heapwatch-cmd", NULL };
	struct got	 g;
	struct follow	*f;
	uint64_t	 t0, took;
	int		 shell = 0, child = 0;

	memset(&g, 0, sizeof g);
	f = command_source(stubborn, 100, 400, 60000, 300, &g);
	run_until(&g, 1, 3000);
	if (g.n < 1 || sscanf(g.lines[0], "%d %d", &shell, &child) != 2) {
		ok(0, "stubborn command started");
		follow_free(f);
		got_reset(&g);
		return;
	}
	ok(proc_running(shell) && proc_running(child),
	    "stubborn command and its child running");
	t0 = now_ms();
	follow_free(f);
	took = now_ms() - t0;
	ok(took >= 290 && took < 3000,
	    "free waits the grace, then kills (%llu ms)",
	    (unsigned long long)took);
	ok(!proc_running(shell), "the command is gone, reaped");
	run_for(100);
	ok(!proc_running(child), "its process group is gone too");
	got_reset(&g);

	f = command_source(polite, 100, 400, 60000, 5000, &g);
	run_until(&g, 1, 3000);
	shell = g.n > 0 ? atoi(g.lines[0]) : 0;
	t0 = now_ms();
	follow_free(f);
	took = now_ms() - t0;
	ok(shell > 0 && !proc_running(shell) && took < 2000,
	    "a command that stops on SIGTERM is freed at once (%llu ms)",
	    (unsigned long long)took);
	got_reset(&g);

	f = command_source(missing, 5000, 5000, 60000, 0, &g);
	run_until(&g, 1, 3000);
	run_for(5 * POLL_MS);
	ok(g.n == 1 && strstr(g.lines[0], "cannot run") != NULL,
	    "a command that cannot run says so");
	ok(strstr(follow_stats(f)->last_error, "status 127") != NULL,
	    "last_error: %s", follow_stats(f)->last_error);
	ok(!follow_stats(f)->up, "and is not up");
	follow_free(f);
	got_reset(&g);
}

/* A callback that frees its own source, file and command. */
static void
test_free_in_callback(void)
{
	char *const	 argv[] = { "/bin/sh", "-c", "echo a; echo b; "
	    "exec sleep 60", NULL };
	struct got	 g;
	char		 path[128];

	memset(&g, 0, sizeof g);
	snprintf(path, sizeof path, "%s/self.log", dir);
	append(path, "one\ntwo\nthree\n");
	g.free_me = file_source(path, true, 0, &g);
	run_until(&g, 1, 2000);
	run_for(3 * POLL_MS);
	is_int(g.n, 1, "file source freed from its callback: no more lines");
	got_reset(&g);

	g.free_me = command_source(argv, 100, 400, 60000, 0, &g);
	run_until(&g, 1, 2000);
	run_for(3 * POLL_MS);
	is_int(g.n, 1, "command source freed from its callback");
	got_reset(&g);
}

/*
 * The journal, as systemd-journal-remote writes it from journal export
 * format on its standard input: a real journal file in a folder, written
 * while the source reads it.
 */
#ifdef HAVE_SYSTEMD
struct remote {
	pid_t	pid;
	int	fd;		/* its standard input */
};

#define BOOT_ID		"5b1e0c7f3a9d4e6f8a2b1c0d9e8f7a6b"

static const char	*remote_bin;
static uint64_t		 remote_seq;	/* orders the entries written */

static const char *
remote_find(void)
{
	static const char *const where[] = {
		"/lib/systemd/systemd-journal-remote",
		"/usr/lib/systemd/systemd-journal-remote",
	};
	size_t	i;

	for (i = 0; i < sizeof where / sizeof where[0]; i++)
		if (access(where[i], X_OK) == 0)
			return where[i];
	return NULL;
}

/* Start systemd-journal-remote writing the journal file output. */
static bool
remote_start(struct remote *r, const char *output)
{
	char	arg[256], log[160];
	int	fds[2], fd;

	snprintf(arg, sizeof arg, "--output=%s", output);
	snprintf(log, sizeof log, "%s/remote.log", dir);
	if (pipe2(fds, O_CLOEXEC) == -1 || (r->pid = fork()) == -1)
		abort();
	if (r->pid == 0) {
		if ((fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0644)) ==
		    -1 || dup2(fds[0], STDIN_FILENO) == -1 ||
		    dup2(fd, STDOUT_FILENO) == -1 ||
		    dup2(fd, STDERR_FILENO) == -1)
			_exit(126);
		execl(remote_bin, remote_bin, arg, "-", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	r->fd = fds[1];
	return true;
}

/* Close its input: it writes what it has and exits. Its exit status. */
static int
remote_stop(struct remote *r)
{
	uint64_t	end = now_ms() + 10000;
	pid_t		got;
	int		status = -1;

	close(r->fd);
	while ((got = waitpid(r->pid, &status, WNOHANG)) == 0 &&
	    now_ms() < end)
		usleep(10000);
	if (got == 0) {
		kill(r->pid, SIGKILL);
		waitpid(r->pid, &status, 0);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/*
 * Write one entry in journal export format; a MESSAGE with a newline in
 * it goes in the binary form: the name, a newline, its length as 64 bits
 * little-endian, the bytes.
 */
static void
remote_entry(struct remote *r, const char *unit, const char *msg)
{
	char		 head[512], *p;
	uint64_t	 n = strlen(msg), i;
	unsigned char	 le[8];
	size_t		 len;

	remote_seq++;
	snprintf(head, sizeof head, "__REALTIME_TIMESTAMP=%llu\n"
	    "__MONOTONIC_TIMESTAMP=%llu\n_BOOT_ID=" BOOT_ID "\n"
	    "_SYSTEMD_UNIT=%s\n_PID=4242\n",
	    (unsigned long long)(1700000000000000ULL + remote_seq * 1000),
	    (unsigned long long)(1000000ULL + remote_seq * 1000), unit);
	xwrite(r->fd, head);
	if (strchr(msg, '\n') == NULL) {
		len = strlen("MESSAGE=") + n + 3;
		if ((p = malloc(len)) == NULL)
			abort();
		snprintf(p, len, "MESSAGE=%s\n\n", msg);
		xwrite(r->fd, p);
		free(p);
		return;
	}
	for (i = 0; i < 8; i++)
		le[i] = (unsigned char)(n >> (8 * i));
	xwrite(r->fd, "MESSAGE\n");
	if (write(r->fd, le, sizeof le) != (ssize_t)sizeof le)
		abort();
	xwrite(r->fd, msg);
	xwrite(r->fd, "\n\n");
}

static struct follow *
journal_source(const char *unit, const char *directory, bool from_start,
    size_t max_line, uint64_t poll_ms, struct got *g)
{
	struct follow_options	 o;
	struct follow		*f;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.kind = FOLLOW_JOURNAL;
	o.name = "journal";
	o.unit = unit;
	o.directory = directory;
	o.from_start = from_start;
	o.max_line = max_line;
	o.poll_ms = poll_ms;
	if ((f = follow_new(base, &o, on_line, g, &cause)) == NULL) {
		printf("# follow_new: %s\n", cause);
		abort();
	}
	return f;
}

/* Lines and flags, as g holds them from index from on. */
static bool
lines_flags_are(struct got *g, int from, const char *const *want,
    const int *flags, int n)
{
	int	i;
	bool	same = g->n - from == n;

	for (i = 0; same && i < n; i++)
		if (strcmp(g->lines[from + i], want[i]) != 0 ||
		    g->flags[from + i] != flags[i])
			same = false;
	if (!same)
		for (i = from; i < g->n; i++)
			printf("#   got \"%s\" %d\n", g->lines[i], g->flags[i]);
	return same;
}

/*
 * A unit's entries as they are written, from the end, by the journal's
 * descriptor alone (a tick of a minute), then through a rotation, a
 * vacuum and a second file in the folder.
 */
static void
test_journal(void)
{
	static const char *const before[] = { "before one", "before two" };
	static const char *const want[] = {
		"one", "two", "0123456789abcdef0123456789abcdef", "three",
		"four", "", "five", "six"
	};
	static const int wflags[] = { 0, 0, FOLLOW_CUT, 0, 0, 0, 0, 0 };
	static const char *const later[] = {
		"after rotation", "after vacuum", "in another file"
	};
	static const int zero[] = { 0, 0, 0 };
	struct remote	 r;
	struct got	 g, g0;
	struct follow	*f, *f0;
	char		 jdir[128], out[192], old[192];
	uint64_t	 t0, took;
	int		 i;

	memset(&g, 0, sizeof g);
	memset(&g0, 0, sizeof g0);
	snprintf(jdir, sizeof jdir, "%s/journal", dir);
	snprintf(out, sizeof out, "%s/remote.journal", jdir);
	if (mkdir(jdir, 0755) == -1)
		abort();
	remote_start(&r, out);
	remote_entry(&r, "api.service", "before one");
	remote_entry(&r, "other.service", "before, not ours");
	remote_entry(&r, "api.service", "before two");

	/* From the start: what is there, which also says it is written. */
	f0 = journal_source("api.service", jdir, true, 0, POLL_MS, &g0);
	run_until(&g0, 2, 5000);
	ok(lines_flags_are(&g0, 0, before, zero, 2),
	    "journal from the start: the unit's entries there");
	follow_free(f0);
	got_reset(&g0);

	f = journal_source("api", jdir, false, 32, 60000, &g);
	ok(follow_stats(f)->up, "journal: open");
	run_for(200);
	is_int(g.n, 0, "journal from the end: nothing that was there");

	remote_entry(&r, "api.service", "one");
	remote_entry(&r, "other.service", "not ours");
	remote_entry(&r, "api2.service", "not ours either");
	remote_entry(&r, "api.service", "two");
	run_until(&g, 2, 5000);
	remote_entry(&r, "api.service", "0123456789abcdef0123456789abcdef"
	    "-the-rest");
	remote_entry(&r, "api.service", "three\nfour\n\nfive\n");
	t0 = now_ms();
	remote_entry(&r, "api.service", "six");
	run_until(&g, 8, 5000);
	took = now_ms() - t0;
	run_for(100);
	ok(lines_flags_are(&g, 0, want, wflags, 8),
	    "the unit's MESSAGEs as lines, in order, cut at max_line, "
	    "split at newlines");
	printf("# last entry written to line delivered: %llu ms\n",
	    (unsigned long long)took);
	ok(took < 3000, "promptly, with only the journal's descriptor to "
	    "wake the loop (%llu ms)", (unsigned long long)took);
	is_int(follow_stats(f)->lines, 8, "stats: lines");
	is_int(follow_stats(f)->cut, 1, "stats: cut");
	is_int(follow_stats(f)->errors, 0, "stats: no errors");
	is_int(remote_stop(&r), 0, "systemd-journal-remote wrote it all");

	/*
	 * Rotation as journald does it: the file renamed, a new one at its
	 * name. Then the old one vacuumed, then another file in the folder.
	 */
	snprintf(old, sizeof old, "%s/remote@rotated.journal", jdir);
	if (rename(out, old) == -1)
		abort();
	remote_start(&r, out);
	remote_entry(&r, "api.service", "after rotation");
	run_until(&g, 9, 5000);
	if (unlink(old) == -1)
		abort();
	run_for(200);
	remote_entry(&r, "api.service", "after vacuum");
	run_until(&g, 10, 5000);
	is_int(remote_stop(&r), 0, "systemd-journal-remote again");
	snprintf(out, sizeof out, "%s/other.journal", jdir);
	remote_start(&r, out);
	remote_entry(&r, "api.service", "in another file");
	run_until(&g, 11, 5000);
	run_for(200);
	ok(lines_flags_are(&g, 8, later, zero, 3),
	    "through rotation, vacuum and a new file: each line once");
	ok(follow_stats(f)->rotations >= 2, "stats: rotations (%llu)",
	    (unsigned long long)follow_stats(f)->rotations);
	is_int(follow_stats(f)->errors, 0, "still no errors");
	ok(follow_stats(f)->up, "still up");

	/* Freed from its own callback, in the middle of a burst. */
	got_reset(&g);
	follow_free(f);
	g.free_me = journal_source("api.service", jdir, false, 0, 60000, &g);
	for (i = 0; i < 3; i++)
		remote_entry(&r, "api.service", "burst");
	run_until(&g, 1, 5000);
	run_for(200);
	is_int(g.n, 1, "journal source freed from its callback");
	got_reset(&g);
	is_int(remote_stop(&r), 0, "systemd-journal-remote stops");
}

/* A folder that is not there yet: waited for, then read from its start. */
static void
test_journal_missing(void)
{
	static const char *const want[] = { "first", "second" };
	static const int zero[] = { 0, 0 };
	struct remote	 r;
	struct got	 g;
	struct follow	*f;
	char		 jdir[128], out[192];

	memset(&g, 0, sizeof g);
	snprintf(jdir, sizeof jdir, "%s/later", dir);
	snprintf(out, sizeof out, "%s/remote.journal", jdir);
	f = journal_source("api.service", jdir, false, 0, POLL_MS, &g);
	run_for(5 * POLL_MS);
	ok(!follow_stats(f)->up, "missing journal folder: not up");
	is_int(follow_stats(f)->errors, 1, "missing journal folder: said once");
	ok(strstr(follow_stats(f)->last_error, "later") != NULL,
	    "last_error names the folder (%s)", follow_stats(f)->last_error);
	if (mkdir(jdir, 0755) == -1)
		abort();
	remote_start(&r, out);
	remote_entry(&r, "api.service", "first");
	remote_entry(&r, "api.service", "second");
	run_until(&g, 2, 5000);
	run_for(100);
	ok(lines_flags_are(&g, 0, want, zero, 2),
	    "a folder that appears later is read from its start");
	ok(follow_stats(f)->up, "then up");
	is_int(follow_stats(f)->errors, 1, "no more errors");
	is_int(remote_stop(&r), 0, "systemd-journal-remote stops");
	follow_free(f);
	got_reset(&g);
}

static void
test_journal_options(void)
{
	struct follow_options	 o;
	struct follow		*f;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.kind = FOLLOW_JOURNAL;
	f = follow_new(base, &o, on_line, NULL, &cause);
	ok(f == NULL && cause != NULL && strstr(cause, "unit") != NULL,
	    "a journal source needs a unit (%s)", cause ? cause : "");
	free(cause);
	cause = NULL;
	o.unit = "api.service";
	o.directory = "relative/journal";
	f = follow_new(base, &o, on_line, NULL, &cause);
	ok(f == NULL && cause != NULL && strstr(cause, "absolute") != NULL,
	    "and an absolute folder (%s)", cause ? cause : "");
	free(cause);
}

static void
test_journals(void)
{
	if ((remote_bin = remote_find()) == NULL) {
		ok(0, "systemd-journal-remote is installed (tools/deps.sh)");
		return;
	}
	test_journal_options();
	test_journal();
	test_journal_missing();
}
#else
static void
test_journals(void)
{
	struct follow_options	 o;
	struct follow		*f;
	char			*cause = NULL;

	memset(&o, 0, sizeof o);
	o.kind = FOLLOW_JOURNAL;
	o.unit = "api.service";
	f = follow_new(base, &o, on_line, NULL, &cause);
	ok(f == NULL && cause != NULL && strstr(cause, "libsystemd") != NULL,
	    "no journal without libsystemd (%s)", cause ? cause : "");
	free(cause);
}
#endif

int
main(void)
{
	char	cmd[128];

	signal(SIGPIPE, SIG_IGN);
	snprintf(dir, sizeof dir, "/tmp/test_follow.XXXXXX");
	if (mkdtemp(dir) == NULL || (base = event_base_new()) == NULL)
		abort();
	test_append();
	test_partial();
	test_rotate();
	test_truncate();
	test_missing();
	test_overlong();
	test_big();
	test_command();
	test_command_stable();
	test_command_free();
	test_free_in_callback();
	test_journals();
	event_base_free(base);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		printf("# could not remove %s\n", dir);
	return tap_done();
}
