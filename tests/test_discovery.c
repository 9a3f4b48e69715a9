/* Unit tests for src/discovery.c: target files and the shard hash. */
#include "config.h"

#include <sys/stat.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "discovery.h"
#include "tap.h"
#include "xmalloc.h"
#include "yamlx.h"

static char	 tmpdir[] = "/tmp/test_discovery.XXXXXX";
static char	**written;
static size_t	  nwritten;

/* Remove the files written and the scratch folder. */
static void
cleanup(void)
{
	size_t	i;

	for (i = 0; i < nwritten; i++) {
		unlink(written[i]);
		free(written[i]);
	}
	free(written);
	rmdir(tmpdir);
}

/* Write text to a file named name in the scratch folder. */
static char *
write_file(const char *name, const char *text)
{
	char	*path;
	FILE	*fp;

	xasprintf(&path, "%s/%s", tmpdir, name);
	if ((fp = fopen(path, "w")) == NULL || fputs(text, fp) == EOF ||
	    fclose(fp) == EOF) {
		perror(path);
		exit(1);
	}
	written = xreallocarray(written, nwritten + 1, sizeof *written);
	written[nwritten++] = xstrdup(path);
	return path;
}

/* Parse text as file name; the first error's "LINE:COL: message" tail. */
static int
parse(const char *name, const char *text, struct sd_target **t, size_t *n,
    char *err, size_t errlen)
{
	struct yamlx_errors	 errs;
	char			*path;
	int			 rc;

	memset(&errs, 0, sizeof errs);
	path = write_file(name, text);
	rc = discovery_parse(path, NULL, t, n, &errs);
	err[0] = '\0';
	if (errs.n > 0)
		snprintf(err, errlen, "%s",
		    errs.list[0].text + strlen(path) + 1);
	if (rc == -1 && errs.n == 0)
		snprintf(err, errlen, "(failed without an error)");
	yamlx_errors_free(&errs);
	free(path);
	return rc;
}

static const char *
label(const struct sd_target *t, const char *name)
{
	size_t	i;

	for (i = 0; i < t->nlabels; i++)
		if (strcmp(t->labels[i].name, name) == 0)
			return t->labels[i].value;
	return NULL;
}

static void
test_json(void)
{
	struct sd_target	*t;
	size_t			 n;
	char			 err[256];
	int			 rc;

	rc = parse("a.json",
	    "[\n"
	    "\t{\"targets\": [\"10.0.0.7:6060\", \"api.example:8080\"],\n"
	    "\t \"labels\": {\"team\": \"payments\",\n"
	    "\t\t\"env\": \"prod\\/eu\"}},\n"
	    "\t{\"targets\": [\"127.0.0.1:9\"],\n"
	    "\t \"labels\": {\"name\": \"billing\", \"__meta_x\": \"y\"}}\n"
	    "]\n", &t, &n, err, sizeof err);
	is_int(rc, 0, "JSON: a file of two groups parses");
	is_str(err, "", "JSON: no error");
	is_int(n, 3, "JSON: three targets");
	if (n != 3)
		return;
	is_str(t[0].name, "10.0.0.7_6060", "JSON: host:port made a name");
	is_str(t[0].address, "10.0.0.7:6060", "JSON: the address kept");
	is_str(t[1].name, "api.example_8080", "JSON: dots stay in a name");
	is_int(t[0].nlabels, 2, "JSON: the group's labels on each target");
	is_str(t[0].labels[0].name, "env", "JSON: labels sorted by name");
	is_str(label(&t[1], "env"), "prod/eu", "JSON: escapes read");
	is_str(t[2].name, "billing", "JSON: the name label names the target");
	is_int(t[2].nlabels, 0, "JSON: name and __ labels are not kept");
	discovery_targets_free(t, n);
}

