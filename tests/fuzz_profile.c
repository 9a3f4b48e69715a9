/*
 * libFuzzer target over the profile decoder and the analysis behind it.
 * Any input must decode or be refused with a cause; whatever decodes must
 * survive every report, a top and a diff against itself (which must be
 * empty). And the same bytes, read as one Sample, one Location and one
 * Function message, must decode by hand (pbwire.c) exactly as
 * protobuf-c's generated code unpacks them. Its fingerprint, if any, must
 * make it a repeat of itself.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inflate.h"
#include "pbwire.h"
#include "profile.h"
#include "profile.pb-c.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_profile(const uint8_t *data, size_t size)
{
	struct symtab	*st = symtab_new();
	struct profile	*p, *q;
	struct report	*r, *c;
	char		*cause = NULL;
	uint32_t	 i;
	size_t		 j;

	p = profile_decode(data, size, 64 << 20, st, &cause);
	if (p == NULL) {
		if (cause == NULL)
			abort();	/* refusals must say why */
		free(cause);
		symtab_free(st);
		return;
	}
	q = profile_decode(data, size, 64 << 20, st, &cause);
	for (i = 0; i < p->ntypes; i++) {
		/* The summary's report: report_top()'s by cum, exactly. */
		r = report_top(p, i, REPORT_BY_CUM, &cause);
		c = report_cum(p, i, &cause);
		if (r == NULL || c == NULL || r->nfns != c->nfns ||
		    r->total != c->total || r->net != c->net)
			abort();
		for (j = 0; j < r->nfns; j++)
			if (r->fns[j].node != c->fns[j].node ||
			    r->fns[j].flat != c->fns[j].flat ||
			    r->fns[j].cum != c->fns[j].cum)
				abort();
		report_free(c);
		report_free(r);
		r = report_top(p, i, REPORT_BY_FLAT, &cause);
		report_sites(r);
		report_limit(r, 3);
		report_free(r);
		r = report_diff(p, q, i, REPORT_BY_CUM, &cause);
		if (r == NULL || r->nfns != 0 || r->total != 0)
			abort();
		report_free(r);
	}
	profile_free(q);
	profile_free(p);
	symtab_free(st);
}

/* The top-level time fields (9 and 10) of a protobuf that decodes. */
static size_t
count_times(const uint8_t *data, size_t size)
{
	const uint8_t		*p = data;
	struct pbwire_field	 f;
	size_t			 n = 0;

	while (pbwire_next(&p, data + size, &f) == 1)
		if (f.num == 9 || f.num == 10)
			n++;
	return n;
}

/*
 * The fingerprint: none or one, never a crash, whatever the bytes; one
 * for every protobuf that decodes, unless it holds more time fields than
 * a fingerprint keeps apart; and given as the previous one, a body
 * is a repeat and not parsed, while given another it decodes as it would
 * with none.
 */
static void
check_print(const uint8_t *data, size_t size)
{
	struct profile_print	 fp, again, other;
	struct profile		*p, *q;
	char			*cause = NULL, *qcause = NULL;
	bool			 repeat;

	(void)profile_print_make(data, size, &fp);
	p = profile_decode_print(data, size, 64 << 20, NULL, NULL, NULL,
	    &again, &repeat, &cause);
	if (repeat || (p == NULL) == (cause == NULL))
		abort();
	/*
	 * A plain protobuf that decodes has a fingerprint, the same, unless
	 * it has too many time fields: then none, and no times.
	 */
	if (p != NULL && !inflate_is_gzip(data, size) &&
	    (count_times(data, size) > PROFILE_PRINT_TIMES_MAX ?
	    fp.set || again.set || fp.time_nanos != 0 ||
	    fp.duration_nanos != 0 :
	    !fp.set || !profile_print_same(&fp, &again) ||
	    fp.time_nanos != p->time_nanos ||
	    fp.duration_nanos != p->duration_nanos))
		abort();
	if (again.set) {
		q = profile_decode_print(data, size, 64 << 20, NULL, NULL,
		    &again, &fp, &repeat, &qcause);
		if (!repeat || q != NULL || qcause != NULL)
			abort();
		other = again;
		other.hash[0] ^= 1;
		q = profile_decode_print(data, size, 64 << 20, NULL, NULL,
		    &other, &fp, &repeat, &qcause);
		if (repeat || (q == NULL) != (p == NULL))
			abort();
		profile_free(q);
		free(qcause);
	}
	profile_free(p);
	free(cause);
}

