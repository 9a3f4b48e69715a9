#include "config.h"

#include <sys/socket.h>
#include <netinet/in.h>

#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <microhttpd.h>

#include "log.h"
#include "server.h"
#include "xmalloc.h"

#define SERVER_MAX_CONNECTIONS	512
#define SERVER_TIMEOUT_S	30
#define SERVER_MEMORY_LIMIT	(64 * 1024)	/* per connection: headers */
#define SERVER_MAX_BODY		(16 * 1024)	/* no endpoint takes more */

struct server {
	struct MHD_Daemon	*mhd;
	struct event		*io;
	struct event		*timer;
	http_route_cb		 route;
	void			*arg;
};

struct http_request {
	struct MHD_Connection	*conn;
	const char		*method;
	const char		*path;
};

/* Per connection: how much of a request body was seen. */
struct upload {
	size_t	 len;
};

const char *
http_method(const struct http_request *r)
{
	return r->method;
}

const char *
http_path(const struct http_request *r)
{
	return r->path;
}

const char *
http_query(const struct http_request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    key);
}

void
http_reply_text(struct http_reply *reply, unsigned int status,
    const char *content_type, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	free(reply->body);
	va_start(ap, fmt);
	n = vasprintf(&reply->body, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("vasprintf");
	reply->len = n;
	reply->status = status;
	reply->content_type = content_type;
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct http_reply *reply)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 rc;

	if (reply->fd != -1)
		resp = MHD_create_response_from_fd(reply->fd_size, reply->fd);
	else
		resp = MHD_create_response_from_buffer(reply->len,
		    reply->body != NULL ? reply->body : (char *)"",
		    reply->body != NULL ? MHD_RESPMEM_MUST_FREE :
		    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		if (reply->fd != -1)
			close(reply->fd);
		free(reply->body);
		return MHD_NO;
	}
	if (reply->content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    reply->content_type);
	if (reply->allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    reply->allow);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	rc = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* libmicrohttpd's access handler: one call per request, once complete. */
static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct server		*srv = cls;
	struct upload		*up = *con_cls;
	struct http_request	 req;
	struct http_reply	 reply;

	if (up == NULL) {
		*con_cls = xcalloc(1, sizeof *up);
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* No endpoint reads a body; bound what is accepted. */
		up->len += *upload_data_size;
		*upload_data_size = 0;
		return MHD_YES;
	}
	memset(&reply, 0, sizeof reply);
	reply.fd = -1;
	if (up->len > SERVER_MAX_BODY) {
		http_reply_text(&reply, MHD_HTTP_CONTENT_TOO_LARGE,
		    "text/plain; charset=utf-8", "request body too large\n");
		return send_reply(conn, &reply);
	}
	req.conn = conn;
	req.method = method;
	req.path = url;
	srv->route(&req, &reply, srv->arg);
	if (reply.status == 0)
		http_reply_text(&reply, MHD_HTTP_INTERNAL_SERVER_ERROR,
		    "text/plain; charset=utf-8", "no reply\n");
	return send_reply(conn, &reply);
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	free(*con_cls);
	*con_cls = NULL;
}

static void	server_poll(struct server *);

static void
server_ready(evutil_socket_t fd, short what, void *arg)
{
	struct server	*srv = arg;

	MHD_run(srv->mhd);
	server_poll(srv);
}

/* Arm the timer for libmicrohttpd's next timeout, if it has one. */
static void
server_poll(struct server *srv)
{
	MHD_UNSIGNED_LONG_LONG	 ms;
	struct timeval		 tv;

	if (MHD_get_timeout(srv->mhd, &ms) == MHD_YES) {
		tv.tv_sec = ms / 1000;
		tv.tv_usec = (ms % 1000) * 1000;
		evtimer_add(srv->timer, &tv);
	} else
		evtimer_del(srv->timer);
}

static void __attribute__((format(printf, 2, 0)))
mhd_log(void *arg, const char *fmt, va_list ap)
{
	char	buf[512];

	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	log_warnx("http: %s", buf);
}

/* Resolve "HOST:PORT" or "[V6]:PORT" to one numeric address. */
static int
parse_listen(const char *listen, struct sockaddr_storage *ss,
    socklen_t *sslen, char **cause)
{
	struct addrinfo	 hints, *res;
	char		*host, *port, *copy;
	int		 rc;

	copy = xstrdup(listen);
	if (copy[0] == '[') {
		host = copy + 1;
		if ((port = strchr(host, ']')) == NULL || port[1] != ':') {
			xasprintf(cause, "listen %s: bad address", listen);
			free(copy);
			return -1;
		}
		*port = '\0';
		port += 2;
	} else {
		host = copy;
		if ((port = strrchr(copy, ':')) == NULL) {
			xasprintf(cause, "listen %s: no port", listen);
			free(copy);
			return -1;
		}
		*port++ = '\0';
	}
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(*host != '\0' ? host : NULL, port, &hints, &res);
	if (rc != 0) {
		xasprintf(cause, "listen %s: %s", listen, gai_strerror(rc));
		free(copy);
		return -1;
	}
	memcpy(ss, res->ai_addr, res->ai_addrlen);
	*sslen = res->ai_addrlen;
	freeaddrinfo(res);
	free(copy);
	return 0;
}

struct server *
server_new(struct event_base *base, const char *listen, http_route_cb route,
    void *arg, char **cause)
{
	struct server			*srv;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	const union MHD_DaemonInfo	*info;
	unsigned int			 flags;

	if (parse_listen(listen, &ss, &sslen, cause) == -1)
		return NULL;
	srv = xcalloc(1, sizeof *srv);
	srv->route = route;
	srv->arg = arg;
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, srv,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
	    MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SERVER_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SERVER_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVER_MEMORY_LIMIT,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
	    MHD_OPTION_END);
	if (srv->mhd == NULL) {
		xasprintf(cause, "listen %s: %s", listen, errno != 0 ?
		    strerror(errno) : "cannot start the HTTP server");
		free(srv);
		return NULL;
	}
	info = MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	srv->io = event_new(base, info->epoll_fd, EV_READ | EV_PERSIST,
	    server_ready, srv);
	srv->timer = evtimer_new(base, server_ready, srv);
	event_add(srv->io, NULL);
	server_poll(srv);
	return srv;
}

void
server_free(struct server *srv)
{
	if (srv == NULL)
		return;
	event_free(srv->io);
	event_free(srv->timer);
	MHD_stop_daemon(srv->mhd);
	free(srv);
}
