#include "config.h"

#include <sys/queue.h>
#include <sys/socket.h>
#include <netinet/in.h>

#include <crypt.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <microhttpd.h>

#include "clock.h"
#include "conf.h"
#include "log.h"
#include "server.h"
#include "units.h"
#include "xmalloc.h"

#define SERVER_MAX_CONNECTIONS	512
#define SERVER_TIMEOUT_S	30
#define SERVER_MEMORY_LIMIT	(64 * 1024)	/* per connection: headers */
#define SERVER_MAX_BODY		(16 * 1024)	/* no endpoint takes more */
#define SERVER_REAP_MS		200	/* how often a retired daemon is
					   checked for open connections */
#define SERVER_REFUSED_LOG_MS	60000	/* requests refused: a line a minute */
#define SERVER_TLS_PRIORITIES	"NORMAL:-VERS-ALL:+VERS-TLS1.3:+VERS-TLS1.2"
#define SERVER_REALM		"heapwatchd"
#define AUTH_CACHE_SIZE		64	/* Authorization values that passed */
#define AUTH_VALUE_MAX		512	/* longer ones are never cached */

/*
 * One libmicrohttpd daemon. A server has one that accepts connections;
 * when its address or TLS settings change it starts another and retires
 * the old one, which answers the requests it has and is then stopped:
 * outside of its own callbacks, and without cutting off the reply to the
 * POST /-/reload that caused it.
 */
struct httpd {
	LIST_ENTRY(httpd)	 entry;
	struct server		*srv;
	struct MHD_Daemon	*mhd;
	struct event		*io;
	struct event		*timer;
	struct event		*reap;		/* when retired */
	time_t			 retired;
	char			*listen;
	char			*cert;		/* PEM, NULL for plain HTTP */
	char			*key;
};

/* An Authorization value that passed; compared in constant time. */
struct auth_entry {
	size_t			 len;		/* 0: unused */
	unsigned char		 value[AUTH_VALUE_MAX];
};

struct server {
	struct event_base	*base;
	struct httpd		*cur;
	LIST_HEAD(, httpd)	 retired;
	server_route_cb		 route;
	void			*arg;

	struct config_pair	*users;		/* name and bcrypt hash */
	size_t			 nusers;
	char			*token;
	struct auth_entry	 cache[AUTH_CACHE_SIZE];
	size_t			 cache_next;
	struct crypt_data	*crypt;
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
server_method(const struct http_request *r)
{
	return r->method;
}

const char *
server_path(const struct http_request *r)
{
	return r->path;
}

const char *
server_query(const struct http_request *r, const char *key)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
	    key);
}

/*
 * Accept-Encoding is a list such as "gzip, deflate;q=0.5, br;q=0": a
 * coding is taken when it is listed with a weight above 0, or, when it
 * is not listed, "*" is.
 */
bool
server_accepts(const struct http_request *r, const char *coding)
{
	const char	*v, *p, *end, *q;
	size_t		 n, w, clen = strlen(coding);
	bool		 star = false, yes;

	v = MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_ACCEPT_ENCODING);
	for (p = v; p != NULL && *p != '\0'; p = *end != '\0' ? end + 1 :
	    end) {
		p += strspn(p, " \t");
		end = p + strcspn(p, ",");
		n = strcspn(p, ";, \t");
		/* No weight is 1; q=0, q=0.0 and the like refuse it. */
		yes = true;
		if ((q = strstr(p + n, "q=")) != NULL && q < end) {
			w = strcspn(q + 2, " \t,;");
			yes = w == 0 || strspn(q + 2, "0.") < w;
		}
		if (n == clen && strncasecmp(p, coding, n) == 0)
			return yes;
		if (n == 1 && *p == '*')
			star = yes;
	}
	return star;
}

/* Let a reply's body go: freed, or released when shared. */
static void
server_reply_drop(struct http_reply *reply)
{
	if (reply->release != NULL)
		reply->release(reply->release_arg);
	else
		free(reply->body);
	reply->body = NULL;
	reply->release = NULL;
	reply->release_arg = NULL;
}

