/*
 * Following a log file, a command's output or a unit's journal, line by
 * line, on the caller's libevent loop. See follow.h for the choices.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#ifdef HAVE_SYSTEMD
#include <poll.h>
#include <systemd/sd-journal.h>
#endif

#include "clock.h"
#include "follow.h"
#include "log.h"
#include "xmalloc.h"

#define READ_CHUNK	65536
/* What one tick or one read event takes before the loop runs again. */
#define READ_BURST	(4 * 1024 * 1024)
/* What sd-journal is asked for of a MESSAGE, at least. */
#define JOURNAL_DATA	(1024 * 1024)
#define JOURNAL_PREFIX	"MESSAGE="

struct follow {
	struct event_base	*base;
	struct follow_options	 opts;
	char			*name;
	char			*path;
	char			**argv;
	follow_line_cb		 cb;
	void			*arg;
	struct follow_stats	 stats;
	struct event		*tick;
	char			*chunk;		/* READ_CHUNK bytes */

	/* The line being put together, at most max_line bytes. */
	char			*line;
	size_t			 used;
	bool			 skipping;	/* dropping up to a newline */

	/* Inside one of our event callbacks; dead: freed from there. */
	bool			 busy;
	bool			 dead;

	/* FOLLOW_FILE */
	int			 fd;
	dev_t			 dev;
	ino_t			 ino;
	off_t			 off;
	bool			 missing;	/* said so once */
	int			 open_errno;	/* the open error said */

	/* FOLLOW_COMMAND */
	pid_t			 pid;		/* -1: not running */
	int			 pipe;
	struct event		*ev_pipe;
	uint64_t		 started_ms;
	uint64_t		 restart_at;	/* 0: none planned */
	uint64_t		 backoff_ms;
	char			*exec_msg;	/* what a failed exec prints */

	/* FOLLOW_JOURNAL */
	char			*unit;
	char			*directory;
#ifdef HAVE_SYSTEMD
	sd_journal		*journal;
#endif
	struct event		*ev_journal;	/* its descriptor */
	struct event		*ev_wake;	/* the timeout it asks for */
	size_t			 threshold;	/* MESSAGE= and bytes */
	char			*cursor;	/* go on here after an error */
	bool			 pending;	/* the current entry: unread */
	int			 journal_errno;	/* the open error said */
};

/* Keep a problem for the stats and say it once in the log. */
static void __attribute__((format(printf, 2, 3)))
follow_error(struct follow *f, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(f->stats.last_error, sizeof f->stats.last_error, fmt, ap);
	va_end(ap);
	f->stats.errors++;
	log_warnx("%s: %s", f->name, f->stats.last_error);
}

static void
follow_deliver(struct follow *f, const char *s, size_t n, int flags)
{
	f->stats.lines++;
	if (flags & FOLLOW_CUT)
		f->stats.cut++;
	f->cb(s, n, flags, f->arg);
}

/*
 * Split bytes into lines. NUL bytes at the start of a line are dropped:
 * they are what a writer without O_APPEND leaves in a file truncated
 * under it (the hole up to its old offset).
 */
static void
follow_feed(struct follow *f, const char *p, size_t n)
{
	const char	*nl;
	size_t		 seg, room, len;

	while (n > 0 && !f->dead) {
		if (f->used == 0 && !f->skipping && *p == '\0') {
			p++;
			n--;
			continue;
		}
		nl = memchr(p, '\n', n);
		seg = nl != NULL ? (size_t)(nl - p) : n;
		room = f->opts.max_line - f->used;
		if (f->skipping) {
			if (nl != NULL)
				f->skipping = false;
		} else if (seg > room) {
			memcpy(f->line + f->used, p, room);
			f->used = 0;
			f->skipping = nl == NULL;
			follow_deliver(f, f->line, f->opts.max_line,
			    FOLLOW_CUT);
		} else {
			memcpy(f->line + f->used, p, seg);
			f->used += seg;
			if (nl != NULL) {
				len = f->used;
				f->used = 0;
				follow_deliver(f, f->line, len, 0);
			}
		}
		if (nl == NULL)
			break;
		n -= seg + 1;
		p = nl + 1;
	}
}

