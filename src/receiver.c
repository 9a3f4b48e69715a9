/*
 * Delivery to one webhook: its queue, one POST at a time through the
 * notifier's curl multi handle, and the backoff after a failure.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "clock.h"
#include "entry.h"
#include "log.h"
#include "note.h"
#include "receiver.h"
#include "spool.h"
#include "webhook.h"
#include "xmalloc.h"

#define REPLY_MAX	256	/* of a receiver's answer, kept for the log */

/* A note in the queue of one receiver. */
struct delivery {
	TAILQ_ENTRY(delivery)	 entry;
	struct note		*note;
	uint64_t		 seq;		/* its spool entry; 0: none */
	int64_t			 queued;	/* unix ms */
};
TAILQ_HEAD(deliveries, delivery);

/* One webhook: its settings, its queue and the POST in flight. */
struct receiver {
	struct receiver_env	*env;		/* the notifier's */
	struct webhook_config	 cfg;		/* a copy */

	struct deliveries	 queue;		/* oldest first */
	size_t			 nqueued;
	struct delivery		*inflight;	/* the head, while POSTed */
	CURL			*easy;		/* of the POST in flight */
	struct curl_slist	*reqheaders;	/* held by easy */
	char			*body;		/* held by easy */
	char			 errbuf[CURL_ERROR_SIZE];
	char			 reply[REPLY_MAX];
	size_t			 nreply;
	struct event		*retry;		/* the backoff's timer */
	unsigned int		 failures;	/* in a row */

	struct receiver_stats	 stats;		/* but url and queued */
};

/* Write a delivery to its spool entry, a new one when it has none. */
static void
receiver_spool(struct receiver *r, struct delivery *d)
{
	struct receiver_env	*env = r->env;
	char			*text, *cause = NULL;
	uint64_t		 seq;

	if (env->spool == NULL)
		return;
	seq = d->seq != 0 ? d->seq : env->nextseq++;
	text = entry_text(r->cfg.url, r->cfg.format, d->queued, &d->note->a);
	if (spool_put(env->spool, seq, text, strlen(text), &cause) == 0) {
		d->seq = seq;
		free(text);
		return;
	}
	free(text);
	env->spool_errors++;
	log_warnx("webhook %s: spool: %s; the %s note of %s is kept in "
	    "memory only", r->cfg.url, cause,
	    note_status_name(d->note->a.status), d->note->a.target);
	free(cause);
	cause = NULL;
	/* Whatever is on disk under seq is not this note: never send it. */
	if (spool_remove(env->spool, seq, &cause) == -1) {
		env->spool_errors++;
		log_warnx("webhook %s: spool: %s", r->cfg.url, cause);
		free(cause);
	}
	d->seq = 0;
}

/* Remove a delivery's spool entry: it was delivered, dropped or given up. */
static void
receiver_unspool(struct receiver *r, struct delivery *d)
{
	struct receiver_env	*env = r->env;
	char			*cause = NULL;

	if (env->spool == NULL || d->seq == 0)
		return;
	if (spool_remove(env->spool, d->seq, &cause) == -1) {
		env->spool_errors++;
		log_warnx("webhook %s: spool: %s", r->cfg.url, cause);
		free(cause);
	}
	d->seq = 0;
}

/* Take a note off a queue; unspool says whether it is done with for
 * good, or only let go of by this process and due after a restart. */
static void
receiver_drop(struct receiver *r, struct delivery *d, bool unspool)
{
	if (unspool)
		receiver_unspool(r, d);
	TAILQ_REMOVE(&r->queue, d, entry);
	r->nqueued--;
	note_release(d->note);
	free(d);
}

/* curl's write callback: keep the start of the answer for the log. */
static size_t
receiver_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct receiver	*r = arg;
	size_t		 n = size * nmemb, room;

	room = sizeof r->reply - 1 - r->nreply;
	if (room > n)
		room = n;
	memcpy(r->reply + r->nreply, data, room);
	r->nreply += room;
	r->reply[r->nreply] = '\0';
	return n;
}

/* Let go of the POST in flight; never from a curl callback. */
static void
receiver_abort(struct receiver *r)
{
	if (r->easy != NULL) {
		curl_multi_remove_handle(r->env->multi, r->easy);
		curl_easy_cleanup(r->easy);
		r->easy = NULL;
	}
	curl_slist_free_all(r->reqheaders);
	r->reqheaders = NULL;
	free(r->body);
	r->body = NULL;
	r->inflight = NULL;
}

uint64_t
receiver_backoff_ms(unsigned int failures)
{
	uint64_t	d = RECEIVER_BACKOFF_MIN_MS;

	while (failures-- > 1 && d < RECEIVER_BACKOFF_MAX_MS)
		d *= 2;
	if (d > RECEIVER_BACKOFF_MAX_MS)
		d = RECEIVER_BACKOFF_MAX_MS;
	return d - arc4random_uniform((uint32_t)(d / 4) + 1);
}