void
server_reply_text(struct http_reply *reply, unsigned int status,
    const char *content_type, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	server_reply_drop(reply);
	va_start(ap, fmt);
	n = vasprintf(&reply->body, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("vasprintf");
	reply->len = n;
	reply->status = status;
	reply->content_type = content_type;
}

/*
 * A file is sent by copying it, never by sendfile(2): the store may
 * rewrite a dropped snapshot's file once no descriptor is open on it
 * (see durable_rewrite()), and pages handed to a socket by sendfile are
 * read again when the peer takes them.
 */
static ssize_t
file_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	ssize_t	n;

	while ((n = pread((int)(intptr_t)cls, buf, max, (off_t)pos)) == -1 &&
	    errno == EINTR)
		;
	if (n == -1)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return MHD_CONTENT_READER_END_OF_STREAM;
	return n;
}

static void
file_close(void *cls)
{
	close((int)(intptr_t)cls);
}

static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct http_reply *reply)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 rc;

	if (reply->fd != -1)
		resp = MHD_create_response_from_callback(reply->fd_size,
		    64 * 1024, file_read, (void *)(intptr_t)reply->fd,
		    file_close);
	else if (reply->release != NULL)
		/* Shared, and let go when libmicrohttpd is done with it. */
		resp = MHD_create_response_from_buffer_with_free_callback_cls(
		    reply->len, reply->body, reply->release,
		    reply->release_arg);
	else
		resp = MHD_create_response_from_buffer(reply->len,
		    reply->body != NULL ? reply->body : (char *)"",
		    reply->body != NULL ? MHD_RESPMEM_MUST_FREE :
		    MHD_RESPMEM_PERSISTENT);
	if (resp == NULL) {
		if (reply->fd != -1)
			close(reply->fd);
		server_reply_drop(reply);
		return MHD_NO;
	}
	if (reply->content_type != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
		    reply->content_type);
	if (reply->allow != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW,
		    reply->allow);
	if (reply->authenticate != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		    reply->authenticate);
	if (reply->encoding != NULL)
		MHD_add_response_header(resp,
		    MHD_HTTP_HEADER_CONTENT_ENCODING, reply->encoding);
	if (reply->vary != NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY,
		    reply->vary);
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	rc = MHD_queue_response(conn, reply->status, resp);
	MHD_destroy_response(resp);
	return rc;
}

/* Whether a (presented, secret) pair is equal, in time that depends on b. */
static bool
ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile unsigned char	*pa = a, *pb = b;
	unsigned char			 d = alen != blen, x;
	size_t				 i;

	for (i = 0; i < blen; i++) {
		x = i < alen ? pa[i] : 0;
		d |= x ^ pb[i];
	}
	return d == 0;
}

/* Whether value passed before; every entry is compared, in full. */
static bool
auth_cached(struct server *srv, const char *value)
{
	unsigned char	 v[AUTH_VALUE_MAX];
	size_t		 len = strlen(value), i;
	bool		 hit = false;

	if (len > AUTH_VALUE_MAX)
		return false;
	memset(v, 0, sizeof v);
	memcpy(v, value, len);
	for (i = 0; i < AUTH_CACHE_SIZE; i++)
		hit |= (srv->cache[i].len != 0) &
		    ct_equal(v, sizeof v, srv->cache[i].value, sizeof v) &
		    (srv->cache[i].len == len);
	explicit_bzero(v, sizeof v);
	return hit;
}

/* Remember a value that passed, the oldest making way. */
static void
auth_remember(struct server *srv, const char *value)
{
	struct auth_entry	*e;
	size_t			 len = strlen(value);

	if (len > AUTH_VALUE_MAX)
		return;
	e = &srv->cache[srv->cache_next];
	srv->cache_next = (srv->cache_next + 1) % AUTH_CACHE_SIZE;
	memset(e->value, 0, sizeof e->value);
	memcpy(e->value, value, len);
	e->len = len;
}

/*
 * Decode base64 (RFC 4648, padded) into out; its length or -1. Only the
 * decoded bytes are written, never the padding's: a value that decodes
 * to outlen bytes exactly fits.
 */
