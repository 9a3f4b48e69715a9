#include "config.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "clock.h"
#include "curlev.h"
#include "log.h"
#include "scrape.h"
#include "units.h"
#include "xmalloc.h"

/* A body of a size not known yet, for the gate: a 146 KB profile's room. */
#define SCRAPE_GUESS	(256 << 10)
/* curl's receive buffer at most: its own cap, CURL_MAX_READ_SIZE. */
#define SCRAPE_RECV_MAX	(512 << 10)

TAILQ_HEAD(scrape_held, scrape_job);

struct scrape {
	struct event_base	*base;
	struct curlev		*cev;
	CURLM			*multi;		/* the curlev's */
	size_t			 inflight;
	struct scrape_job	*jobs;		/* in flight, a list */
	size_t			 bytes;		/* their bodies' room */
	scrape_gate_cb		 gate;		/* or NULL: none wait */
	void			*gate_arg;
	struct scrape_held	 held;		/* waiting for the gate */
	struct scrape_held	 held_later;	/* and after those */
	size_t			 nheld;
	struct event		*resume;	/* after a cancel */
};

struct scrape_job {
	struct scrape		*s;
	CURL			*easy;
	struct curl_slist	*headers;
	scrape_done_cb		 done;
	void			*arg;
	char			*body;
	size_t			 len, cap, max;
	bool			 too_big;
	size_t			 recvbuf;	/* curl's, when sized here */
	size_t			 counted;	/* in s->bytes */
	char			 errbuf[CURL_ERROR_SIZE];
	char			*fail;		/* failed before it started */
	struct event		*fail_ev;
	int64_t			 start_us;	/* monotonic */
	struct scrape_job	*next, **prevp;
	bool			 held;		/* in s->held, not started */
	struct scrape_request	*req;		/* its copy, while held */
	TAILQ_ENTRY(scrape_job)	 hold_entry;
};

static void	scrape_done(CURL *, CURLcode, void *);
static void	job_begin(struct scrape_job *, const struct scrape_request *);

static void
scrape_resume_soon(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	scrape_resume(arg);
}

struct scrape *
scrape_new(struct event_base *base)
{
	struct scrape	*s;

	s = xcalloc(1, sizeof *s);
	s->base = base;
	s->cev = curlev_new(base, scrape_done, s);
	s->multi = curlev_multi(s->cev);
	TAILQ_INIT(&s->held);
	TAILQ_INIT(&s->held_later);
	if ((s->resume = evtimer_new(base, scrape_resume_soon, s)) == NULL)
		fatalx("evtimer_new failed");
	return s;
}

static char *
req_strdup(const char *str)
{
	return str != NULL ? xstrdup(str) : NULL;
}

/* A copy of a request for a job that waits: its strings are the caller's. */
static struct scrape_request *
req_copy(const struct scrape_request *req)
{
	struct scrape_request	*c;
	struct scrape_header	*h;
	size_t			 i;

	c = xcalloc(1, sizeof *c);
	*c = *req;
	c->url = req_strdup(req->url);
	c->ca_file = req_strdup(req->ca_file);
	c->cert_file = req_strdup(req->cert_file);
	c->key_file = req_strdup(req->key_file);
	c->bearer_token = req_strdup(req->bearer_token);
	c->bearer_token_file = req_strdup(req->bearer_token_file);
	c->username = req_strdup(req->username);
	c->password = req_strdup(req->password);
	c->password_file = req_strdup(req->password_file);
	h = xcalloc(req->nheaders + 1, sizeof *h);
	for (i = 0; i < req->nheaders; i++) {
		h[i].name = xstrdup(req->headers[i].name);
		h[i].value = xstrdup(req->headers[i].value);
	}
	c->headers = h;
	return c;
}

static void
req_free(struct scrape_request *c)
{
	size_t	i;

	if (c == NULL)
		return;
	free((char *)c->url);
	free((char *)c->ca_file);
	free((char *)c->cert_file);
	free((char *)c->key_file);
	free((char *)c->bearer_token);
	free((char *)c->bearer_token_file);
	free((char *)c->username);
	free((char *)c->password);
	free((char *)c->password_file);
	for (i = 0; i < c->nheaders; i++) {
		free((char *)c->headers[i].name);
		free((char *)c->headers[i].value);
	}
	free((struct scrape_header *)c->headers);
	free(c);
}