static void
test_yaml(void)
{
	struct sd_target	*t;
	size_t			 n;
	char			 err[256];
	int			 rc;

	rc = parse("b.yml",
	    "- targets:\n"
	    "    - 127.0.0.1:6060\n"
	    "    - '[::1]:6061'\n"
	    "  labels:\n"
	    "    __scheme__: https\n"
	    "    __metrics_path__: /debug/pprof/goroutine\n"
	    "    zone: a\n"
	    "    empty: ''\n"
	    "- targets: []\n", &t, &n, err, sizeof err);
	is_int(rc, 0, "YAML: a file of two groups parses");
	is_str(err, "", "YAML: no error");
	is_int(n, 2, "YAML: two targets");
	if (n == 2) {
		is_str(t[1].name, "___1__6061", "YAML: IPv6 made a name");
		is_str(t[0].scheme, "https", "YAML: __scheme__ taken");
		is_str(t[0].path, "/debug/pprof/goroutine",
		    "YAML: __metrics_path__ taken");
		is_str(label(&t[0], "zone"), "a", "YAML: label kept");
		ok(t[0].nlabels == 1 && label(&t[0], "empty") == NULL,
		    "YAML: a label with an empty value is none");
	}
	discovery_targets_free(t, n);

	rc = parse("empty.yaml", "", &t, &n, err, sizeof err);
	ok(rc == 0 && n == 0, "YAML: an empty file has no targets");
	discovery_targets_free(t, n);
}

static void
test_errors(void)
{
	static const struct {
		const char	*name;
		const char	*text;
		const char	*want;
	} bad[] = {
		{ "s.json", "[{\"targets\": [\"a:1\"]\n",
		    "2:1: syntax error: did not find expected ',' or '}' "
		    "(while parsing a flow mapping started at line 1, "
		    "column 2)" },
		{ "r.yml", "targets: [a:1]\n",
		    "1:1: expected a list of target groups, not a map" },
		{ "k.yml", "- targets: [a:1]\n  lables: {x: y}\n",
		    "2:3: unknown key \"lables\"" },
		{ "m.yml", "- labels: {x: y}\n",
		    "1:3: missing key \"targets\"" },
		{ "l.yml", "- targets: [a:1]\n  labels: {1x: y}\n",
		    "2:12: label \"1x\": not a valid label name "
		    "([a-zA-Z_][a-zA-Z0-9_]*)" },
		{ "t.yml", "- targets: [a:1]\n  labels: {target: y}\n",
		    "2:12: label \"target\": reserved (heapwatch sets it)" },
		{ "n.yml", "- targets: [a:1]\n  labels: {name: a/b}\n",
		    "2:18: name \"a/b\": only letters, digits, \"_\", \".\" "
		    "and \"-\" are allowed" },
		{ "a.yml", "- targets: ['http://a:1/x']\n",
		    "1:13: target \"http://a:1/x\": expected HOST:PORT, "
		    "without a scheme, path or user" },
		{ "p.yml", "- targets: ['a:99999']\n",
		    "1:13: target \"a:99999\": bad port" },
		{ "v.yml", "- targets: [a:1]\n  labels: {x: [1]}\n",
		    "2:15: x: expected a string, not a list" },
		/* Two labels of one name: promtool and Prometheus refuse. */
		{ "d.yml", "- targets: [a:1]\n  labels: {team: x, team: y}\n",
		    "2:21: duplicate key \"team\" (first on line 2)" },
		{ "d.json", "[{\"targets\": [\"a:1\"],\n"
		    "  \"labels\": {\"team\": \"x\",\n"
		    "    \"team\": \"y\"}}]\n",
		    "3:5: duplicate key \"team\" (first on line 2)" },
		{ "g.yml", "- targets: [a:1]\n  targets: [b:1]\n",
		    "2:3: duplicate key \"targets\" (first on line 1)" },
		{ "2.yml", "- targets: [a:1]\n---\n- targets: [b:1]\n",
		    "3:1: only one YAML document is allowed" },
		{ "u.yml", "- targets: [a:1]\n  labels: {x: \"\xff\"}\n",
		    "2:16: invalid leading UTF-8 octet (0xff)" },
	};
	struct sd_target	*t;
	size_t			 i, n;
	char			 err[256];

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ok(parse(bad[i].name, bad[i].text, &t, &n, err,
		    sizeof err) == -1 && t == NULL && n == 0,
		    "%s: refused, no targets", bad[i].name);
		is_str(err, bad[i].want, "%s: the error and its place",
		    bad[i].name);
	}
}