static ssize_t
base64_decode(const char *in, unsigned char *out, size_t outlen)
{
	static const char	 alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	const char		*p;
	uint32_t		 acc = 0;
	size_t			 n = 0, len = strlen(in), i, k, pad = 0, want;

	if (len == 0 || len % 4 != 0)
		return -1;
	if (in[len - 1] == '=')
		pad++;
	if (in[len - 2] == '=')
		pad++;
	want = (len / 4) * 3 - pad;
	if (want > outlen)
		return -1;
	for (i = 0; i < len; i++) {
		if (i >= len - pad) {
			acc <<= 6;
		} else {
			if (in[i] == '\0' || (p = strchr(alpha, in[i])) == NULL)
				return -1;
			acc = (acc << 6) | (uint32_t)(p - alpha);
		}
		if (i % 4 == 3) {
			for (k = 0; k < 3 && n < want; k++)
				out[n++] = (unsigned char)(acc >> (16 - 8 * k));
			acc = 0;
		}
	}
	return (ssize_t)n;
}

/* Whether "Basic BASE64(user:password)" names a user and its password. */
static bool
auth_basic(struct server *srv, const char *b64)
{
	unsigned char	 buf[AUTH_VALUE_MAX];
	char		*pass, *out;
	const char	*hash;
	ssize_t		 n;
	size_t		 i;
	bool		 good;

	if (srv->nusers == 0 ||
	    (n = base64_decode(b64, buf, sizeof buf - 1)) == -1)
		return false;
	buf[n] = '\0';
	if (strlen((char *)buf) != (size_t)n ||
	    (pass = strchr((char *)buf, ':')) == NULL) {
		explicit_bzero(buf, sizeof buf);
		return false;
	}
	*pass++ = '\0';
	for (i = 0; i < srv->nusers; i++)
		if (strcmp(srv->users[i].name, (char *)buf) == 0)
			break;
	/* An unknown user costs a bcrypt all the same: no user probing. */
	hash = srv->users[i < srv->nusers ? i : 0].value;
	memset(srv->crypt, 0, sizeof *srv->crypt);
	out = crypt_rn(pass, hash, srv->crypt, sizeof *srv->crypt);
	good = i < srv->nusers && out != NULL &&
	    ct_equal(out, strlen(out), hash, strlen(hash));
	explicit_bzero(buf, sizeof buf);
	explicit_bzero(srv->crypt, sizeof *srv->crypt);
	return good;
}

/* Whether the request may be answered: no auth set, or it passes. */
static bool
auth_check(struct server *srv, struct MHD_Connection *conn)
{
	const char	*v;

	if (srv->nusers == 0 && srv->token == NULL)
		return true;
	v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	    MHD_HTTP_HEADER_AUTHORIZATION);
	if (v == NULL)
		return false;
	if (srv->token != NULL && strncasecmp(v, "Bearer ", 7) == 0)
		return ct_equal(v + 7, strlen(v + 7), srv->token,
		    strlen(srv->token));
	if (srv->nusers == 0 || strncasecmp(v, "Basic ", 6) != 0)
		return false;
	if (auth_cached(srv, v))
		return true;
	if (!auth_basic(srv, v + 6))
		return false;
	auth_remember(srv, v);
	return true;
}

/*
 * libmicrohttpd's access handler: called once when the headers are in
 * (where auth and the announced body size are checked, so that nothing
 * more is read from a client turned away), then with the body in pieces,
 * then once more when the request is complete.
 */
