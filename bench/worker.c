/*
 * What one of heapwatchd's workers spends on a scraped heap profile, the
 * store aside (a figure, not a test; see bench/worker.sh):
 *
 *	worker N FILE
 *
 * reads FILE, then decodes it N times as a worker does, on a thread of
 * its own (malloc tuned as heapwatchd tunes it, a thread's blocks from an
 * arena of its own), each into a symtab of its own, and summarises each
 * profile for the judge. It runs under bench/runs for its CPU time
 * and under callgrind for its instructions.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "profile.h"
#include "summary.h"
#include "xmalloc.h"

struct run {
	const char	*file;
	void		*data;
	size_t		 len;
	long		 n;
	int		 rc;
};

static void *
decode_all(void *arg)
{
	struct run	*r = arg;
	struct profile	*p;
	struct summary	*s;
	struct names	*nm;
	char		*cause = NULL;
	long		 i;

	for (i = 0; i < r->n; i++) {
		if ((p = profile_decode(r->data, r->len, PROFILE_MAX_INFLATED,
		    NULL, &cause)) == NULL) {
			fprintf(stderr, "worker: %s: %s\n", r->file, cause);
			r->rc = 1;
			return NULL;
		}
		nm = summary_names_new();
		if ((s = summary_make(p, "heap", "", 0, nm, &cause)) == NULL) {
			fprintf(stderr, "worker: %s: %s\n", r->file, cause);
			r->rc = 1;
			return NULL;
		}
		summary_free(s);
		summary_names_free(nm);
		profile_free(p);
	}
	return NULL;
}

int
main(int argc, char **argv)
{
	struct run	 r = { 0 };
	pthread_t	 t;
	char		*cause = NULL;

	xmalloc_tune();			/* as heapwatchd */
	if (argc != 3 || (r.n = strtol(argv[1], NULL, 10)) < 1) {
		fprintf(stderr, "usage: worker N FILE\n");
		return 2;
	}
	r.file = argv[2];
	if (profile_read_file(r.file, PROFILE_MAX_INFLATED, &r.data, &r.len,
	    &cause) == -1) {
		fprintf(stderr, "worker: %s\n", cause);
		return 1;
	}
	if (pthread_create(&t, NULL, decode_all, &r) != 0 ||
	    pthread_join(t, NULL) != 0) {
		fprintf(stderr, "worker: no thread\n");
		return 1;
	}
	free(r.data);
	return r.rc;
}
