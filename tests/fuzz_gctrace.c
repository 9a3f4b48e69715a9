/*
 * libFuzzer target over the gctrace line parser. Any bytes, as one line
 * and split at newlines, must parse or be refused without reading past
 * the given length; a refused line leaves the struct zeroed; a parsed
 * line formats to text that parses back to the same struct, and the
 * byte fields are the MB fields shifted by 20.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gctrace.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_line(const char *s, size_t len)
{
	struct gctrace		t, u, zero;
	enum gctrace_result	r;
	char			buf[2048], *copy;
	int			n;

	/* A copy of exactly len bytes: ASan sees any overread. */
	if ((copy = malloc(len > 0 ? len : 1)) == NULL)
		abort();
	memcpy(copy, s, len);
	r = gctrace_parse(copy, len, &t);
	free(copy);
	memset(&zero, 0, sizeof zero);
	if (r != GCTRACE_OK) {
		if (r != GCTRACE_NONE && r != GCTRACE_BAD)
			abort();
		if (memcmp(&t, &zero, sizeof t) != 0)
			abort();
		return;
	}
	if (t.prefix >= len || t.nclock < 1 ||
	    t.nclock > GCTRACE_MAXPHASES || t.ncpu < 1 ||
	    t.ncpu > GCTRACE_MAXPHASES)
		abort();
	if (t.heap_start != t.heap_start_mb << 20 ||
	    t.heap_marked != t.heap_marked_mb << 20 ||
	    t.heap_live != t.heap_live_mb << 20 ||
	    t.goal != t.goal_mb << 20 || t.stacks != t.stacks_mb << 20 ||
	    t.globals != t.globals_mb << 20 ||
	    (!t.has_stacks && t.stacks_mb != 0) ||
	    (!t.has_globals && t.globals_mb != 0))
		abort();
	n = gctrace_format(&t, buf, sizeof buf);
	if (n < 0 || (size_t)n >= sizeof buf)
		abort();
	if (gctrace_parse(buf, (size_t)n, &u) != GCTRACE_OK || u.prefix != 0)
		abort();
	u.prefix = t.prefix;
	if (memcmp(&t, &u, sizeof t) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char	*s = (const char *)data, *nl;
	size_t		 left = size;

	check_line(s, size);
	while ((nl = memchr(s, '\n', left)) != NULL) {
		check_line(s, (size_t)(nl - s));
		left -= (size_t)(nl - s) + 1;
		s = nl + 1;
	}
	if (left > 0)
		check_line(s, left);
	return 0;
}
