#include "config.h"

#include <stdlib.h>

#include <event2/event.h>

#include "clock.h"
#include "curlev.h"
#include "log.h"
#include "xmalloc.h"

struct curlev {
	struct event_base	*base;
	CURLM			*multi;
	struct event		*timer;
	curlev_done_cb		 done;
	void			*arg;
};

/* The event of one socket curl watches. */
struct sock {
	struct event		*ev;
};

/* Hand every finished transfer to the owner. */
static void
check_done(struct curlev *c)
{
	CURLMsg	*msg;
	int	 left;

	while ((msg = curl_multi_info_read(c->multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE)
			c->done(msg->easy_handle, msg->data.result, c->arg);
}

/* A socket is ready: tell curl, then collect what finished. */
static void
sock_ready(evutil_socket_t fd, short what, void *arg)
{
	struct curlev	*c = arg;
	int		 flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(c->multi, fd, flags, &running);
	check_done(c);
}

/* curl's CURLMOPT_SOCKETFUNCTION: watch, rewatch or forget a socket. */
static int
sock_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct curlev	*c = userp;
	struct sock	*sk = sockp;
	short		 kind;

	if (what == CURL_POLL_REMOVE) {
		if (sk != NULL) {
			event_free(sk->ev);
			free(sk);
		}
		curl_multi_assign(c->multi, fd, NULL);
		return 0;
	}
	kind = EV_PERSIST | (what & CURL_POLL_IN ? EV_READ : 0) |
	    (what & CURL_POLL_OUT ? EV_WRITE : 0);
	if (sk == NULL) {
		sk = xcalloc(1, sizeof *sk);
		curl_multi_assign(c->multi, fd, sk);
	} else
		event_free(sk->ev);
	sk->ev = event_new(c->base, fd, kind, sock_ready, c);
	event_add(sk->ev, NULL);
	return 0;
}

static void
timer_fired(evutil_socket_t fd, short what, void *arg)
{
	struct curlev	*c = arg;
	int		 running;

	curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	check_done(c);
}

/* curl's CURLMOPT_TIMERFUNCTION: when to call it back, or never. */
static int
timer_cb(CURLM *multi, long ms, void *userp)
{
	struct curlev	*c = userp;
	struct timeval	 tv;

	if (ms < 0) {
		evtimer_del(c->timer);
		return 0;
	}
	tv = clock_tv_ms(ms);
	evtimer_add(c->timer, &tv);
	return 0;
}

struct curlev *
curlev_new(struct event_base *base, curlev_done_cb done, void *arg)
{
	struct curlev	*c;

	c = xcalloc(1, sizeof *c);
	c->base = base;
	c->done = done;
	c->arg = arg;
	if ((c->multi = curl_multi_init()) == NULL)
		fatalx("curl_multi_init failed");
	if ((c->timer = evtimer_new(base, timer_fired, c)) == NULL)
		fatalx("evtimer_new failed");
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, sock_cb);
	curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
	return c;
}

/* Every transfer must have been removed from the multi handle first. */
void
curlev_free(struct curlev *c)
{
	if (c == NULL)
		return;
	curl_multi_cleanup(c->multi);
	event_free(c->timer);
	free(c);
}

CURLM *
curlev_multi(struct curlev *c)
{
	return c->multi;
}
