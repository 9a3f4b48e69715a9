/*
 * The daemon's parts that test_api and test_target put together by hand
 * instead of starting heapwatchd: a scratch folder, a free port, the
 * configuration written there and loaded, and the dependencies of its
 * targets (store, notifier, retention; scrapes and decoding on request).
 */
#ifndef TESTS_DAEMON_H
#define TESTS_DAEMON_H

#include <sys/socket.h>

#include <netinet/in.h>

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"
#include "decode.h"
#include "notifier.h"
#include "scrape.h"
#include "store.h"
#include "summary.h"
#include "target.h"
#include "yamlx.h"

struct daemon {
	char			 dir[64];	/* the scratch folder */
	struct config		*conf;
	struct target_deps	 deps;
	struct store_retention	 keep;
};

/* A port nobody listens on now, from the kernel's ephemeral range. */
static __attribute__((unused)) int
daemon_free_port(void)
{
	struct sockaddr_in	sin;
	socklen_t		len = sizeof sin;
	int			s, port;

	s = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(s, (struct sockaddr *)&sin, sizeof sin) == -1 ||
	    getsockname(s, (struct sockaddr *)&sin, &len) == -1)
		abort();
	port = ntohs(sin.sin_port);
	close(s);
	return port;
}

/*
 * Make the scratch folder /tmp/NAME.XXXXXX, write a configuration there
 * whose store is in the folder and whose other keys fmt says, and load
 * it; then open the store and make the targets' dependencies on base.
 * -1 with *cause when any of it fails.
 */
static __attribute__((unused, format(printf, 5, 6))) int
daemon_open(struct daemon *d, const char *name, struct event_base *base,
    char **cause, const char *fmt, ...)
{
	struct yamlx_errors	 errs;
	char			 path[128];
	va_list			 ap;
	FILE			*f;

	memset(d, 0, sizeof *d);
	snprintf(d->dir, sizeof d->dir, "/tmp/%s.XXXXXX", name);
	if (mkdtemp(d->dir) == NULL)
		abort();
	snprintf(path, sizeof path, "%s/heapwatchd.yaml", d->dir);
	if ((f = fopen(path, "w")) == NULL)
		abort();
	fprintf(f, "storage:\n  path: %s/store\n", d->dir);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
	memset(&errs, 0, sizeof errs);
	if ((d->conf = config_load(path, &errs)) == NULL) {
		*cause = strdup("the configuration does not load");
		return -1;
	}
	if ((d->deps.store = store_open(d->conf->storage_path, cause)) ==
	    NULL)
		return -1;
	d->deps.base = base;
	d->deps.notifier = notifier_new(base, d->conf->webhooks,
	    d->conf->nwebhooks, NULL);
	d->deps.retention = &d->keep;
	d->deps.names = summary_names_new();	/* shared, as heapwatchd's */
	return 0;
}

/* The scrapes and the decoding, for a test whose targets scrape. */
static __attribute__((unused)) void
daemon_scrapes(struct daemon *d)
{
	d->deps.scrape = scrape_new(d->deps.base);
	d->deps.decode = decode_new(d->deps.base, 1);
}

/* Let go of it all and remove the scratch folder; 0, or -1. */
static __attribute__((unused)) int
daemon_close(struct daemon *d)
{
	char	cmd[128];

	notifier_free(d->deps.notifier);
	decode_free(d->deps.decode);
	scrape_free(d->deps.scrape);
	summary_names_free(d->deps.names);
	store_close(d->deps.store);
	config_free(d->conf);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", d->dir);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