/* Make an answer fit for one log line. */
static void
receiver_clean_reply(char *s, size_t len)
{
	size_t	i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			s[i] = ' ';
	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
}

/* A failed attempt: count it and try the head again later. */
static void
receiver_failed(struct receiver *r, const char *why)
{
	struct timeval	tv;
	uint64_t	ms;

	r->stats.failed++;
	r->failures++;
	ms = receiver_backoff_ms(r->failures);
	log_warnx("webhook %s: %s; retrying in %.1fs (%zu queued)",
	    r->cfg.url, why, ms / 1000.0, r->nqueued);
	tv = clock_tv_ms(ms);
	evtimer_add(r->retry, &tv);
}

/* A POST ended: deliver the head and go on, or back off. */
static void
receiver_done(struct receiver *r, CURLcode res)
{
	struct delivery	*d = r->inflight;
	char		 why[CURL_ERROR_SIZE + REPLY_MAX + 64];
	long		 status = 0;

	curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &status);
	if (res != CURLE_OK)
		snprintf(why, sizeof why, "%s", r->errbuf[0] != '\0' ?
		    r->errbuf : curl_easy_strerror(res));
	else if (status < 200 || status > 299) {
		receiver_clean_reply(r->reply, r->nreply);
		snprintf(why, sizeof why, "HTTP status %ld%s%s", status,
		    r->reply[0] != '\0' ? ": " : "", r->reply);
	}
	receiver_abort(r);
	if (res != CURLE_OK || status < 200 || status > 299) {
		receiver_failed(r, why);
		return;
	}
	if (r->failures > 0)
		log_info("webhook %s: delivered after %u failed attempts",
		    r->cfg.url, r->failures);
	log_debug("webhook %s: %s %s delivered", r->cfg.url,
	    d->note->a.target, note_status_name(d->note->a.status));
	r->failures = 0;
	r->stats.sent++;
	receiver_drop(r, d, true);
	receiver_post(r);
}

/* Hand every finished POST to its receiver. */
void
receiver_curl_done(CURL *easy, CURLcode result, void *arg)
{
	struct receiver	*r;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &r);
	receiver_done(r, result);
}

static struct curl_slist *
receiver_slist_add(struct curl_slist *l, const char *s)
{
	if ((l = curl_slist_append(l, s)) == NULL)
		fatalx("curl_slist_append failed");
	return l;
}

