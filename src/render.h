/* Reports as people and programs read them: pprof's -top text, and JSON. */
#ifndef RENDER_H
#define RENDER_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

#include "report.h"

/* nmax 0 means every function. */
void	 render_text(FILE *, const struct report *, size_t nmax);
/* Finds the functions' sites first, hence not const. */
json_t	*render_json(struct report *, size_t nmax);

/* A JSON string from bytes that may not be valid UTF-8. */
json_t	*render_string(const char *);

/* An RFC 3339 time in UTC from Unix ms, or JSON null for 0 (never). */
json_t	*render_time(int64_t unix_ms);

/* pprof's percentage of v in total: "53.10%", " 0.12%", "  100%". */
void	 render_percent(char *, size_t, int64_t v, int64_t total);

/* pprof's scaled label of a value: "1.50MB", "12.30ms", "1234". */
void	 render_value(char *, size_t, int64_t v, const char *from_unit,
	    const char *to_unit);

#endif
