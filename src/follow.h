/*
 * A source of log lines on the event loop: a file followed like
 * "tail -F", a command whose output is read, restarted when it exits,
 * or a systemd unit's entries in the journal (with libsystemd).
 *
 * Files are polled with a timer rather than watched with inotify: one
 * fstat() and one stat() a tick cost little, and polling sees every
 * rotation the same way whether the path's directory, the file system
 * or a container boundary would hide the events.
 *
 * The journal is read through sd-journal, woken by its descriptor (and
 * by the timeout it asks for where the file system gives no events).
 * The entries matched are those with _SYSTEMD_UNIT= the unit: what the
 * service itself wrote to its standard output and error, not what
 * systemd says about it. Each entry's MESSAGE is read as the lines of a
 * file would be: split at its newlines (a last newline ends the last
 * line, an empty MESSAGE gives no line), each line cut at max_line. Of
 * a MESSAGE over 1 MiB the library may return only the start: its last
 * line is then given as cut. When files are added or removed (rotation,
 * vacuum) reading goes on after the last entry read.
 */
#ifndef FOLLOW_H
#define FOLLOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct event_base;
struct follow;

enum follow_kind {
	FOLLOW_FILE,		/* a path, read as it grows */
	FOLLOW_COMMAND,		/* an argv, its stdout and stderr read */
	FOLLOW_JOURNAL		/* a systemd unit's journal entries; fails
				   without libsystemd */
};

#define FOLLOW_CUT		0x1	/* line longer than max_line, cut */

/*
 * Called with each complete line, without its newline (len bytes, not
 * NUL-terminated). With FOLLOW_CUT the line had more than max_line
 * bytes: this is its start, and the rest up to the newline is dropped.
 * A callback may call follow_free() on its own source.
 */
typedef void (*follow_line_cb)(const char *line, size_t len, int flags,
    void *arg);

/* What to follow and how; zero values take the defaults given. */
struct follow_options {
	enum follow_kind  kind;
	const char	 *name;		/* for messages: a target's name */
	const char	 *path;		/* FOLLOW_FILE */
	char *const	 *argv;		/* FOLLOW_COMMAND: NULL-terminated,
					   argv[0] looked up in PATH */
	const char	 *unit;		/* FOLLOW_JOURNAL: "api.service";
					   ".service" added to a name
					   without a dot */
	const char	 *directory;	/* FOLLOW_JOURNAL: a folder of
					   journal files (absolute); NULL:
					   the system journal */
	bool		  from_start;	/* read an existing file or
					   journal from its start, not
					   from its end */
	size_t		  max_line;	/* bytes; 64 KiB */
	uint64_t	  poll_ms;	/* the tick; 250 ms */
	uint64_t	  backoff_min_ms; /* first restart delay; 1 s */
	uint64_t	  backoff_max_ms; /* doubled up to this; 60 s */
	uint64_t	  stable_ms;	/* a run this long resets the delay;
					   30 s */
	uint64_t	  kill_grace_ms; /* SIGTERM to SIGKILL; 1 s */
};

#define FOLLOW_MAX_LINE		65536
#define FOLLOW_POLL_MS		250
#define FOLLOW_BACKOFF_MIN_MS	1000
#define FOLLOW_BACKOFF_MAX_MS	60000
#define FOLLOW_STABLE_MS	30000
#define FOLLOW_KILL_GRACE_MS	1000

/* Counters for /metrics, and the last problem for people. */
struct follow_stats {
	uint64_t	lines;		/* delivered, cut ones included */
	uint64_t	bytes;		/* read */
	uint64_t	cut;		/* lines cut at max_line */
	uint64_t	rotations;	/* a new file at the path; journal
					   files added or removed */
	uint64_t	truncations;	/* the file shrank under us */
	uint64_t	restarts;	/* the command started again */
	uint64_t	errors;		/* open/read/spawn failures */
	bool		up;		/* file or journal open, or command
					   running */
	char		last_error[256];	/* "" when none yet */
};

/*
 * Start following on base: a file is opened now when it exists (at its
 * end unless from_start; a file that appears later is read from its
 * start), a command is started now, the journal opened now (at its end
 * unless from_start; tried again each poll_ms while it cannot be, and
 * then a folder that did not exist is read from its start, otherwise
 * from its end). Fails only on bad options, or for a journal without
 * libsystemd.
 */
struct follow	*follow_new(struct event_base *base,
		    const struct follow_options *opts, follow_line_cb cb,
		    void *arg, char **cause)
		    __attribute__((warn_unused_result));
/*
 * Stop and free. A running command gets SIGTERM (its process group),
 * then SIGKILL if it has not exited after kill_grace_ms: free waits
 * for it, so that no child outlives its source.
 */
void		 follow_free(struct follow *);
const struct follow_stats *follow_stats(const struct follow *);

#endif