static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct httpd		*h = cls;
	struct server		*srv = h->srv;
	struct upload		*up = *con_cls;
	struct http_request	 req;
	struct http_reply	 reply;
	const char		*v, *errstr;
	long long		 clen;

	memset(&reply, 0, sizeof reply);
	reply.fd = -1;
	if (up == NULL) {
		*con_cls = xcalloc(1, sizeof *up);
		if (!auth_check(srv, conn)) {
			server_reply_text(&reply, MHD_HTTP_UNAUTHORIZED,
			    "text/plain; charset=utf-8", "Unauthorized\n");
			reply.authenticate = srv->nusers > 0 ?
			    "Basic realm=\"" SERVER_REALM "\"" :
			    "Bearer realm=\"" SERVER_REALM "\"";
			return send_reply(conn, &reply);
		}
		v = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		    MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (v != NULL && (units_number(v, 0, LLONG_MAX, &clen,
		    &errstr) == -1 || clen > SERVER_MAX_BODY)) {
			server_reply_text(&reply, MHD_HTTP_CONTENT_TOO_LARGE,
			    "text/plain; charset=utf-8",
			    "request body too large\n");
			return send_reply(conn, &reply);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0) {
		/* No endpoint reads a body: a chunked one too long is cut. */
		up->len += *upload_data_size;
		*upload_data_size = 0;
		return up->len > SERVER_MAX_BODY ? MHD_NO : MHD_YES;
	}
	req.conn = conn;
	req.method = method;
	req.path = url;
	srv->route(&req, &reply, srv->arg);
	if (reply.status == 0)
		server_reply_text(&reply, MHD_HTTP_INTERNAL_SERVER_ERROR,
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

static void	httpd_poll(struct httpd *);

static void
httpd_ready(evutil_socket_t fd, short what, void *arg)
{
	struct httpd	*h = arg;

	MHD_run(h->mhd);
	httpd_poll(h);
}

/* Arm the timer for libmicrohttpd's next timeout, if it has one. */
static void
httpd_poll(struct httpd *h)
{
	MHD_UNSIGNED_LONG_LONG	 ms;
	struct timeval		 tv;

	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		tv = clock_tv_ms((int64_t)ms);
		evtimer_add(h->timer, &tv);
	} else
		evtimer_del(h->timer);
}

/*
 * libmicrohttpd's complaints, to the log. A request it refuses itself (a
 * header or URL too large: 413, 414, 431) comes with the HTML page it
 * answers; any client can send them, so they are said in a line without
 * the page, at most once a minute, with how many came meanwhile.
 */
static void __attribute__((format(printf, 2, 0)))
mhd_log(void *arg, const char *fmt, va_list ap)
{
	static int64_t	 last_ms;
	static unsigned	 since;
	char		 buf[512];
	const char	*code;
	int64_t		 now;

	(void)arg;
	vsnprintf(buf, sizeof buf, fmt, ap);
	buf[strcspn(buf, "\n")] = '\0';
	if ((code = strstr(buf, "HTTP response code is ")) == NULL) {
		log_warnx("http: %s", buf);
		return;
	}
	code += strlen("HTTP response code is ");
	now = clock_mono_ms();
	if (last_ms != 0 && now - last_ms < SERVER_REFUSED_LOG_MS) {
		since++;
		return;
	}
	if (since > 0)
		log_warnx("http: a request refused with %.3s, its connection "
		    "closed (and %u more since the last said)", code, since);
	else
		log_warnx("http: a request refused with %.3s, its connection "
		    "closed", code);
	last_ms = now;
	since = 0;
}

/*
 * Decode a path or query's %XX in place, but %00: a NUL would cut the
 * string short, so that "/metrics%00x" answered as "/metrics". Left as it
 * is, such a path is no path served. Returns the new length.
 */
static size_t
unescape_cb(void *arg, struct MHD_Connection *c, char *s)
{
	char		*r = s, *w = s;
	unsigned int	 v;

	(void)arg;
	(void)c;
	for (; *r != '\0'; r++) {
		if (r[0] == '%' && isxdigit((unsigned char)r[1]) &&
		    isxdigit((unsigned char)r[2]) &&
		    sscanf(r + 1, "%2x", &v) == 1 && v != 0) {
			*w++ = (char)v;
			r += 2;
		} else
			*w++ = *r;
	}
	*w = '\0';
	return (size_t)(w - s);
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

/*
 * Start a daemon on listen, or on the listening socket fd when it is not
 * -1 (taken, even on failure), with TLS when cert is set.
 */
static struct httpd *
httpd_start(struct server *srv, const char *listen, const char *cert,
    const char *key, int fd, char **cause)
{
	struct httpd			*h;
	struct sockaddr_storage		 ss;
	socklen_t			 sslen;
	const union MHD_DaemonInfo	*info;
	struct MHD_OptionItem		 opts[5];
	unsigned int			 flags;
	size_t				 n = 0;

	if (parse_listen(listen, &ss, &sslen, cause) == -1) {
		if (fd != -1)
			close(fd);
		return NULL;
	}
	h = xcalloc(1, sizeof *h);
	h->srv = srv;
	h->listen = xstrdup(listen);
	h->cert = cert != NULL ? xstrdup(cert) : NULL;
	h->key = key != NULL ? xstrdup(key) : NULL;
	flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (cert != NULL)
		flags |= MHD_USE_TLS;
	/* Where to listen, and TLS options only with MHD_USE_TLS. */
	memset(opts, 0, sizeof opts);
	opts[n].option = MHD_OPTION_SOCK_ADDR;
	opts[n++].ptr_value = &ss;
	if (fd != -1) {
		opts[0].option = MHD_OPTION_LISTEN_SOCKET;
		opts[0].value = fd;
		opts[0].ptr_value = NULL;
	}
	if (cert != NULL) {
		opts[n].option = MHD_OPTION_HTTPS_MEM_CERT;
		opts[n++].ptr_value = h->cert;
		opts[n].option = MHD_OPTION_HTTPS_MEM_KEY;
		opts[n++].ptr_value = h->key;
		opts[n].option = MHD_OPTION_HTTPS_PRIORITIES;
		opts[n++].ptr_value = (void *)SERVER_TLS_PRIORITIES;
	}
	opts[n].option = MHD_OPTION_END;
	errno = 0;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, h,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, srv,
	    MHD_OPTION_UNESCAPE_CALLBACK, unescape_cb, NULL,
	    MHD_OPTION_ARRAY, opts,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)SERVER_MAX_CONNECTIONS,
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)SERVER_TIMEOUT_S,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)SERVER_MEMORY_LIMIT,
	    MHD_OPTION_NOTIFY_COMPLETED, completed_cb, srv,
	    MHD_OPTION_END);
	if (h->mhd == NULL) {
		xasprintf(cause, "listen %s: %s", listen,
		    cert != NULL && errno == 0 ? "cannot start TLS with "
		    "web.tls (does the key match the certificate?)" :
		    errno != 0 ? strerror(errno) :
		    "cannot start the HTTP server");
		/* A socket libmicrohttpd did not take is still ours. */
		if (fd != -1 && fcntl(fd, F_GETFD) != -1)
			close(fd);
		free(h->listen);
		free(h->cert);
		free(h->key);
		free(h);
		return NULL;
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	h->io = event_new(srv->base, info->epoll_fd, EV_READ | EV_PERSIST,
	    httpd_ready, h);
	h->timer = evtimer_new(srv->base, httpd_ready, h);
	event_add(h->io, NULL);
	httpd_poll(h);
	return h;
}

