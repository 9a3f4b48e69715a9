/*
 * What one of heapwatchd's workers spends on a scraped heap profile, the
 * store aside (a figure, not a test; see bench/worker.sh):
 *
 *	worker N FILE
 *
 * reads FILE, then decodes it N times as a worker does (malloc tuned as
 * heapwatchd tunes it), each into a symtab of its own, and summarises
 * each profile for the judge. It runs under bench/runs for its CPU time
 * and under callgrind for its instructions.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>

#include "profile.h"
#include "summary.h"
#include "xmalloc.h"

int
main(int argc, char **argv)
{
	struct profile	*p;
	struct summary	*s;
	struct names	*nm;
	void		*data;
	size_t		 len;
	char		*cause = NULL;
	long		 i, n;

	xmalloc_tune();			/* as heapwatchd */
	if (argc != 3 || (n = strtol(argv[1], NULL, 10)) < 1) {
		fprintf(stderr, "usage: worker N FILE\n");
		return 2;
	}
	if (profile_read_file(argv[2], PROFILE_MAX_INFLATED, &data, &len,
	    &cause) == -1) {
		fprintf(stderr, "worker: %s\n", cause);
		return 1;
	}
	for (i = 0; i < n; i++) {
		if ((p = profile_decode(data, len, PROFILE_MAX_INFLATED, NULL,
		    &cause)) == NULL) {
			fprintf(stderr, "worker: %s: %s\n", argv[2], cause);
			return 1;
		}
		nm = summary_names_new();
		if ((s = summary_make(p, "heap", "", 0, nm, &cause)) == NULL) {
			fprintf(stderr, "worker: %s: %s\n", argv[2], cause);
			return 1;
		}
		summary_free(s);
		summary_names_free(nm);
		profile_free(p);
	}
	free(data);
	return 0;
}