static void
job_free(struct scrape_job *j)
{
	struct scrape	*s = j->s;

	if (j->held) {
		TAILQ_REMOVE(j->req->later ? &s->held_later : &s->held, j,
		    hold_entry);
		s->nheld--;
	} else
		curl_multi_remove_handle(s->multi, j->easy);
	curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->headers);
	if (j->fail_ev != NULL)
		event_free(j->fail_ev);
	free(j->fail);
	req_free(j->req);
	if ((*j->prevp = j->next) != NULL)
		j->next->prevp = j->prevp;
	s->inflight--;
	s->bytes -= j->counted;
	free(j->body);
	free(j);
}

void
scrape_free(struct scrape *s)
{
	if (s == NULL)
		return;
	while (s->jobs != NULL)
		job_free(s->jobs);
	event_free(s->resume);
	curlev_free(s->cev);
	free(s);
}

/* curl's write callback: keep the body, up to the job's cap. */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct scrape_job	*j = arg;
	size_t			 n = size * nmemb;

	if (n > j->max - j->len) {
		j->too_big = true;
		return 0;		/* aborts the transfer */
	}
	if (j->len + n > j->cap) {
		while (j->len + n > j->cap)
			j->cap = j->cap == 0 ? 65536 : j->cap * 2;
		if (j->cap > j->max)
			j->cap = j->max;
		if (j->cap + j->recvbuf > j->counted) {
			j->s->bytes += j->cap + j->recvbuf - j->counted;
			j->counted = j->cap + j->recvbuf;
		}
		j->body = xreallocarray(j->body, j->cap, 1);
	}
	memcpy(j->body + j->len, data, n);
	j->len += n;
	return n;
}

/* A transfer finished: hand its result to the job's callback. */
static void
scrape_done(CURL *easy, CURLcode result, void *arg)
{
	struct scrape_result	 r;
	struct scrape		*s;
	struct scrape_job	*j;
	const char		*type = NULL;
	long			 oserr;
	size_t			 n;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, &j);
	memset(&r, 0, sizeof r);
	curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &r.status);
	if (curl_easy_getinfo(easy, CURLINFO_CONTENT_TYPE, &type) ==
	    CURLE_OK && type != NULL)
		snprintf(r.content_type, sizeof r.content_type, "%s", type);
	r.seconds = (double)(clock_mono_us() - j->start_us) / 1e6;
	if (j->too_big)
		snprintf(r.error, sizeof r.error, "response larger than %s",
		    units_fmt_size(j->max));
	else if (result != CURLE_OK) {
		snprintf(r.error, sizeof r.error, "%s", j->errbuf[0] != '\0' ?
		    j->errbuf : curl_easy_strerror(result));
		/* curl says it could not connect; the system says why. */
		if (result == CURLE_COULDNT_CONNECT &&
		    curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr) ==
		    CURLE_OK && oserr != 0) {
			n = strlen(r.error);
			snprintf(r.error + n, sizeof r.error - n, " (%s)",
			    strerror(oserr));
		}
	}
	else if (r.status != 200)
		snprintf(r.error, sizeof r.error, "HTTP status %ld", r.status);
	else if (j->len == 0)
		snprintf(r.error, sizeof r.error, "empty response");
	else {
		r.ok = true;
		r.body = j->body;
		r.len = j->len;
	}
	j->done(&r, j->arg);
	if (r.ok && r.body == NULL)
		j->body = NULL;		/* the callback kept it */
	s = j->s;
	job_free(j);
	scrape_resume(s);
}

/* A job that could not start fails from the loop, as others do. */
static void
job_failed(evutil_socket_t fd, short what, void *arg)
{
	struct scrape_job	*j = arg;
	struct scrape		*s = j->s;
	struct scrape_result	 r;

	memset(&r, 0, sizeof r);
	snprintf(r.error, sizeof r.error, "%s", j->fail);
	j->done(&r, j->arg);
	job_free(j);
	scrape_resume(s);
}

/* The first line of a secret file, read now so that rotation needs no
 * reload; NULL with *cause when it cannot be read. */