void
receiver_post(struct receiver *r)
{
	struct receiver_env	*env = r->env;
	struct delivery		*d;
	struct curl_slist	*l;
	CURLMcode		 mc;
	char			*h, why[128];
	size_t			 i;

	if (r->inflight != NULL || evtimer_pending(r->retry, NULL) ||
	    (d = TAILQ_FIRST(&r->queue)) == NULL)
		return;
	r->body = webhook_render(&d->note->a, &r->cfg, env->external_url,
	    clock_real_ms());
	if ((r->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	l = receiver_slist_add(NULL, "Content-Type: application/json");
	/* No "Expect: 100-continue" wait before larger bodies. */
	l = receiver_slist_add(l, "Expect:");
	for (i = 0; i < r->cfg.nheaders; i++) {
		/* The body is JSON whatever the configuration says. */
		if (strcasecmp(r->cfg.headers[i].name, "Content-Type") == 0)
			continue;
		xasprintf(&h, "%s: %s", r->cfg.headers[i].name,
		    r->cfg.headers[i].value);
		l = receiver_slist_add(l, h);
		free(h);
	}
	r->reqheaders = l;
	r->errbuf[0] = '\0';
	r->reply[0] = '\0';
	r->nreply = 0;
	curl_easy_setopt(r->easy, CURLOPT_URL, r->cfg.url);
	curl_easy_setopt(r->easy, CURLOPT_PRIVATE, r);
	curl_easy_setopt(r->easy, CURLOPT_POST, 1L);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDS, r->body);
	curl_easy_setopt(r->easy, CURLOPT_POSTFIELDSIZE, (long)strlen(r->body));
	curl_easy_setopt(r->easy, CURLOPT_HTTPHEADER, r->reqheaders);
	curl_easy_setopt(r->easy, CURLOPT_WRITEFUNCTION, receiver_write_cb);
	curl_easy_setopt(r->easy, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(r->easy, CURLOPT_ERRORBUFFER, r->errbuf);
	curl_easy_setopt(r->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(r->easy, CURLOPT_TIMEOUT_MS, (long)r->cfg.timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)r->cfg.timeout_ms);
	curl_easy_setopt(r->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(r->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(r->easy, CURLOPT_USERAGENT, PACKAGE "/"
	    PACKAGE_VERSION);
	r->inflight = d;
	if ((mc = curl_multi_add_handle(env->multi, r->easy)) != CURLM_OK) {
		snprintf(why, sizeof why, "curl_multi_add_handle: %s",
		    curl_multi_strerror(mc));
		receiver_abort(r);
		receiver_failed(r, why);
	}
}

static void
receiver_retry_fired(evutil_socket_t fd, short what, void *arg)
{
	receiver_post(arg);
}

void
receiver_configure(struct receiver *r, const struct webhook_config *wc)
{
	struct delivery		*d;
	enum webhook_format	 was = r->cfg.format;
	size_t			 i;

	config_pairs_free(r->cfg.headers, r->cfg.nheaders);
	r->cfg.format = wc->format;
	r->cfg.timeout_ms = wc->timeout_ms;
	r->cfg.repeat_interval_ms = wc->repeat_interval_ms;
	r->cfg.headers = xcalloc(wc->nheaders, sizeof *r->cfg.headers);
	r->cfg.nheaders = wc->nheaders;
	for (i = 0; i < wc->nheaders; i++) {
		r->cfg.headers[i].name = xstrdup(wc->headers[i].name);
		r->cfg.headers[i].value = xstrdup(wc->headers[i].value);
	}
	/* The spool names the format: say the new one. */
	if (was != wc->format)
		TAILQ_FOREACH(d, &r->queue, entry)
			if (d->seq != 0)
				receiver_spool(r, d);
}

struct receiver *
receiver_new(struct receiver_env *env, const struct webhook_config *wc)
{
	struct receiver	*r;

	r = xcalloc(1, sizeof *r);
	r->env = env;
	r->cfg.url = xstrdup(wc->url);
	TAILQ_INIT(&r->queue);
	if ((r->retry = evtimer_new(env->base, receiver_retry_fired, r)) ==
	    NULL)
		fatalx("evtimer_new failed");
	receiver_configure(r, wc);
	return r;
}

void
receiver_free(struct receiver *r, bool unspool)
{
	if (r == NULL)
		return;
	receiver_abort(r);
	while (!TAILQ_EMPTY(&r->queue))
		receiver_drop(r, TAILQ_FIRST(&r->queue), unspool);
	event_free(r->retry);
	free(r->cfg.url);
	config_pairs_free(r->cfg.headers, r->cfg.nheaders);
	free(r);
}

/* A full queue drops its oldest note that is not in flight. */
static void
receiver_make_room(struct receiver *r)
{
	struct delivery	*d;

	if (r->nqueued < RECEIVER_QUEUE_MAX)
		return;
	d = TAILQ_FIRST(&r->queue);
	if (d != NULL && d == r->inflight)
		d = TAILQ_NEXT(d, entry);
	if (d == NULL)
		return;
	log_warnx("webhook %s: queue full, dropping the %s note of %s",
	    r->cfg.url, note_status_name(d->note->a.status), d->note->a.target);
	receiver_drop(r, d, true);
	r->stats.dropped++;
}

void
receiver_enqueue(struct receiver *r, struct note *nt)
{
	struct delivery	*d;

	TAILQ_FOREACH_REVERSE(d, &r->queue, deliveries, entry) {
		if (d == r->inflight)
			break;
		if (strcmp(d->note->a.key, nt->a.key) != 0)
			continue;
		if (r->cfg.format == WEBHOOK_ALERTMANAGER ||
		    d->note->a.status == nt->a.status) {
			if (r->cfg.format == WEBHOOK_ALERTMANAGER)
				nt = note_carry_ended(nt, d->note);
			note_release(d->note);
			d->note = nt;
			nt->refs++;
			r->stats.replaced++;
			receiver_spool(r, d);
			return;
		}
		break;
	}
	receiver_make_room(r);
	d = xcalloc(1, sizeof *d);
	d->note = nt;
	d->queued = clock_real_ms();
	nt->refs++;
	TAILQ_INSERT_TAIL(&r->queue, d, entry);
	r->nqueued++;
	/* On disk before the first attempt, so that a crash loses nothing. */
	receiver_spool(r, d);
	receiver_post(r);
}

void
receiver_restore(struct receiver *r, struct note *nt, uint64_t seq,
    int64_t queued)
{
	struct delivery	*d;

	receiver_make_room(r);
	d = xcalloc(1, sizeof *d);
	d->note = nt;
	nt->refs++;
	d->seq = seq;
	d->queued = queued;
	TAILQ_INSERT_TAIL(&r->queue, d, entry);
	r->nqueued++;
	r->stats.restored++;
}

const struct webhook_config *
receiver_config(const struct receiver *r)
{
	return &r->cfg;
}

void
receiver_stats(const struct receiver *r, struct receiver_stats *st)
{
	*st = r->stats;
	st->url = r->cfg.url;
	st->queued = r->nqueued;
}

const struct alert_note *
receiver_queued(const struct receiver *r, size_t j)
{
	const struct delivery	*d;

	TAILQ_FOREACH(d, &r->queue, entry)
		if (j-- == 0)
			return &d->note->a;
	return NULL;
}