static void
check_sample(const uint8_t *data, size_t size)
{
	Perftools__Profiles__Sample	*m;
	struct pbwire_sample		 s;
	size_t				 i, w, n[3] = { 0, 0, 0 };
	uint64_t			 id;
	int				 rc;

	memset(&s, 0, sizeof s);
	rc = pbwire_sample(data, size, &s);
	pbwire_sample_count(data, size, data + size, n);
	m = perftools__profiles__sample__unpack(NULL, size, data);
	if ((m == NULL) != (rc == -1))
		abort();
	if (m != NULL) {
		/* The count that sizes the arrays must be exact. */
		if (m->n_location_id != s.nloc || m->n_value != s.nval ||
		    m->n_label != s.nlab || n[0] != s.nloc ||
		    n[1] != s.nval || n[2] != s.nlab)
			abort();
		/* Ids over 32 bits are cut in loc and kept whole in wide. */
		for (i = 0, w = 0; i < s.nloc; i++) {
			id = s.loc[i];
			if (w < s.nwide && s.wide[w].pos == i) {
				if ((uint32_t)s.wide[w].id != id ||
				    s.wide[w].id <= UINT32_MAX - 1)
					abort();
				id = s.wide[w++].id;
			} else if (id == UINT32_MAX)
				abort();
			if (m->location_id[i] != id)
				abort();
		}
		if (w != s.nwide)
			abort();
		for (i = 0; i < s.nval; i++)
			if (m->value[i] != s.val[i])
				abort();
		for (i = 0; i < s.nlab; i++)
			if (m->label[i]->key != s.lab[i].key ||
			    m->label[i]->str != s.lab[i].str ||
			    m->label[i]->num != s.lab[i].num ||
			    m->label[i]->num_unit != s.lab[i].unit)
				abort();
		perftools__profiles__sample__free_unpacked(m, NULL);
	}
	pbwire_sample_free(&s);
}

static void
check_location(const uint8_t *data, size_t size)
{
	Perftools__Profiles__Location	*m;
	struct pbwire_location		 l;
	size_t				 i;
	int				 rc;

	memset(&l, 0, sizeof l);
	rc = pbwire_location(data, size, &l);
	m = perftools__profiles__location__unpack(NULL, size, data);
	if ((m == NULL) != (rc == -1))
		abort();
	if (m != NULL) {
		if (m->id != l.id || m->mapping_id != l.mapping_id ||
		    m->address != l.address ||
		    (m->is_folded != 0) != (l.is_folded != 0) ||
		    m->n_line != l.nlines)
			abort();
		for (i = 0; i < l.nlines; i++)
			if (m->line[i]->function_id != l.lines[i].function_id ||
			    m->line[i]->line != l.lines[i].line)
				abort();
		perftools__profiles__location__free_unpacked(m, NULL);
	}
	pbwire_location_free(&l);
}

static void
check_function(const uint8_t *data, size_t size)
{
	Perftools__Profiles__Function	*m;
	uint64_t			 v[5];
	int				 rc;

	rc = pbwire_scalars(data, size, v, 5);
	m = perftools__profiles__function__unpack(NULL, size, data);
	if ((m == NULL) != (rc == -1))
		abort();
	if (m != NULL) {
		if (m->id != v[0] || m->name != (int64_t)v[1] ||
		    m->system_name != (int64_t)v[2] ||
		    m->filename != (int64_t)v[3] ||
		    m->start_line != (int64_t)v[4])
			abort();
		perftools__profiles__function__free_unpacked(m, NULL);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	check_profile(data, size);
	check_print(data, size);
	check_sample(data, size);
	check_location(data, size);
	check_function(data, size);
	return 0;
}