static char *
read_secret(const char *path, char **cause)
{
	char	 buf[4096];
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL) {
		xasprintf(cause, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (fgets(buf, sizeof buf, f) == NULL)
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return xstrdup(buf);
}

/* The request's TLS settings: its CA, its client certificate and key. */
static void
job_tls(struct scrape_job *j, const struct scrape_request *req)
{
	if (req->ca_file != NULL)
		curl_easy_setopt(j->easy, CURLOPT_CAINFO, req->ca_file);
	if (req->cert_file != NULL)
		curl_easy_setopt(j->easy, CURLOPT_SSLCERT, req->cert_file);
	if (req->key_file != NULL)
		curl_easy_setopt(j->easy, CURLOPT_SSLKEY, req->key_file);
	if (req->insecure) {
		curl_easy_setopt(j->easy, CURLOPT_SSL_VERIFYPEER, 0L);
		curl_easy_setopt(j->easy, CURLOPT_SSL_VERIFYHOST, 0L);
	}
}

/*
 * The request's credentials, a bearer token or a user and password, read
 * from their files now (a failure to read one fails the job, from the
 * loop), and its extra headers.
 */
static void
job_auth(struct scrape_job *j, const struct scrape_request *req)
{
	char	*h, *token = NULL, *password = NULL, *cause = NULL;
	size_t	 i;

	if (req->bearer_token_file != NULL)
		token = read_secret(req->bearer_token_file, &cause);
	else if (req->bearer_token != NULL)
		token = xstrdup(req->bearer_token);
	if (req->password_file != NULL)
		password = read_secret(req->password_file, &cause);
	else if (req->password != NULL)
		password = xstrdup(req->password);
	if (cause != NULL)
		j->fail = cause;	/* reported from the loop */
	if (token != NULL) {
		curl_easy_setopt(j->easy, CURLOPT_HTTPAUTH, CURLAUTH_BEARER);
		curl_easy_setopt(j->easy, CURLOPT_XOAUTH2_BEARER, token);
	} else if (req->username != NULL) {
		curl_easy_setopt(j->easy, CURLOPT_HTTPAUTH, CURLAUTH_BASIC);
		curl_easy_setopt(j->easy, CURLOPT_USERNAME, req->username);
		curl_easy_setopt(j->easy, CURLOPT_PASSWORD,
		    password != NULL ? password : "");
	}
	free(token);
	free(password);
	for (i = 0; i < req->nheaders; i++) {
		xasprintf(&h, "%s: %s", req->headers[i].name,
		    req->headers[i].value);
		j->headers = curl_slist_append(j->headers, h);
		free(h);
	}
	if (j->headers != NULL)
		curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->headers);
}

/*
 * Start a job's transfer: the room for its body, its handle, from the
 * request given (the caller's, or the job's copy if it waited).
 */
static void
job_begin(struct scrape_job *j, const struct scrape_request *req)
{
	static const struct timeval zero = { 0, 0 };
	struct scrape		*s = j->s;

	/*
	 * Room for the body expected, and some growth, made at once: a
	 * profile of 150 KB grown from 64 KB by doubling was copied twice.
	 */
	if (req->size_hint > 0 && j->max > 0) {
		j->cap = j->max;
		if (req->size_hint < (SIZE_MAX - 4096) / 9 * 8 &&
		    req->size_hint + req->size_hint / 8 + 4096 < j->max)
			j->cap = req->size_hint + req->size_hint / 8 + 4096;
		j->body = xreallocarray(NULL, j->cap, 1);
	}
	/*
	 * curl reads 16 KiB at a time unless told: a body of 146 KB was 10
	 * recv()s, each followed by curl's poll() of the socket for more,
	 * 23 system calls where the body was all there for one. Room for
	 * the body expected, up to curl's cap, reads it at once; the pages
	 * of curl's buffer are taken as a read fills them, and given back
	 * with its handle when the transfer ends.
	 */
	if (j->cap > 0)
		j->recvbuf = j->cap < SCRAPE_RECV_MAX ? j->cap :
		    SCRAPE_RECV_MAX;
	/*
	 * Counted for the gate from the start: the room made and curl's
	 * buffer for it, or, for a body of a size not known yet,
	 * SCRAPE_GUESS, so that the targets started together (at start-up,
	 * a reload adding hundreds) do not all pass the gate before the
	 * first of their bodies comes.
	 */
	j->counted = j->cap > 0 ? j->cap + j->recvbuf : SCRAPE_GUESS;
	s->bytes += j->counted;
	if ((j->easy = curl_easy_init()) == NULL)
		fatalx("curl_easy_init failed");
	curl_easy_setopt(j->easy, CURLOPT_URL, req->url);
	curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(j->easy, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->errbuf);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)req->timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION,
	    req->max_redirects > 0 ? 1L : 0L);
	curl_easy_setopt(j->easy, CURLOPT_MAXREDIRS, req->max_redirects);
	curl_easy_setopt(j->easy, CURLOPT_USERAGENT, PACKAGE "/"
	    PACKAGE_VERSION);
	/* The profile is gzip already: ask for it as is. */
	curl_easy_setopt(j->easy, CURLOPT_ACCEPT_ENCODING, NULL);
	if (j->recvbuf > 0)
		curl_easy_setopt(j->easy, CURLOPT_BUFFERSIZE, (long)j->recvbuf);
	job_tls(j, req);
	job_auth(j, req);
	j->start_us = clock_mono_us();
	if (j->fail != NULL) {
		j->fail_ev = evtimer_new(s->base, job_failed, j);
		evtimer_add(j->fail_ev, &zero);
	} else
		curl_multi_add_handle(s->multi, j->easy);
}

