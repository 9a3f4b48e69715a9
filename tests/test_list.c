/*
 * Unit tests for src/list.c where heapwatchd uses it: the line view reads
 * source files named by the profiles of the services watched, so with
 * `within` it reads only regular files below the target's source_path,
 * and none without one. The numbers themselves are checked against
 * go tool pprof -list by tests/pprof_compare.sh.
 */
#include "config.h"

#include <sys/stat.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "list.h"
#include "profile.h"
#include "tap.h"
#include "pbuild.h"

#define U(x)	((uint64_t)(x))
#define V(x)	((int64_t)(x))

static char	 dir[] = "/tmp/test_list.XXXXXX";

static void
put(const char *name, const char *text)
{
	char	 path[512];
	FILE	*f;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	if ((f = fopen(path, "w")) == NULL) {
		perror(path);
		exit(1);
	}
	fputs(text, f);
	fclose(f);
}

/* The listed function of that name, or NULL. */
static const struct list_fn *
fn(const struct list *l, const char *name)
{
	size_t	i;

	for (i = 0; l != NULL && i < l->nfns; i++)
		if (strcmp(l->fns[i].name, name) == 0)
			return &l->fns[i];
	return NULL;
}

/* Whether any of the function's lines has text. */
static bool
has_text(const struct list_fn *f)
{
	size_t	i;

	for (i = 0; f != NULL && i < f->nlines; i++)
		if (f->lines[i].text != NULL)
			return true;
	return false;
}

/* The text of line n of the function, as a string, or "". */
static const char *
line_text(const struct list_fn *f, int64_t n)
{
	static char	buf[256];
	size_t		i;

	buf[0] = '\0';
	for (i = 0; f != NULL && i < f->nlines; i++)
		if (f->lines[i].line == n && f->lines[i].text != NULL)
			snprintf(buf, sizeof buf, "%.*s", (int)f->lines[i].len,
			    f->lines[i].text);
	return buf;
}

int
main(void)
{
	struct pb		*b;
	struct profile		*p;
	struct list_options	 o;
	struct list		*l;
	const struct list_fn	*f;
	char			 src[512], secret[512], *cause = NULL;
	uint64_t		 m, fok, fabs_, fup, ffifo, fmain;
	uint64_t		 lok, labs, lup, lfifo, lmain;

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(src, sizeof src, "%s/src", dir);
	mkdir(src, 0755);
	put("src/ok.go", "package main\n\nfunc ok() {\n\tkeep()\n}\n");
	put("secret.go", "package secret\n\nvar key = \"hunter2\"\n");
	put("src/main.go", "package main\n\nfunc main() {\n\tok()\n}\n");
	snprintf(secret, sizeof secret, "%s/secret.go", dir);
	{
		char fifo[512];

		snprintf(fifo, sizeof fifo, "%s/src/fifo.go", dir);
		if (mkfifo(fifo, 0600) == -1) {
			perror("mkfifo");
			return 1;
		}
	}

	/* Four functions, each in a file of its own, under main.main. */
	b = pb_new();
	pb_sample_type(b, "inuse_space", "bytes");
	m = pb_mapping(b, 0x400000, 0x800000, "/usr/bin/svc");
	fok = pb_func(b, "main.ok", "ok.go");
	fabs_ = pb_func(b, "main.abs", secret);
	fup = pb_func(b, "main.up", "../secret.go");
	ffifo = pb_func(b, "main.fifo", "fifo.go");
	fmain = pb_func(b, "main.main", "main.go");
	lok = pb_loc(b, m, 0x401000, 1, U(fok), V(4));
	labs = pb_loc(b, m, 0x402000, 1, U(fabs_), V(3));
	lup = pb_loc(b, m, 0x403000, 1, U(fup), V(3));
	lfifo = pb_loc(b, m, 0x404000, 1, U(ffifo), V(1));
	lmain = pb_loc(b, m, 0x405000, 1, U(fmain), V(4));
	pb_sample(b, 2, lok, lmain, V(100));
	pb_sample(b, 2, labs, lmain, V(10));
	pb_sample(b, 2, lup, lmain, V(10));
	pb_sample(b, 2, lfifo, lmain, V(10));
	p = pb_decode(b, NULL);
	ok(p != NULL, "the profile decodes");

	/* heapwatchd's line view with a source_path: only files below it. */
	memset(&o, 0, sizeof o);
	o.regex = "^main\\.";
	o.source_path = src;
	o.within = true;
	l = list_make(NULL, p, 0, 130, &o, &cause);
	ok(l != NULL, "list_make within source_path: %s",
	    cause != NULL ? cause : "ok");
	f = fn(l, "main.ok");
	is_str(line_text(f, 4), "\tkeep()", "a file below source_path is read");
	ok(f != NULL && f->error == NULL, "... without an error");
	f = fn(l, "main.abs");
	ok(f != NULL && !has_text(f) && f->error != NULL &&
	    strstr(f->error, "below") != NULL,
	    "an absolute path outside source_path is not read (%s)",
	    f != NULL && f->error != NULL ? f->error : "no error");
	ok(f != NULL && f->nlines == 1 && f->lines[0].line == 3 &&
	    f->lines[0].flat == 10, "... and its sampled line keeps its numbers");
	f = fn(l, "main.up");
	ok(f != NULL && !has_text(f) && f->error != NULL,
	    "a relative path with .. that leaves source_path is not read");
	f = fn(l, "main.fifo");
	ok(f != NULL && !has_text(f) && f->error != NULL,
	    "a FIFO below source_path is not read (nor waited on)");
	list_free(l);

	/* Without a source_path, no file at all, not the daemon's cwd. */
	if (chdir(src) == -1) {
		perror("chdir");
		return 1;
	}
	o.source_path = NULL;
	l = list_make(NULL, p, 0, 130, &o, &cause);
	f = fn(l, "main.ok");
	ok(f != NULL && !has_text(f) && f->error != NULL &&
	    strstr(f->error, "no source_path") != NULL,
	    "without source_path nothing is read, not even from the cwd");
	list_free(l);

	/*
	 * The command line does what pprof does: absolute paths are read.
	 * (Only main.abs: pprof would wait on the FIFO, as heapwatch list.)
	 */
	o.regex = "^main\\.abs$";
	o.source_path = src;
	o.within = false;
	l = list_make(NULL, p, 0, 130, &o, &cause);
	f = fn(l, "main.abs");
	is_str(line_text(f, 3), "var key = \"hunter2\"",
	    "heapwatch list reads an absolute path, as pprof does");
	list_free(l);

	profile_free(p);
	free(b);
	{
		char cmd[600];

		snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	}
	return tap_done();
}
