/*
 * libFuzzer target over the profile decoder and the analysis behind it:
 * any input must decode or be refused with a cause, and whatever decodes
 * must survive every report, a top and a diff against itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include "profile.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct symtab	*st = symtab_new();
	struct profile	*p, *q;
	struct report	*r;
	char		*cause = NULL;
	uint32_t	 i;

	p = profile_decode(data, size, 64 << 20, st, &cause);
	if (p == NULL) {
		if (cause == NULL)
			abort();	/* refusals must say why */
		free(cause);
		symtab_free(st);
		return 0;
	}
	q = profile_decode(data, size, 64 << 20, st, &cause);
	for (i = 0; i < p->ntypes; i++) {
		report_free(report_top(p, i, REPORT_BY_FLAT, &cause));
		r = report_diff(p, q, i, REPORT_BY_CUM, &cause);
		if (r == NULL || r->nfns != 0 || r->total != 0)
			abort();	/* a self-diff is empty */
		report_free(r);
	}
	profile_free(q);
	profile_free(p);
	symtab_free(st);
	return 0;
}