struct scrape_job *
scrape_start(struct scrape *s, const struct scrape_request *req,
    scrape_done_cb done, void *arg)
{
	struct scrape_job	*j;

	j = xcalloc(1, sizeof *j);
	j->s = s;
	j->done = done;
	j->arg = arg;
	j->max = req->max_size;
	if ((j->next = s->jobs) != NULL)
		s->jobs->prevp = &j->next;
	s->jobs = j;
	j->prevp = &s->jobs;
	s->inflight++;
	/*
	 * Behind the jobs already waiting, in turn, those started "later"
	 * behind all others; a job that waits keeps a copy of its request
	 * and no handle yet (curl's takes 5.6 KB, 56 MB for 10,000 targets
	 * waiting), and its timeout runs once it starts.
	 */
	if (!TAILQ_EMPTY(&s->held) || (req->later &&
	    !TAILQ_EMPTY(&s->held_later)) || (s->gate != NULL &&
	    !s->gate(req->later, s->gate_arg))) {
		j->req = req_copy(req);
		j->held = true;
		TAILQ_INSERT_TAIL(req->later ? &s->held_later : &s->held, j,
		    hold_entry);
		s->nheld++;
		return j;
	}
	job_begin(j, req);
	return j;
}

void
scrape_set_gate(struct scrape *s, scrape_gate_cb gate, void *arg)
{
	s->gate = gate;
	s->gate_arg = arg;
}

void
scrape_resume(struct scrape *s)
{
	struct scrape_job	*j;

	for (;;) {
		if ((j = TAILQ_FIRST(&s->held)) == NULL &&
		    (j = TAILQ_FIRST(&s->held_later)) == NULL)
			break;
		if (s->gate != NULL && !s->gate(j->req->later, s->gate_arg))
			break;
		TAILQ_REMOVE(j->req->later ? &s->held_later : &s->held, j,
		    hold_entry);
		s->nheld--;
		j->held = false;
		job_begin(j, j->req);
		req_free(j->req);
		j->req = NULL;
	}
}

/*
 * A job cancelled gives its room back, and may have been the last one
 * under way: the jobs waiting at the gate start from the loop, as after
 * a transfer (a cancel comes from anywhere, a callback among them).
 * Without it, nothing else would ever start them, nor the scrapes held
 * behind them.
 */
void
scrape_cancel(struct scrape_job *j)
{
	static const struct timeval zero = { 0, 0 };
	struct scrape		*s;

	if (j == NULL)
		return;
	s = j->s;
	job_free(j);
	if (s->nheld > 0)
		evtimer_add(s->resume, &zero);
}

size_t
scrape_inflight(const struct scrape *s)
{
	return s->inflight;
}

size_t
scrape_waiting(const struct scrape *s)
{
	return s->nheld;
}

size_t
scrape_bytes(const struct scrape *s)
{
	return s->bytes;
}