/*
 * A group of 2,000 targets named once and repeated by YAML aliases: the
 * file's 100,000 targets at most count each repetition. 49 aliases make
 * 100,000 and parse; 5,000 (a 58 KB file) would make ten million, and
 * are refused at the first alias past the bound.
 */
static void
test_aliases(void)
{
	struct sd_target	*t;
	struct buf		 b = { NULL, 0, 0 };
	size_t			 n, i, k;
	char			 err[256];
	int			 rc, aliases[2] = { 49, 5000 };

	for (k = 0; k < 2; k++) {
		b.len = 0;
		buf_printf(&b, "- &g\n  targets:\n");
		for (i = 1; i <= 2000; i++)
			buf_printf(&b, "    - h%zu:1\n", i);
		for (i = 0; i < (size_t)aliases[k]; i++)
			buf_printf(&b, "- *g\n");
		rc = parse(k == 0 ? "alias49.yml" : "alias5000.yml", b.s, &t,
		    &n, err, sizeof err);
		if (k == 0) {
			ok(rc == 0 && n == 100000, "a group and 49 aliases of "
			    "it: 100,000 targets (%zu) %s", n, err);
			discovery_targets_free(t, n);
		} else
			ok(rc == -1 && n == 0 && strstr(err, "more than "
			    "100000 targets") != NULL, "and 5,000 aliases are "
			    "refused: %s", err);
	}
	free(b.s);
}

/*
 * Labels count as each target has them: a value of 1 MiB named once and
 * repeated by 80 aliases in one group is 80 MiB, and one of 256 KiB on a
 * group of 300 targets is 75 MiB, past the 64 MiB a file may give; the
 * same group of 200 targets, 50 MiB, is taken.
 */
static void
test_label_bytes(void)
{
	struct sd_target	*t;
	struct buf		 b = { NULL, 0, 0 };
	size_t			 n, i, k;
	char			 err[256];
	int			 rc;
	const size_t		 ntargets[2] = { 300, 200 };

	buf_printf(&b, "- targets: [a:1]\n  labels:\n    l0: &v ");
	for (i = 0; i < (1 << 20); i++)
		buf_printf(&b, "x");
	buf_printf(&b, "\n");
	for (i = 1; i <= 80; i++)
		buf_printf(&b, "    l%zu: *v\n", i);
	rc = parse("aliased.yml", b.s, &t, &n, err, sizeof err);
	ok(rc == -1 && strstr(err, "labels of more than 64 MiB") != NULL,
	    "a 1 MiB label aliased 80 times is refused: %s", err);
	for (k = 0; k < 2; k++) {
		b.len = 0;
		buf_printf(&b, "- labels: {big: ");
		for (i = 0; i < (256 << 10); i++)
			buf_printf(&b, "y");
		buf_printf(&b, "}\n  targets:\n");
		for (i = 0; i < ntargets[k]; i++)
			buf_printf(&b, "    - h%zu:1\n", i);
		rc = parse("wide.yml", b.s, &t, &n, err, sizeof err);
		if (k == 0)
			ok(rc == -1 && strstr(err, "labels of more than 64 "
			    "MiB") != NULL, "a 256 KiB label on 300 targets is "
			    "refused: %s", err);
		else {
			ok(rc == 0 && n == 200, "and on 200 taken (%zu) %s",
			    n, err);
			discovery_targets_free(t, n);
		}
	}
	free(b.s);
}

