/*
 * One line of Go's GODEBUG=gctrace=1 output, parsed field by field.
 *
 * Go 1.19 prints, in gcMarkTermination() (runtime/mgc.go):
 *
 *	gc 7 @0.275s 8%: 0.023+10+0.006 ms clock,
 *	    0.046+0.15/4.8/3.6+0.013 ms cpu, 200->269->190 MB, 245 MB goal,
 *	    50 MB stacks, 16 MB globals, 2 P (forced)
 *
 * on one line. Older releases print the same without "MB stacks" and
 * "MB globals" (which came with the pacer that counts stack and global
 * scan work); Go 1.5 printed five clock phases and seven cpu times, and
 * " (forced)" for every collection not started in the background. Go
 * 1.4 and older print an unrelated format ("gc1(1): ...") that is not
 * parsed (GCTRACE_NONE).
 */
#ifndef GCTRACE_H
#define GCTRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The most phases a "ms clock" or "ms cpu" list may hold. */
#define GCTRACE_MAXPHASES	12

enum gctrace_result {
	GCTRACE_OK,		/* a gctrace line, every field parsed */
	GCTRACE_NONE,		/* no "gc N @" in it: other output */
	GCTRACE_BAD		/* starts like one, then malformed or cut */
};

/* Which runtime printed the phase lists (see gctrace_parse()). */
enum gctrace_layout {
	GCTRACE_LAYOUT_OTHER,	/* counts known to no release: arrays only */
	GCTRACE_LAYOUT_CLOCK5,	/* 5 clock, 7 cpu (a+b+c+d/e/f+g): Go 1.5 */
	GCTRACE_LAYOUT_CLOCK3	/* 3 clock, 5 cpu (a+b/c/d+e): later */
};

struct gctrace {
	size_t		 prefix;	/* bytes before "gc N @" */
	uint64_t	 gc;		/* the collection's number, from 1 */
	uint64_t	 at_ms;		/* "@S.sss": since the program start */
	uint64_t	 cpu_percent;	/* GC's share of CPU since the start */

	/*
	 * The phase lists as printed, in microseconds: Go prints
	 * milliseconds with at most three decimals, so these are exact.
	 * cpu_sep[i] is the separator before cpu_us[i] ('+' or '/').
	 */
	enum gctrace_layout layout;
	size_t		 nclock;
	uint64_t	 clock_us[GCTRACE_MAXPHASES];
	size_t		 ncpu;
	uint64_t	 cpu_us[GCTRACE_MAXPHASES];
	char		 cpu_sep[GCTRACE_MAXPHASES];

	/*
	 * The same phases by name, for the CLOCK5 and CLOCK3 layouts (zero
	 * for OTHER). Wall clock: stop-the-world sweep termination, the
	 * concurrent mark and scan (for CLOCK5 the sum of its scan,
	 * install-write-barrier and mark phases), stop-the-world mark
	 * termination. CPU: sweep termination, mark assists, background
	 * mark workers, idle mark workers, mark termination (the CLOCK5
	 * scan and install-write-barrier times are in cpu_us only).
	 */
	uint64_t	 clock_sweep_term_us;
	uint64_t	 clock_mark_us;
	uint64_t	 clock_mark_term_us;
	uint64_t	 cpu_sweep_term_us;
	uint64_t	 cpu_assist_us;
	uint64_t	 cpu_background_us;
	uint64_t	 cpu_idle_us;
	uint64_t	 cpu_mark_term_us;

	/*
	 * "A->B->C MB": the heap when the collection started, when
	 * marking ended, and the live (marked) heap after it. Go prints
	 * each value shifted right by 20: the _mb fields are the printed
	 * integers, the byte fields those times 2^20 (a lower bound of
	 * the real value, less than 1 MiB below it).
	 */
	uint64_t	 heap_start_mb;
	uint64_t	 heap_marked_mb;
	uint64_t	 heap_live_mb;
	uint64_t	 goal_mb;
	uint64_t	 stacks_mb;	/* when has_stacks */
	uint64_t	 globals_mb;	/* when has_globals */
	uint64_t	 heap_start;
	uint64_t	 heap_marked;
	uint64_t	 heap_live;
	uint64_t	 goal;
	uint64_t	 stacks;
	uint64_t	 globals;
	bool		 has_stacks;	/* newer releases only */
	bool		 has_globals;

	uint64_t	 procs;		/* GOMAXPROCS: "N P" */
	bool		 forced;	/* " (forced)": runtime.GC() */
};

/*
 * Parse one line of len bytes (not NUL-terminated; a trailing newline,
 * carriage return or blanks are allowed). The line may carry a prefix
 * added by a logger (a timestamp, "host prog[12]: "): the line is taken
 * from the first "gc " that starts a word (at the start or after a
 * character that is neither a letter, a digit nor '_') and parses to
 * its end; t->prefix says where. On GCTRACE_OK *t is filled; otherwise
 * it is left zeroed.
 */
enum gctrace_result gctrace_parse(const char *line, size_t len,
	    struct gctrace *t);

/*
 * Write t as Go would print it (no prefix, no newline) into buf,
 * snprintf-style: the return value is the length the whole line needs.
 * Parsing the result gives back t (with prefix 0).
 */
int	gctrace_format(const struct gctrace *t, char *buf, size_t len);

/*
 * Where a collection stands against the last one seen from the same
 * process. Go numbers collections from 1 and prints each exactly once:
 * GODEBUG=gctrace=2 prints the same lines as gctrace=1 since Go 1.5
 * (Go 1.4 and older ran each collection twice and printed both, in the
 * older format). A number seen again is a line delivered twice (a log
 * read twice, a shipper's retry); a smaller one is a restarted process.
 */
enum gctrace_seq {
	GCTRACE_SEQ_FIRST,	/* nothing seen before */
	GCTRACE_SEQ_NEXT,	/* later than the last: use it */
	GCTRACE_SEQ_REPEAT,	/* the same number as the last: skip it */
	GCTRACE_SEQ_RESTART	/* smaller: a new process, a new baseline */
};
enum gctrace_seq gctrace_sequence(bool have_last, uint64_t last_gc,
	    uint64_t gc);

#endif
