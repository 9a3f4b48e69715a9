#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "log.h"
#include "scrape.h"
#include "units.h"
#include "xmalloc.h"

struct scrape {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	size_t			 inflight;
	struct scrape_job	*jobs;		/* in flight, a list */
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
	char			 errbuf[CURL_ERROR_SIZE];
	char			*fail;		/* failed before it started */
	struct event		*fail_ev;
	struct timespec		 start;
	struct scrape_job	*next, **prevp;
};

/* The libevent event of one socket curl watches. */
struct sock {
	struct event		*ev;
	struct scrape		*s;
};

static void	check_done(struct scrape *);

/* A socket is ready: tell curl, then collect what finished. */
static void
sock_ready(evutil_socket_t fd, short what, void *arg)
{
	struct scrape	*s = arg;
	int		 flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(s->multi, fd, flags, &running);
	check_done(s);
}

/* curl's CURLMOPT_SOCKETFUNCTION: watch, rewatch or forget a socket. */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct scrape	*s = userp;
	struct sock	*sk = sockp;
	short		 kind;

	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			event_free(sk->ev);
			free(sk);
		}
		curl_multi_assign(s->multi, fd, NULL);
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (sk == NULL) {
		sk = xcalloc(1, sizeof *sk);
		sk->s = s;
		curl_multi_assign(s->multi, fd, sk);
	} else
		event_free(sk->ev);
	sk->ev = event_new(s->base, fd, kind, sock_ready, s);
	event_add(sk->ev, NULL);
	return 0;
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct scrape	*s = arg;
	int		 running;

	curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(s);
}

/* curl's CURLMOPT_TIMERFUNCTION: when to call it back, or never. */
static int
timer_cb(CURLM *multi, long ms, void *userp)
{
	struct scrape	*s = userp;
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(s->timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	evtimer_add(s->timer, &tv);
	return 0;
}

struct scrape *
scrape_new(struct event_base *base)
{
	struct scrape	*s;

	s = xcalloc(1, sizeof *s);
	s->base = base;
	if ((s->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	s->timer = evtimer_new(base, timer_fired, s);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
	return s;
}

static void
job_free(struct scrape_job *j)
{
	struct scrape	*s = j->s;

	curl_multi_remove_handle(s->multi, j->easy);
	curl_easy_cleanup(j->easy);
	curl_slist_free_all(j->headers);
	if (j->fail_ev != NULL)
		event_free(j->fail_ev);
	free(j->fail);
	if ((*j->prevp = j->next) != NULL)
		j->next->prevp = j->prevp;
	s->inflight--;
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
	curl_multi_cleanup(s->multi);
	event_free(s->timer);
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
		j->body = xreallocarray(j->body, j->cap, 1);
	}
	memcpy(j->body + j->len, data, n);
	j->len += n;
	return n;
}

static double
since(const struct timespec *t0)
{
	struct timespec	t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Hand every finished transfer to its callback. */
static void
check_done(struct scrape *s)
{
	struct scrape_result	 r;
	struct scrape_job	*j;
	CURLMsg			*msg;
	int			 left;

	while ((msg = curl_multi_info_read(s->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &j);
		memset(&r, 0, sizeof r);
		curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &r.status);
		r.seconds = since(&j->start);
		if (j->too_big)
			snprintf(r.error, sizeof r.error, "response larger "
			    "than %s", units_fmt_size(j->max));
		else if (msg->data.result != CURLE_OK)
			snprintf(r.error, sizeof r.error, "%s",
			    j->errbuf[0] != '\0' ? j->errbuf :
			    curl_easy_strerror(msg->data.result));
		else if (r.status != 200)
			snprintf(r.error, sizeof r.error, "HTTP status %ld",
			    r.status);
		else if (j->len == 0)
			snprintf(r.error, sizeof r.error, "empty response");
		else {
			r.ok = true;
			r.body = j->body;
			r.len = j->len;
		}
		j->done(&r, j->arg);
		job_free(j);
	}
}

/* A job that could not start fails from the loop, as others do. */
static void
job_failed(evutil_socket_t fd, short what, void *arg)
{
	struct scrape_job	*j = arg;
	struct scrape_result	 r;

	memset(&r, 0, sizeof r);
	snprintf(r.error, sizeof r.error, "%s", j->fail);
	j->done(&r, j->arg);
	job_free(j);
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

struct scrape_job *
scrape_start(struct scrape *s, const struct scrape_request *req,
    scrape_done_cb done, void *arg)
{
	static const struct timeval zero = { 0, 0 };
	struct scrape_job	*j;
	char			*h, *token = NULL, *password = NULL;
	char			*cause = NULL;
	size_t			 i;

	j = xcalloc(1, sizeof *j);
	j->s = s;
	j->done = done;
	j->arg = arg;
	j->max = req->max_size;
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
	if (req->bearer_token_file != NULL)
		token = read_secret(req->bearer_token_file, &cause);
	else if (req->bearer_token != NULL)
		token = xstrdup(req->bearer_token);
	if (req->password_file != NULL)
		password = read_secret(req->password_file, &cause);
	else if (req->password != NULL)
		password = xstrdup(req->password);
	if (cause != NULL)
		j->fail = cause;	/* reported from the loop, not started */
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
	clock_gettime(CLOCK_MONOTONIC, &j->start);
	if ((j->next = s->jobs) != NULL)
		s->jobs->prevp = &j->next;
	s->jobs = j;
	j->prevp = &s->jobs;
	s->inflight++;
	if (j->fail != NULL) {
		j->fail_ev = evtimer_new(s->base, job_failed, j);
		evtimer_add(j->fail_ev, &zero);
	} else
		curl_multi_add_handle(s->multi, j->easy);
	return j;
}

void
scrape_cancel(struct scrape_job *j)
{
	if (j != NULL)
		job_free(j);
}

size_t
scrape_inflight(const struct scrape *s)
{
	return s->inflight;
}