/* Jump consistent hash as published, with a double. */
/*
 * With the stat that held, a file changed since (written again, or
 * replaced by a rename) is not read: the daemon waits for it to hold.
 */
static void
test_held(void)
{
	struct yamlx_errors	 errs = { NULL, 0 };
	struct sd_target	*t;
	struct stat		 held;
	char			*path, *other;
	size_t			 n;
	int			 rc;

	path = write_file("held.json", "[{\"targets\": [\"127.0.0.1:1\"]}]\n");
	if (stat(path, &held) == -1) {
		perror(path);
		exit(1);
	}
	rc = discovery_parse(path, &held, &t, &n, &errs);
	is_int(rc, 0, "held: the file as held is read");
	is_int(n, 1, "held: its one target");
	discovery_targets_free(t, n);

	free(write_file("held.json", ""));
	rc = discovery_parse(path, &held, &t, &n, &errs);
	is_int(rc, 1, "held: cut to nothing since, it is not read");
	ok(t == NULL && n == 0 && errs.n == 0,
	    "held: no targets and no error");
	rc = discovery_parse(path, NULL, &t, &n, &errs);
	ok(rc == 0 && n == 0, "held: without a stat, read as it is: empty");
	discovery_targets_free(t, n);

	/* The same bytes under a new inode, moved into place. */
	other = write_file("held.new", "[{\"targets\": [\"127.0.0.1:1\"]}]\n");
	free(write_file("held.json", "[{\"targets\": [\"127.0.0.1:1\"]}]\n"));
	if (stat(path, &held) == -1 || rename(other, path) == -1) {
		perror(path);
		exit(1);
	}
	rc = discovery_parse(path, &held, &t, &n, &errs);
	is_int(rc, 1, "held: replaced by a rename since, it is not read");
	if (stat(path, &held) == -1) {
		perror(path);
		exit(1);
	}
	rc = discovery_parse(path, &held, &t, &n, &errs);
	ok(rc == 0 && n == 1, "held: read once the stat is the new file's");
	discovery_targets_free(t, n);
	yamlx_errors_free(&errs);
	free(other);
	free(path);
}

/*
 * A reload reads the files again, but one changed since its last read
 * (here cut to nothing, its writer about to fill it) is held as a poll
 * would hold it: its targets stay. One unchanged is read again.
 */
static void
test_reload_held(void)
{
	struct yamlx_errors	 errs = { NULL, 0 };
	struct discovery	*d;
	struct discovery_stats	 ds;
	struct config		*cf;
	char			*conf, *text, *path;
	size_t			 n;

	path = write_file("reload.json",
	    "[{\"targets\": [\"127.0.0.1:1\", \"127.0.0.1:2\"]}]\n");
	xasprintf(&text, "listen: 127.0.0.1:1\nstorage:\n  path: %s/store\n"
	    "discovery:\n  file_sd:\n    - files: [%s]\n", tmpdir, path);
	conf = write_file("reload.yaml", text);
	if ((cf = config_load(conf, &errs)) == NULL) {
		fprintf(stderr, "%s\n", errs.n > 0 ? errs.list[0].text : conf);
		exit(1);
	}
	d = discovery_new(NULL, NULL, NULL);
	discovery_configure(d, cf);
	(void)discovery_targets(d, &n);
	is_int(n, 2, "reload: the file's two targets at start-up");
	discovery_configure(d, cf);
	(void)discovery_targets(d, &n);
	memset(&ds, 0, sizeof ds);
	discovery_stats(d, &ds);
	ok(n == 2 && ds.reads == 2, "reload: unchanged, read again (%llu "
	    "reads)", (unsigned long long)ds.reads);
	free(write_file("reload.json", ""));
	discovery_configure(d, cf);
	(void)discovery_targets(d, &n);
	memset(&ds, 0, sizeof ds);
	discovery_stats(d, &ds);
	ok(n == 2 && ds.reads == 2, "reload: cut to nothing since, it is held "
	    "and its targets stay (%zu; %llu reads)", n,
	    (unsigned long long)ds.reads);
	discovery_free(d);
	config_free(cf);
	yamlx_errors_free(&errs);
	free(conf);
	free(text);
	free(path);
}

