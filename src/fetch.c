#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "fetch.h"
#include "units.h"
#include "xmalloc.h"

/* As many redirects as Go's HTTP client, and so go tool pprof, follows. */
#define FETCH_MAX_REDIRECTS	10L

/*
 * libcurl, loaded when a URL is first fetched: linked in, it and the 30
 * libraries it needs were mapped and relocated by every run of the
 * command, 17 million instructions and 600 page faults before main(),
 * as many faults as zlib takes to gunzip a pair of 1 MB profiles.
 */
#define FETCH_LIBCURL		"libcurl.so.4"

static struct {
	CURLcode	 (*global_init)(long);
	void		 (*global_cleanup)(void);
	CURL		*(*easy_init)(void);
	CURLcode	 (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode	 (*easy_perform)(CURL *);
	CURLcode	 (*easy_getinfo)(CURL *, CURLINFO, ...);
	void		 (*easy_cleanup)(CURL *);
	const char	*(*easy_strerror)(CURLcode);
	void		*handle;
	char		*error;		/* why it did not load */
} fetch_curl;

static pthread_once_t	fetch_once = PTHREAD_ONCE_INIT;

/* Load libcurl and start it, once; fetch_curl.error says if that failed. */
static void
fetch_load(void)
{
	void	*h;

	if ((h = dlopen(FETCH_LIBCURL, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		xasprintf(&fetch_curl.error, "cannot load %s: %s",
		    FETCH_LIBCURL, dlerror());
		return;
	}
	/* POSIX's way to take a function from dlsym(). */
	*(void **)&fetch_curl.global_init = dlsym(h, "curl_global_init");
	*(void **)&fetch_curl.global_cleanup = dlsym(h, "curl_global_cleanup");
	*(void **)&fetch_curl.easy_init = dlsym(h, "curl_easy_init");
	*(void **)&fetch_curl.easy_setopt = dlsym(h, "curl_easy_setopt");
	*(void **)&fetch_curl.easy_perform = dlsym(h, "curl_easy_perform");
	*(void **)&fetch_curl.easy_getinfo = dlsym(h, "curl_easy_getinfo");
	*(void **)&fetch_curl.easy_cleanup = dlsym(h, "curl_easy_cleanup");
	*(void **)&fetch_curl.easy_strerror = dlsym(h, "curl_easy_strerror");
	if (fetch_curl.global_init == NULL ||
	    fetch_curl.global_cleanup == NULL ||
	    fetch_curl.easy_init == NULL || fetch_curl.easy_setopt == NULL ||
	    fetch_curl.easy_perform == NULL ||
	    fetch_curl.easy_getinfo == NULL ||
	    fetch_curl.easy_cleanup == NULL ||
	    fetch_curl.easy_strerror == NULL) {
		xasprintf(&fetch_curl.error, "%s lacks a function heapwatch "
		    "needs", FETCH_LIBCURL);
		dlclose(h);
		return;
	}
	if (fetch_curl.global_init(CURL_GLOBAL_DEFAULT) != 0) {
		xasprintf(&fetch_curl.error, "cannot start libcurl");
		dlclose(h);
		return;
	}
	fetch_curl.handle = h;
}

void
fetch_done(void)
{
	if (fetch_curl.handle != NULL) {
		fetch_curl.global_cleanup();
		dlclose(fetch_curl.handle);
		fetch_curl.handle = NULL;
	}
	free(fetch_curl.error);
	fetch_curl.error = NULL;
}

struct body {
	char	*data;
	size_t	 len;
	size_t	 cap;
	size_t	 max;
	bool	 too_big;
};

bool
fetch_is_url(const char *s)
{
	return strncasecmp(s, "http://", 7) == 0 ||
	    strncasecmp(s, "https://", 8) == 0;
}

/* curl's write callback: keep the body, up to its cap. */
static size_t
fetch_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct body	*b = arg;
	size_t		 n = size * nmemb;

	if (n > b->max - b->len) {
		b->too_big = true;
		return 0;		/* aborts the transfer */
	}
	if (b->len + n > b->cap) {
		while (b->len + n > b->cap)
			b->cap = b->cap == 0 ? 65536 : b->cap * 2;
		if (b->cap > b->max)
			b->cap = b->max;
		b->data = xreallocarray(b->data, b->cap, 1);
	}
	memcpy(b->data + b->len, data, n);
	b->len += n;
	return n;
}

int
fetch_url(const char *url, size_t max, uint64_t timeout_ms, void **data,
    size_t *len, char **cause)
{
	struct body	 b;
	CURL		*easy;
	CURLcode	 rc;
	char		 errbuf[CURL_ERROR_SIZE];
	long		 status = 0, oserr = 0;

	*cause = NULL;
	pthread_once(&fetch_once, fetch_load);
	if (fetch_curl.handle == NULL) {
		xasprintf(cause, "%s: %s", url, fetch_curl.error != NULL ?
		    fetch_curl.error : "libcurl is not loaded");
		return -1;
	}
	memset(&b, 0, sizeof b);
	b.max = max;
	errbuf[0] = '\0';
	if ((easy = fetch_curl.easy_init()) == NULL) {
		xasprintf(cause, "%s: cannot start an HTTP client", url);
		return -1;
	}
	fetch_curl.easy_setopt(easy, CURLOPT_URL, url);
	fetch_curl.easy_setopt(easy, CURLOPT_WRITEFUNCTION, fetch_write);
	fetch_curl.easy_setopt(easy, CURLOPT_WRITEDATA, &b);
	fetch_curl.easy_setopt(easy, CURLOPT_ERRORBUFFER, errbuf);
	fetch_curl.easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	fetch_curl.easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	fetch_curl.easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	fetch_curl.easy_setopt(easy, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	fetch_curl.easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
	fetch_curl.easy_setopt(easy, CURLOPT_MAXREDIRS, FETCH_MAX_REDIRECTS);
	fetch_curl.easy_setopt(easy, CURLOPT_USERAGENT,
	    PACKAGE "/" PACKAGE_VERSION);
	/*
	 * No Accept-Encoding: a body gzip'd in transit would be inflated by
	 * curl past the cap. Go serves profiles gzip-compressed anyway, and
	 * the decoder inflates them under its own cap.
	 */
	fetch_curl.easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, NULL);
	rc = fetch_curl.easy_perform(easy);
	fetch_curl.easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
	if (b.too_big)
		xasprintf(cause, "%s: response larger than %s", url,
		    units_fmt_size(max));
	else if (rc != CURLE_OK) {
		fetch_curl.easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
		/* curl says it could not connect; the system says why. */
		xasprintf(cause, "%s: %s%s%s%s", url, errbuf[0] != '\0' ?
		    errbuf : fetch_curl.easy_strerror(rc),
		    rc == CURLE_COULDNT_CONNECT && oserr != 0 ? " (" : "",
		    rc == CURLE_COULDNT_CONNECT && oserr != 0 ?
		    strerror(oserr) : "",
		    rc == CURLE_COULDNT_CONNECT && oserr != 0 ? ")" : "");
	} else if (status != 200)
		xasprintf(cause, "%s: HTTP status %ld", url, status);
	else if (b.len == 0)
		xasprintf(cause, "%s: empty response", url);
	fetch_curl.easy_cleanup(easy);
	if (*cause != NULL) {
		free(b.data);
		return -1;
	}
	*data = b.data;
	*len = b.len;
	return 0;
}
