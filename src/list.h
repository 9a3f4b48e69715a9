/*
 * Annotated source listings: the flat and cum of every source line of the
 * functions whose names match a regular expression, in one profile or in
 * the difference between two, with the numbers and the text
 * `go tool pprof -list REGEX [-base]` prints.
 *
 * As pprof does, each source line of a function is a node of its own (a
 * sample counts once in a node's cum however often the line recurs in its
 * stack), a function's flat and cum are the sums of its lines', and a
 * function's lines are shown grouped by the file they are in. A source file
 * is looked for where pprof looks: the path recorded in the profile, or,
 * when that is relative (or made relative by a trimmed prefix), below each
 * directory of the source path and their parents.
 */
#ifndef LIST_H
#define LIST_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "profile.h"

struct list_options {
	const char	*regex;		/* POSIX extended, matched anywhere */
	const char	*source_path;	/* ':'-separated; NULL: the cwd */
	const char	*trim_path;	/* ':'-separated prefixes, or NULL */
	/*
	 * heapwatchd's: read only regular files below source_path (one
	 * folder; none when NULL), never a path that leaves it, since the
	 * names come from the profiles of the services watched.
	 */
	bool		 within;
};

struct list_line {
	int64_t		 line;
	int64_t		 flat;
	int64_t		 cum;
	const char	*text;		/* NULL when the file was not found */
	size_t		 len;
};

struct list_fn {
	const char	*name;
	const char	*file;		/* as pprof shows it; NULL: none known */
	int64_t		 flat;
	int64_t		 cum;
	char		*error;		/* why the file was not read, or NULL */
	/*
	 * With the file read: the lines pprof shows, from a little above the
	 * first sampled one to a little below the last. Without: the sampled
	 * lines only.
	 */
	struct list_line *lines;
	size_t		 nlines;
};

struct list {
	const char	*sample_type;
	const char	*unit;
	int64_t		 total;
	struct list_fn	*fns;		/* by name, then file */
	size_t		 nfns;
	struct list_src	*sources;	/* the files read, kept for text */
	bool		 within;	/* as in the options */
};

/*
 * The listing of current, or of current minus base when base is not NULL
 * (both decoded into one symtab). total is pprof's total, as report_top()
 * or report_diff() gives it. No function matching is an error, with
 * pprof's message.
 */
struct list	*list_make(const struct profile *base,
		    const struct profile *current, int sample_index,
		    int64_t total, const struct list_options *, char **cause);
void		 list_free(struct list *);

/* pprof's -list text. */
void		 list_text(FILE *, const struct list *);
/* {"sample_type", "unit", "total", "functions": [...]} */
json_t		*list_json(const struct list *);

#endif
