/*
 * The daemon's own HTTP endpoint: libmicrohttpd in external-loop mode, its
 * epoll descriptor and timeout watched by the daemon's libevent loop, so
 * that requests are answered on the loop that owns all state.
 */
#ifndef SERVER_H
#define SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

struct config_pair;
struct event_base;
struct server;
struct http_request;

struct http_reply {
	unsigned int	 status;
	const char	*content_type;
	char		*body;		/* malloc'd, taken by the server */
	size_t		 len;
	/*
	 * Or, when set, body is shared: not freed, but release is called
	 * with release_arg once the response is sent or dropped.
	 */
	void		(*release)(void *);
	void		*release_arg;
	int		 fd;		/* or a file to send, taken; -1 */
	off_t		 fd_size;
	const char	*allow;		/* the Allow header of a 405 */
	const char	*authenticate;	/* WWW-Authenticate of a 401 */
	const char	*encoding;	/* Content-Encoding, or NULL */
	const char	*vary;		/* Vary, or NULL */
};

typedef void (*server_route_cb)(const struct http_request *,
    struct http_reply *, void *arg);

/*
 * listen is "HOST:PORT" or "[V6]:PORT"; cert and key are PEM text for
 * HTTPS, or NULL for plain HTTP.
 */
struct server	*server_new(struct event_base *, const char *listen,
		    const char *cert, const char *key, server_route_cb,
		    void *arg, char **cause);
/*
 * Listen on another address or with other TLS settings (nothing happens
 * when they are the same). Requests under way, such as the one that asked
 * for it, are answered by the old settings; safe from a route callback.
 * On failure the old settings stay.
 */
int		 server_restart(struct server *, const char *listen,
		    const char *cert, const char *key, char **cause);
/*
 * Who may use the server: users with bcrypt hashes (Basic auth) and a
 * bearer token; none of either lets everyone in. The values are copied.
 */
void		 server_set_auth(struct server *, const struct config_pair *,
		    size_t nusers, const char *token);
/* Whether a certificate and key (PEM) can serve HTTPS. */
int		 server_check_tls(const char *cert, const char *key,
		    char **cause);
void		 server_free(struct server *);

const char	*server_method(const struct http_request *);
const char	*server_path(const struct http_request *);
/* A query argument, or NULL. */
const char	*server_query(const struct http_request *, const char *key);
/* Whether Accept-Encoding takes coding ("gzip") with a q above 0. */
bool		 server_accepts(const struct http_request *,
		    const char *coding);

/* Fill a reply with a formatted body. */
void		 server_reply_text(struct http_reply *, unsigned int status,
		    const char *content_type, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));

#endif