/* Give out a last line that has no newline (the end of a command). */
static void
follow_flush(struct follow *f)
{
	size_t	len = f->used;

	f->used = 0;
	if (len > 0 && !f->skipping)
		follow_deliver(f, f->line, len, 0);
	f->skipping = false;
}

/*
 * Open the file at the path: from its end when at_end (and then drop
 * the rest of a line that was being written), else from its start.
 */
static int
file_open(struct follow *f, bool at_end)
{
	struct stat	st;
	char		c;
	int		fd, saved;

	if ((fd = open(f->path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	if (fstat(fd, &st) == -1) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	f->fd = fd;
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->off = 0;
	if (at_end && st.st_size > 0) {
		f->off = st.st_size;
		if (pread(fd, &c, 1, st.st_size - 1) == 1 && c != '\n')
			f->skipping = true;
	}
	f->stats.up = true;
	return 0;
}

static void
file_close(struct follow *f)
{
	if (f->fd != -1)
		close(f->fd);
	f->fd = -1;
	f->stats.up = false;
}

/*
 * Read what the open file holds past our offset: 0 at its end, 1 when a
 * burst was read and there is maybe more, -1 on an error (said).
 */
static int
file_read(struct follow *f)
{
	ssize_t	n;
	size_t	total = 0;

	while (!f->dead) {
		n = pread(f->fd, f->chunk, READ_CHUNK, f->off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			follow_error(f, "read %s: %s", f->path,
			    strerror(errno));
			return -1;
		}
		if (n == 0)
			return 0;
		f->off += n;
		f->stats.bytes += (uint64_t)n;
		follow_feed(f, f->chunk, (size_t)n);
		if ((total += (size_t)n) >= READ_BURST)
			return 1;
	}
	return 0;
}

/* Read the rest of a file that is being left, however much. */
static void
file_read_all(struct follow *f)
{
	while (!f->dead && file_read(f) == 1)
		;
}

/* One tick of a file: open it, read it, notice truncation and rotation. */
static void
file_tick(struct follow *f)
{
	struct stat	st;

	if (f->fd == -1) {
		if (file_open(f, false) == -1) {
			if (errno == ENOENT && !f->missing) {
				f->missing = true;
				follow_error(f, "%s does not exist (yet): "
				    "waiting for it", f->path);
			} else if (errno != ENOENT &&
			    errno != f->open_errno) {
				f->open_errno = errno;
				follow_error(f, "open %s: %s", f->path,
				    strerror(errno));
			}
			return;
		}
		if (f->missing || f->open_errno != 0)
			log_info("%s: reading %s", f->name, f->path);
		f->missing = false;
		f->open_errno = 0;
	}

	switch (file_read(f)) {
	case -1:
		file_close(f);
		return;
	case 1:
		/* More to read: again as soon as the loop has run. */
		event_active(f->tick, EV_TIMEOUT, 1);
		return;
	}
	if (f->dead)
		return;

	/*
	 * Copied and truncated: the content starts again at 0, and a line
	 * held from before is dropped (its end went to the copy). Not
	 * seen: a file that grows past our offset again within one tick,
	 * and a writer without O_APPEND, which goes on at its old offset
	 * (the hole before it reads as NULs, which follow_feed() drops).
	 */
	if (fstat(f->fd, &st) == 0 && st.st_size < f->off) {
		log_info("%s: %s was truncated: reading it from its start",
		    f->name, f->path);
		f->stats.truncations++;
		f->off = 0;
		f->used = 0;
		f->skipping = false;
		if (file_read(f) == -1) {
			file_close(f);
			return;
		}
	}

	/*
	 * Renamed, and a new file created at the path: what was written
	 * to the old one until now is read before the new one is opened.
	 * While nothing is at the path, the old file is still read.
	 */
	if (stat(f->path, &st) == -1 ||
	    (st.st_dev == f->dev && st.st_ino == f->ino))
		return;
	file_read_all(f);
	if (f->dead)
		return;
	file_close(f);
	f->stats.rotations++;
	log_info("%s: %s was rotated: reading the new file", f->name,
	    f->path);
	if (file_open(f, false) == -1)
		return;		/* gone again: the next tick says so */
	if (file_read(f) == -1)
		file_close(f);
}

static void
cmd_close_pipe(struct follow *f)
{
	if (f->ev_pipe != NULL)
		event_free(f->ev_pipe);
	f->ev_pipe = NULL;
	if (f->pipe != -1)
		close(f->pipe);
	f->pipe = -1;
}

/* Read what the pipe holds now: -1 at its end or on an error. */
static int
cmd_read_pipe(struct follow *f)
{
	ssize_t	n;
	size_t	total = 0;

	while (!f->dead && f->pipe != -1 && total < READ_BURST) {
		n = read(f->pipe, f->chunk, READ_CHUNK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			if (n == -1)
				follow_error(f, "read from %s: %s",
				    f->argv[0], strerror(errno));
			cmd_close_pipe(f);
			return -1;
		}
		f->stats.bytes += (uint64_t)n;
		follow_feed(f, f->chunk, (size_t)n);
		total += (size_t)n;
	}
	return 0;
}

static void	follow_on_pipe(evutil_socket_t, short, void *);

static void
cmd_start(struct follow *f)
{
	sigset_t	all;
	pid_t		pid, parent = getpid();
	int		fds[2], null;

	f->restart_at = 0;
	if (pipe2(fds, O_CLOEXEC) == -1) {
		follow_error(f, "pipe: %s", strerror(errno));
		f->restart_at = (uint64_t)clock_mono_ms() + f->backoff_ms;
		return;
	}
	if ((pid = fork()) == -1) {
		follow_error(f, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		f->restart_at = (uint64_t)clock_mono_ms() + f->backoff_ms;
		return;
	}
	if (pid == 0) {
		/*
		 * Its own process group, so that stopping it reaches what
		 * it starts too; killed if heapwatchd dies without stopping
		 * it; default signal handling; nothing to read.
		 */
		setpgid(0, 0);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) == -1 ||
		    getppid() != parent)
			_exit(126);
		signal(SIGPIPE, SIG_DFL);
		signal(SIGCHLD, SIG_DFL);
		signal(SIGHUP, SIG_DFL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		sigemptyset(&all);
		sigprocmask(SIG_SETMASK, &all, NULL);
		if ((null = open("/dev/null", O_RDONLY)) != -1) {
			dup2(null, STDIN_FILENO);
			if (null > STDERR_FILENO)
				close(null);
		}
		if (dup2(fds[1], STDOUT_FILENO) == -1 ||
		    dup2(fds[1], STDERR_FILENO) == -1)
			_exit(126);
		execvp(f->argv[0], f->argv);
		if (write(STDERR_FILENO, f->exec_msg, strlen(f->exec_msg)) ==
		    -1)
			_exit(127);
		_exit(127);
	}
	setpgid(pid, pid);	/* as the child does: no race with kill */
	close(fds[1]);
	if (fcntl(fds[0], F_SETFL, fcntl(fds[0], F_GETFL) | O_NONBLOCK) ==
	    -1)
		log_warn("%s: fcntl", f->name);
	f->pipe = fds[0];
	f->pid = pid;
	f->started_ms = (uint64_t)clock_mono_ms();
	f->stats.up = true;
	f->ev_pipe = event_new(f->base, f->pipe, EV_READ | EV_PERSIST,
	    follow_on_pipe, f);
	if (f->ev_pipe == NULL || event_add(f->ev_pipe, NULL) == -1)
		fatalx("%s: cannot add a pipe to the event loop", f->name);
}

/* The command has exited with status: read its last words, plan more. */
static void
cmd_exited(struct follow *f, int status)
{
	uint64_t	ran = (uint64_t)clock_mono_ms() - f->started_ms, delay;
	char		how[64];

	f->pid = -1;
	f->stats.up = false;
	/*
	 * Its last output, as far as it is in the pipe now: a child of
	 * the command may hold the pipe open, so do not wait for its end.
	 */
	cmd_read_pipe(f);
	cmd_close_pipe(f);
	if (f->dead)
		return;
	follow_flush(f);
	if (f->dead)
		return;

	if (ran >= f->opts.stable_ms)
		f->backoff_ms = f->opts.backoff_min_ms;
	delay = f->backoff_ms;
	f->backoff_ms = f->backoff_ms > f->opts.backoff_max_ms / 2 ?
	    f->opts.backoff_max_ms : f->backoff_ms * 2;
	f->restart_at = (uint64_t)clock_mono_ms() + delay;
	if (WIFEXITED(status))
		snprintf(how, sizeof how, "exited with status %d",
		    WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(how, sizeof how, "was killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof how, "stopped");
	follow_error(f, "%s %s after %llu ms: starting it again in %llu ms",
	    f->argv[0], how, (unsigned long long)ran,
	    (unsigned long long)delay);
}

/* Has the command exited? Reap it if so. */
static void
cmd_check(struct follow *f)
{
	pid_t	r;
	int	status = 0;

	if (f->pid == -1)
		return;
	do
		r = waitpid(f->pid, &status, WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == f->pid)
		cmd_exited(f, status);
	else if (r == -1)	/* ECHILD: SIGCHLD ignored, reaped already */
		cmd_exited(f, 0);
}

static void
cmd_tick(struct follow *f)
{
	if (f->pid != -1)
		cmd_check(f);
	else if (f->restart_at != 0 && (uint64_t)clock_mono_ms() >= f->restart_at) {
		f->stats.restarts++;
		cmd_start(f);
	}
}

#ifdef HAVE_SYSTEMD
static void	follow_on_journal(evutil_socket_t, short, void *);

/* Ask the loop to wake us when sd-journal wants a look without events. */
static void
journal_arm(struct follow *f)
{
	struct timeval	tv;
	uint64_t	at, now;

	if (sd_journal_get_timeout(f->journal, &at) < 0 || at == UINT64_MAX) {
		event_del(f->ev_wake);
		return;
	}
	now = (uint64_t)clock_mono_us();
	at = at > now ? at - now : 0;
	tv = clock_tv_us((int64_t)at);
	event_add(f->ev_wake, &tv);
}

/*
 * Close the journal. After an error, keep the cursor of the entry last
 * read, so that reading goes on from there when it is opened again.
 */
static void
journal_close(struct follow *f, bool keep_place)
{
	if (f->journal == NULL)
		return;
	if (keep_place && !f->pending && f->cursor == NULL &&
	    sd_journal_get_cursor(f->journal, &f->cursor) < 0)
		f->cursor = NULL;
	if (f->ev_journal != NULL)
		event_free(f->ev_journal);
	f->ev_journal = NULL;
	event_del(f->ev_wake);
	sd_journal_close(f->journal);
	f->journal = NULL;
	f->pending = false;
	f->stats.up = false;
}

/*
 * Place a freshly opened journal: after the entry of the cursor kept, at
 * its end (on its last entry, so that the next one is new), or before
 * its first entry.
 */
static int
journal_place(struct follow *f, sd_journal *j, bool at_end)
{
	int	r;

	if (f->cursor != NULL) {
		if ((r = sd_journal_seek_cursor(j, f->cursor)) < 0)
			return r;
		if ((r = sd_journal_next(j)) < 0)
			return r;
		/* Gone: the entry now current follows it, unread. */
		if (r > 0 && sd_journal_test_cursor(j, f->cursor) <= 0)
			f->pending = true;
		free(f->cursor);
		f->cursor = NULL;
		return 0;
	}
	if (!at_end)
		return sd_journal_seek_head(j);
	if ((r = sd_journal_seek_tail(j)) < 0)
		return r;
	r = sd_journal_previous(j);
	return r < 0 ? r : 0;
}

/* Open the journal and watch it; -1 with errno set when it cannot be. */
static int
journal_open(struct follow *f, bool at_end)
{
	sd_journal	*j = NULL;
	char		*match;
	short		 what = EV_PERSIST;
	int		 r, fd, events;

	if (f->directory != NULL)
		r = sd_journal_open_directory(&j, f->directory, 0);
	else
		r = sd_journal_open(&j, SD_JOURNAL_LOCAL_ONLY |
		    SD_JOURNAL_SYSTEM);
	if (r < 0) {
		errno = -r;
		return -1;
	}
	xasprintf(&match, "_SYSTEMD_UNIT=%s", f->unit);
	r = sd_journal_add_match(j, match, 0);
	free(match);
	if (r >= 0)
		r = sd_journal_set_data_threshold(j, f->threshold);
	if (r >= 0)
		r = journal_place(f, j, at_end);
	if (r >= 0 && (r = fd = sd_journal_get_fd(j)) >= 0)
		r = events = sd_journal_get_events(j);
	if (r < 0) {
		sd_journal_close(j);
		f->pending = false;
		errno = -r;
		return -1;
	}
	if (events & POLLIN)
		what |= EV_READ;
	if (events & POLLOUT)
		what |= EV_WRITE;
	f->journal = j;
	f->ev_journal = event_new(f->base, fd, what, follow_on_journal, f);
	if (f->ev_journal == NULL || event_add(f->ev_journal, NULL) == -1)
		fatalx("%s: cannot add the journal to the event loop",
		    f->name);
	f->stats.up = true;
	/* What came between the open and the first event. */
	event_active(f->ev_journal, EV_READ, 1);
	return 0;
}

/* Give out one entry's MESSAGE as lines. */
static void
journal_entry(struct follow *f, const char *data, size_t len)
{
	size_t	plen = sizeof JOURNAL_PREFIX - 1, n;
	bool	short_read = len >= f->threshold;

	if (len < plen || memcmp(data, JOURNAL_PREFIX, plen) != 0)
		return;
	data += plen;
	len -= plen;
	f->stats.bytes += len;
	follow_feed(f, data, len);
	if (f->dead)
		return;
	if (short_read && f->used > 0 && !f->skipping) {
		n = f->used;
		f->used = 0;
		follow_deliver(f, f->line, n, FOLLOW_CUT);
		return;
	}
	follow_flush(f);
}

/*
 * Deliver the entries after the last one read: 0 at the end, 1 when a
 * burst was read and there is maybe more, -1 on an error (said, and the
 * journal closed, to be opened again at the next tick).
 */
static int
journal_read(struct follow *f)
{
	const void	*data;
	size_t		 len, total = 0;
	int		 r;

	while (!f->dead) {
		if (f->pending) {
			f->pending = false;
			r = 1;
		} else if ((r = sd_journal_next(f->journal)) < 0) {
			follow_error(f, "read journal: %s", strerror(-r));
			journal_close(f, true);
			return -1;
		}
		if (r == 0)
			return 0;
		r = sd_journal_get_data(f->journal, "MESSAGE", &data, &len);
		if (r == -ENOENT)
			continue;	/* nothing said */
		if (r < 0) {
			follow_error(f, "journal entry: %s", strerror(-r));
			continue;
		}
		journal_entry(f, data, len);
		if ((total += len + 64) >= READ_BURST)
			return 1;
	}
	return 0;
}

/* The journal's descriptor, its timeout, or more of a burst. */
static void
journal_wake(struct follow *f)
{
	int	r;

	if (f->journal == NULL)
		return;
	if ((r = sd_journal_process(f->journal)) < 0) {
		follow_error(f, "journal: %s", strerror(-r));
		journal_close(f, true);
		return;
	}
	if (r == SD_JOURNAL_INVALIDATE) {
		/* Rotated or vacuumed: sd-journal goes on where it was. */
		f->stats.rotations++;
		log_debug("%s: journal files added or removed", f->name);
	}
	switch (journal_read(f)) {
	case -1:
		return;
	case 1:
		event_active(f->ev_journal, EV_READ, 1);
		break;
	}
	if (!f->dead && f->journal != NULL)
		journal_arm(f);
}

/* One tick of a journal: open it again if it is closed. */
static void
journal_tick(struct follow *f)
{
	bool	at_end;

	if (f->journal != NULL)
		return;
	/* A folder that did not exist holds only new entries. */
	at_end = !f->opts.from_start && f->journal_errno != ENOENT;
	if (journal_open(f, at_end) == -1) {
		if (errno != f->journal_errno) {
			f->journal_errno = errno;
			follow_error(f, "open journal%s%s: %s",
			    f->directory != NULL ? " " : "",
			    f->directory != NULL ? f->directory : "",
			    strerror(errno));
		}
		return;
	}
	if (f->journal_errno != 0)
		log_info("%s: reading the journal", f->name);
	f->journal_errno = 0;
}
#endif /* HAVE_SYSTEMD */

static void
follow_destroy(struct follow *f)
{
	char		**a;
	pid_t		  r;
	uint64_t	  deadline;
	int		  status;

	if (f->pid > 0) {
		if (kill(-f->pid, SIGTERM) == -1)
			kill(f->pid, SIGTERM);
		deadline = (uint64_t)clock_mono_ms() + f->opts.kill_grace_ms;
		while ((r = waitpid(f->pid, &status, WNOHANG)) == 0 &&
		    (uint64_t)clock_mono_ms() < deadline)
			usleep(10000);
		if (r == 0) {
			log_warnx("%s: %s did not stop on SIGTERM: killing it",
			    f->name, f->argv[0]);
			if (kill(-f->pid, SIGKILL) == -1)
				kill(f->pid, SIGKILL);
			while (waitpid(f->pid, &status, 0) == -1 &&
			    errno == EINTR)
				;
		}
	}
	cmd_close_pipe(f);
	if (f->fd != -1)
		close(f->fd);
#ifdef HAVE_SYSTEMD
	journal_close(f, false);
#endif
	if (f->ev_wake != NULL)
		event_free(f->ev_wake);
	if (f->tick != NULL)
		event_free(f->tick);
	if (f->argv != NULL) {
		for (a = f->argv; *a != NULL; a++)
			free(*a);
		free(f->argv);
	}
	free(f->exec_msg);
	free(f->unit);
	free(f->directory);
	free(f->cursor);
	free(f->name);
	free(f->path);
	free(f->line);
	free(f->chunk);
	free(f);
}

/* Our callbacks run through here: a free from inside one waits for it. */
static void
follow_enter(struct follow *f)
{
	f->busy = true;
}

static void
follow_leave(struct follow *f)
{
	f->busy = false;
	if (f->dead)
		follow_destroy(f);
}

static void
follow_on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct follow	*f = arg;

	(void)fd;
	(void)what;
	follow_enter(f);
	switch (f->opts.kind) {
	case FOLLOW_FILE:
		file_tick(f);
		break;
	case FOLLOW_COMMAND:
		cmd_tick(f);
		break;
	case FOLLOW_JOURNAL:
#ifdef HAVE_SYSTEMD
		journal_tick(f);
#endif
		break;
	}
	follow_leave(f);
}

static void
follow_on_pipe(evutil_socket_t fd, short what, void *arg)
{
	struct follow	*f = arg;

	(void)fd;
	(void)what;
	follow_enter(f);
	if (cmd_read_pipe(f) == -1 && !f->dead)
		cmd_check(f);	/* the end of its output: exited? */
	follow_leave(f);
}

#ifdef HAVE_SYSTEMD
static void
follow_on_journal(evutil_socket_t fd, short what, void *arg)
{
	struct follow	*f = arg;

	(void)fd;
	(void)what;
	follow_enter(f);
	journal_wake(f);
	follow_leave(f);
}
#endif

/* Check the options of a kind; a reason when they will not do. */
static int
follow_check(const struct follow_options *opts, char **cause)
{
	switch (opts->kind) {
	case FOLLOW_FILE:
		if (opts->path == NULL || *opts->path == '\0') {
			xasprintf(cause, "no file to follow");
			return -1;
		}
		return 0;
	case FOLLOW_COMMAND:
		if (opts->argv == NULL || opts->argv[0] == NULL ||
		    *opts->argv[0] == '\0') {
			xasprintf(cause, "no command to run");
			return -1;
		}
		return 0;
	case FOLLOW_JOURNAL:
#ifdef HAVE_SYSTEMD
		if (opts->unit == NULL || *opts->unit == '\0') {
			xasprintf(cause, "no unit to follow");
			return -1;
		}
		if (opts->directory != NULL && *opts->directory != '/') {
			xasprintf(cause, "journal folder %s: not an absolute "
			    "path", opts->directory);
			return -1;
		}
		return 0;
#else
		xasprintf(cause, "the journal: heapwatchd was built without "
		    "libsystemd");
		return -1;
#endif
	}
	xasprintf(cause, "unknown kind of source");
	return -1;
}

/* The options left 0, given their defaults. */
static void
follow_defaults(struct follow_options *o)
{
	if (o->max_line == 0)
		o->max_line = FOLLOW_MAX_LINE;
	if (o->poll_ms == 0)
		o->poll_ms = FOLLOW_POLL_MS;
	if (o->backoff_min_ms == 0)
		o->backoff_min_ms = FOLLOW_BACKOFF_MIN_MS;
	if (o->backoff_max_ms == 0)
		o->backoff_max_ms = FOLLOW_BACKOFF_MAX_MS;
	if (o->backoff_max_ms < o->backoff_min_ms)
		o->backoff_max_ms = o->backoff_min_ms;
	if (o->stable_ms == 0)
		o->stable_ms = FOLLOW_STABLE_MS;
	if (o->kill_grace_ms == 0)
		o->kill_grace_ms = FOLLOW_KILL_GRACE_MS;
}

/* Copy what the source is (a file, a unit's journal, a command) and name it. */
static void
follow_source(struct follow *f, const struct follow_options *opts)
{
	size_t	n;

	if (opts->kind == FOLLOW_FILE) {
		f->path = xstrdup(opts->path);
		f->name = xstrdup(opts->name != NULL ? opts->name : opts->path);
	} else if (opts->kind == FOLLOW_JOURNAL) {
		/* As systemctl and journalctl take "api" for api.service. */
		if (strchr(opts->unit, '.') == NULL)
			xasprintf(&f->unit, "%s.service", opts->unit);
		else
			f->unit = xstrdup(opts->unit);
		if (opts->directory != NULL)
			f->directory = xstrdup(opts->directory);
		f->name = xstrdup(opts->name != NULL ? opts->name : f->unit);
		f->threshold = sizeof JOURNAL_PREFIX + (f->opts.max_line >
		    JOURNAL_DATA ? f->opts.max_line : JOURNAL_DATA);
	} else {
		for (n = 0; opts->argv[n] != NULL; n++)
			;
		f->argv = xreallocarray(NULL, n + 1, sizeof *f->argv);
		for (n = 0; opts->argv[n] != NULL; n++)
			f->argv[n] = xstrdup(opts->argv[n]);
		f->argv[n] = NULL;
		f->name = xstrdup(opts->name != NULL ? opts->name :
		    opts->argv[0]);
		xasprintf(&f->exec_msg, "cannot run %s\n", f->argv[0]);
	}
}

struct follow *
follow_new(struct event_base *base, const struct follow_options *opts,
    follow_line_cb cb, void *arg, char **cause)
{
	struct follow	*f;
	struct timeval	 tv;

	if (follow_check(opts, cause) == -1)
		return NULL;

	f = xcalloc(1, sizeof *f);
	f->base = base;
	f->opts = *opts;
	f->cb = cb;
	f->arg = arg;
	f->fd = -1;
	f->pipe = -1;
	f->pid = -1;
	follow_defaults(&f->opts);
	f->backoff_ms = f->opts.backoff_min_ms;
	f->line = xmalloc(f->opts.max_line);
	f->chunk = xmalloc(READ_CHUNK);

	follow_source(f, opts);
	f->opts.name = f->name;
	f->opts.path = f->path;
	f->opts.argv = f->argv;
	f->opts.unit = f->unit;
	f->opts.directory = f->directory;

	f->tick = event_new(base, -1, EV_PERSIST, follow_on_tick, f);
	tv = clock_tv_ms((int64_t)f->opts.poll_ms);
	if (f->tick == NULL || event_add(f->tick, &tv) == -1) {
		xasprintf(cause, "cannot add a timer to the event loop");
		follow_destroy(f);
		return NULL;
	}

	/* The first tick reads at once (or says why it cannot). */
	switch (opts->kind) {
	case FOLLOW_FILE:
		if (file_open(f, !opts->from_start) == -1)
			f->fd = -1;
		event_active(f->tick, EV_TIMEOUT, 1);
		break;
	case FOLLOW_COMMAND:
		cmd_start(f);
		break;
	case FOLLOW_JOURNAL:
#ifdef HAVE_SYSTEMD
		/* Now: what is written from here on is new. */
		f->ev_wake = event_new(base, -1, 0, follow_on_journal, f);
		if (f->ev_wake == NULL) {
			xasprintf(cause, "cannot add a timer to the event "
			    "loop");
			follow_destroy(f);
			return NULL;
		}
		journal_tick(f);
#endif
		break;
	}
	return f;
}

void
follow_free(struct follow *f)
{
	if (f == NULL)
		return;
	if (f->busy) {
		f->dead = true;
		return;
	}
	follow_destroy(f);
}

const struct follow_stats *
follow_stats(const struct follow *f)
{
	return &f->stats;
}