static void
httpd_free(struct httpd *h)
{
	if (h == NULL)
		return;
	event_free(h->io);
	event_free(h->timer);
	if (h->reap != NULL)
		event_free(h->reap);
	MHD_stop_daemon(h->mhd);
	free(h->listen);
	free(h->cert);
	if (h->key != NULL)
		explicit_bzero(h->key, strlen(h->key));
	free(h->key);
	free(h);
}

/* Stop a retired daemon once its connections are done, or time is up. */
static void
httpd_reap(evutil_socket_t fd, short what, void *arg)
{
	struct httpd			*h = arg;
	const union MHD_DaemonInfo	*info;
	struct timeval			 tv = { 0, SERVER_REAP_MS * 1000 };

	info = MHD_get_daemon_info(h->mhd,
	    MHD_DAEMON_INFO_CURRENT_CONNECTIONS);
	if ((info != NULL && info->num_connections == 0) ||
	    time(NULL) - h->retired > SERVER_TIMEOUT_S) {
		LIST_REMOVE(h, entry);
		httpd_free(h);
		return;
	}
	evtimer_add(h->reap, &tv);
}

/*
 * Stop h accepting connections and let it finish the ones it has; its
 * listening socket is returned, to reuse or close.
 */
static int
httpd_retire(struct httpd *h)
{
	struct timeval	tv = { 0, SERVER_REAP_MS * 1000 };
	int		fd;

	fd = MHD_quiesce_daemon(h->mhd);
	h->retired = time(NULL);
	h->reap = evtimer_new(h->srv->base, httpd_reap, h);
	evtimer_add(h->reap, &tv);
	LIST_INSERT_HEAD(&h->srv->retired, h, entry);
	return fd;
}