static uint32_t
jump_reference(uint64_t key, uint32_t n)
{
	int64_t	b = -1, j = 0;

	while (j < n) {
		b = j;
		key = key * 2862933555777941757ULL + 1;
		j = (b + 1) * ((double)(1LL << 31) /
		    (double)((key >> 33) + 1));
	}
	return (uint32_t)b;
}

static void
test_hash(void)
{
	static const uint32_t	 counts[] = { 2, 3, 5, 10 };
	char			 name[32];
	size_t			 hits[10], i, k, moved, total;
	uint32_t		 c, s, s2;
	bool			 range = true, stable = true;

	/* Published FNV-1a 64 values: the hash is fixed, not ours to vary. */
	ok(discovery_hash("") == 0xcbf29ce484222325ULL, "FNV-1a of \"\"");
	ok(discovery_hash("a") == 0xaf63dc4c8601ec8cULL, "FNV-1a of \"a\"");
	ok(discovery_hash("foobar") == 0x85944171f73967e8ULL,
	    "FNV-1a of \"foobar\"");
	is_int(discovery_shard("anything", 1), 0, "one shard takes all");

	for (k = 0; k < sizeof counts / sizeof counts[0]; k++) {
		c = counts[k];
		memset(hits, 0, sizeof hits);
		for (i = 0; i < 10000; i++) {
			snprintf(name, sizeof name, "10.0.%zu.%zu_6060",
			    i / 256, i % 256);
			s = discovery_shard(name, c);
			if (s >= c) {
				range = false;
				continue;
			}
			if (discovery_shard(name, c) != s)
				stable = false;
			hits[s]++;
		}
		ok(range, "%u shards: every name lands in one of them", c);
		ok(stable, "%u shards: the same name, the same shard", c);
		total = 0;
		for (i = 0; i < c; i++) {
			total += hits[i];
			/* Binomial: 10% off is over 3 standard deviations. */
			ok(hits[i] > 10000 / c * 9 / 10 &&
			    hits[i] < 10000 / c * 11 / 10,
			    "%u shards: shard %zu has %zu of 10000 names", c,
			    i, hits[i]);
		}
		is_int(total, 10000, "%u shards: all names placed once", c);
	}

	/* One shard more moves about 1/(N+1) of the names, all to it. */
	moved = 0;
	stable = true;
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "svc-%zu", i);
		s = discovery_shard(name, 4);
		s2 = discovery_shard(name, 5);
		if (s2 != s) {
			moved++;
			if (s2 != 4)
				stable = false;
		}
	}
	ok(stable, "4 to 5 shards: names that move go to the new shard");
	ok(moved > 1600 && moved < 2400, "4 to 5 shards: %zu of 10000 move",
	    moved);
	/* The published algorithm, in floating point, agrees. */
	stable = true;
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof name, "t%zu", i);
		c = 1 + i % 1000;
		if (discovery_shard(name, c) != jump_reference(
		    discovery_hash(name), c))
			stable = false;
	}
	ok(stable, "jump hash: as Lamping and Veach publish it");
	/* Pinned values: a version that splits differently fails here. */
	is_int(discovery_shard("api", 2), 1, "\"api\" in 2 shards");
	is_int(discovery_shard("10.0.0.7_6060", 3), 1,
	    "\"10.0.0.7_6060\" in 3 shards");
}

int
main(void)
{
	if (mkdtemp(tmpdir) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_json();
	test_yaml();
	test_errors();
	test_aliases();
	test_label_bytes();
	test_held();
	test_reload_held();
	test_hash();
	cleanup();
	return tap_done();
}
