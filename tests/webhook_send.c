/*
 * A driver for tests/webhook.sh: loads a heapwatchd configuration, sends a
 * firing and then a resolved alert of its first target through the
 * notifier to every webhook in it, and waits on the event loop.
 *
 *	webhook_send [-1cv] [-e EXTERNAL_URL] [-t UNIX_MS] CONFIG SECONDS
 *
 * -1 sends the firing note only; -c makes the notes critical, the firing
 * one turned critical from warning; -t fixes "now", so that the bodies are
 * the same from run to run. Exits 0 once every receiver has delivered every
 * note, 1 after SECONDS, 2 on bad usage or configuration. Prints each
 * receiver's counters on the way out.
 */
#include "config.h"

#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "conf.h"
#include "log.h"
#include "units.h"
#include "notifier.h"
#include "yamlx.h"

#define POLL_MS		20

struct driver {
	struct event_base	*base;
	struct notifier		*nf;
	uint64_t		 want;		/* notes per receiver */
	int			 status;	/* the exit status */
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: webhook_send [-1cv] [-e external-url] "
	    "[-t unix-ms] config seconds\n");
	exit(2);
}

/* Whether every receiver has delivered every note. */
static bool
all_delivered(const struct notifier *nf, uint64_t want)
{
	struct receiver_stats	st;
	size_t			i;

	for (i = 0; i < notifier_receivers(nf); i++) {
		notifier_stats(nf, i, &st);
		if (st.sent < want || st.queued > 0)
			return false;
	}
	return true;
}

static void
poll_fired(evutil_socket_t fd, short what, void *arg)
{
	struct driver	*d = arg;

	if (all_delivered(d->nf, d->want)) {
		d->status = 0;
		event_base_loopbreak(d->base);
	}
}

static void
timeout_fired(evutil_socket_t fd, short what, void *arg)
{
	struct driver	*d = arg;

	fprintf(stderr, "webhook_send: timed out\n");
	event_base_loopbreak(d->base);
}

static void
print_stats(const struct notifier *nf)
{
	struct receiver_stats	st;
	size_t			i;

	for (i = 0; i < notifier_receivers(nf); i++) {
		notifier_stats(nf, i, &st);
		printf("%s sent=%" PRIu64 " failed=%" PRIu64 " dropped=%"
		    PRIu64 " replaced=%" PRIu64 " queued=%" PRIu64 "\n", st.url,
		    st.sent, st.failed, st.dropped, st.replaced, st.queued);
	}
}

int
main(int argc, char **argv)
{
	struct note_function	 top[2];
	struct yamlx_errors	 errs;
	struct alert_note	 n;
	struct driver		 d;
	struct config		*cf;
	const struct target_config *t = NULL;
	struct event		*poll, *timeout;
	struct timeval		 tv;
	struct timespec		 ts;
	const char		*ext = "http://127.0.0.1:9470", *errstr;
	char			 base_id[32], current_id[32];
	long long		 seconds, now;
	bool			 firing_only = false, critical = false;
	int			 ch, verbose = 0;

	now = 0;
	while ((ch = getopt(argc, argv, "1ce:t:v")) != -1) {
		switch (ch) {
		case '1':
			firing_only = true;
			break;
		case 'c':
			critical = true;
			break;
		case 'e':
			ext = optarg;
			break;
		case 't':
			if (units_number(optarg, 1, INT64_MAX, &now,
			    &errstr) == -1) {
				fprintf(stderr, "webhook_send: -t %s: %s\n",
				    optarg, errstr);
				return 2;
			}
			break;
		case 'v':
			verbose++;
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc != 2)
		usage();
	if (units_number(argv[1], 1, 3600, &seconds, &errstr) == -1) {
		fprintf(stderr, "webhook_send: %s: %s\n", argv[1], errstr);
		return 2;
	}
	log_init("webhook_send", verbose);
	signal(SIGPIPE, SIG_IGN);
	if ((cf = config_load(argv[0], &errs)) == NULL) {
		yamlx_errors_print(&errs, stderr);
		yamlx_errors_free(&errs);
		return 2;
	}
	yamlx_errors_free(&errs);
	if (now == 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		now = (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != 0 ||
	    (d.base = event_base_new()) == NULL) {
		fprintf(stderr, "webhook_send: cannot start curl or "
		    "libevent\n");
		return 2;
	}

	memset(&n, 0, sizeof n);
	n.target = "api";
	n.window_seconds = 1800;
	if (cf->ntargets > 0) {
		t = &cf->targets[0];
		n.target = t->name;
		n.labels = t->labels;
		n.nlabels = t->nlabels;
		n.window_seconds = t->window_ms / 1000;
	}
	if (t != NULL && strcmp(config_target_kind(t), "goroutine") == 0) {
		n.kind = NOTE_GOROUTINE;
		n.growth = 150;
		n.summary = "Goroutines keep growing.";
	} else {
		n.kind = NOTE_HEAP;
		n.growth = 50331648;
		n.summary = "The heap keeps growing.";
	}
	n.since = now - 20 * 60000;
	memset(top, 0, sizeof top);
	top[0].function = "main.leak";
	top[0].growth = n.growth * 2 / 3;
	top[0].file = "/src/svc/main.go";
	top[0].line = 42;
	top[0].stack[0] = "main.leak";
	top[0].stack[1] = "main.main";
	top[0].nstack = 2;
	top[1].function = "main.cache.put";
	top[1].growth = n.growth - top[0].growth;
	top[1].file = "/src/svc/cache.go";
	top[1].line = 7;
	n.top = top;
	n.ntop = 2;
	snprintf(base_id, sizeof base_id, "%lld", now - 30 * 60000);
	snprintf(current_id, sizeof current_id, "%lld", now - 60000);
	n.base_snapshot = base_id;
	n.current_snapshot = current_id;

	d.nf = notifier_new(d.base, cf->webhooks, cf->nwebhooks, ext);
	d.want = firing_only ? 1 : 2;
	d.status = 1;
	n.status = NOTE_FIRING;
	if (critical) {
		n.severity = "critical";
		n.ended_severity = "warning";
	}
	notifier_send(d.nf, &n);
	if (!firing_only) {
		n.status = NOTE_RESOLVED;
		n.ends = now;
		n.ended_severity = NULL;
		notifier_send(d.nf, &n);
	}

	poll = event_new(d.base, -1, EV_PERSIST, poll_fired, &d);
	tv.tv_sec = 0;
	tv.tv_usec = POLL_MS * 1000;
	event_add(poll, &tv);
	timeout = evtimer_new(d.base, timeout_fired, &d);
	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	evtimer_add(timeout, &tv);
	event_base_dispatch(d.base);

	print_stats(d.nf);
	event_free(poll);
	event_free(timeout);
	notifier_free(d.nf);
	config_free(cf);
	event_base_free(d.base);
	curl_global_cleanup();
	return d.status;
}