struct server *
server_new(struct event_base *base, const char *listen, const char *cert,
    const char *key, server_route_cb route, void *arg, char **cause)
{
	struct server	*srv;

	srv = xcalloc(1, sizeof *srv);
	srv->base = base;
	srv->route = route;
	srv->arg = arg;
	srv->crypt = xcalloc(1, sizeof *srv->crypt);
	LIST_INIT(&srv->retired);
	if ((srv->cur = httpd_start(srv, listen, cert, key, -1,
	    cause)) == NULL) {
		free(srv->crypt);
		free(srv);
		return NULL;
	}
	return srv;
}

static bool
str_equal(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

int
server_restart(struct server *srv, const char *listen, const char *cert,
    const char *key, char **cause)
{
	struct httpd	*old = srv->cur, *h;
	char		*why = NULL;
	bool		 same;
	int		 fd, keep;

	if (str_equal(old->listen, listen) && str_equal(old->cert, cert) &&
	    str_equal(old->key, key))
		return 0;
	same = strcmp(old->listen, listen) == 0;
	/* Try the new address first, which works unless the two overlap. */
	if (!same && (h = httpd_start(srv, listen, cert, key, -1,
	    &why)) != NULL) {
		if ((keep = httpd_retire(old)) != -1)
			close(keep);
		srv->cur = h;
		free(why);
		return 0;
	}
	free(why);
	why = NULL;
	keep = httpd_retire(old);
	if (!same && keep != -1) {
		close(keep);
		keep = -1;
	}
	fd = -1;
	if (keep != -1 && (fd = dup(keep)) == -1)
		fatal("dup");
	if ((h = httpd_start(srv, listen, cert, key, fd, cause)) != NULL) {
		if (keep != -1)
			close(keep);
		srv->cur = h;
		return 0;
	}
	/* Back to what worked: the old settings, on the old socket. */
	if ((srv->cur = httpd_start(srv, old->listen, old->cert, old->key,
	    keep, &why)) == NULL)
		fatalx("%s", why);
	return -1;
}

void
server_set_auth(struct server *srv, const struct config_pair *users,
    size_t nusers, const char *token)
{
	size_t	i;

	for (i = 0; i < srv->nusers; i++) {
		free(srv->users[i].name);
		free(srv->users[i].value);
	}
	free(srv->users);
	if (srv->token != NULL)
		explicit_bzero(srv->token, strlen(srv->token));
	free(srv->token);
	explicit_bzero(srv->cache, sizeof srv->cache);
	srv->cache_next = 0;

	srv->users = xreallocarray(NULL, nusers, sizeof *srv->users);
	for (i = 0; i < nusers; i++) {
		srv->users[i].name = xstrdup(users[i].name);
		srv->users[i].value = xstrdup(users[i].value);
	}
	srv->nusers = nusers;
	srv->token = token != NULL ? xstrdup(token) : NULL;
}

int
server_check_tls(const char *cert, const char *key, char **cause)
{
	struct MHD_Daemon	*mhd;

	mhd = MHD_start_daemon(MHD_USE_NO_LISTEN_SOCKET | MHD_USE_EPOLL |
	    MHD_USE_TLS, 0, NULL, NULL, access_cb, NULL,
	    MHD_OPTION_HTTPS_MEM_CERT, cert, MHD_OPTION_HTTPS_MEM_KEY, key,
	    MHD_OPTION_HTTPS_PRIORITIES, SERVER_TLS_PRIORITIES,
	    MHD_OPTION_END);
	if (mhd == NULL) {
		xasprintf(cause, "the certificate and key cannot be used "
		    "(not PEM, or the key does not match the certificate)");
		return -1;
	}
	MHD_stop_daemon(mhd);
	return 0;
}

void
server_free(struct server *srv)
{
	struct httpd	*h;

	if (srv == NULL)
		return;
	while ((h = LIST_FIRST(&srv->retired)) != NULL) {
		LIST_REMOVE(h, entry);
		httpd_free(h);
	}
	httpd_free(srv->cur);
	server_set_auth(srv, NULL, 0, NULL);
	free(srv->users);
	free(srv->crypt);
	free(srv);
}
