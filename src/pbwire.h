/*
 * The protobuf wire format, as far as profile.c reads it by hand: the
 * top-level fields of a Profile, and the messages a profile is made of by
 * the thousands, Sample, Location and Function. protobuf-c's generic
 * unpacking of those, with a scan, an allocation per repeated field and
 * per embedded message, took half of the decoding time; the few other
 * messages are unpacked by protobuf-c. The fuzz target checks that
 * pbwire_sample(), pbwire_location() and pbwire_scalars() agree with
 * protobuf-c's unpacking of the same bytes on every input.
 */
#ifndef PBWIRE_H
#define PBWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct pbwire_field {
	uint32_t	 num;
	uint32_t	 wt;		/* wire type: 0, 1, 2 or 5 */
	uint64_t	 v;		/* varint or fixed value; length */
	const uint8_t	*p;		/* length-delimited bytes */
	size_t		 len;
	const uint8_t	*val;		/* the encoded value, after the key */
};

int	pbwire_next_any(const uint8_t **, const uint8_t *end,
	    struct pbwire_field *);

/*
 * The next field: 1, 0 at the end, -1 when malformed. Most fields of a
 * profile are a one-byte key and a varint of one or two bytes or a length
 * of one, read here inline; pbwire_next_any() reads any.
 */
static inline int
pbwire_next(const uint8_t **pp, const uint8_t *end, struct pbwire_field *f)
{
	const uint8_t	*p = *pp;

	if (end - p >= 2 && p[0] >= 0x08 && p[0] < 0x80 && p[1] < 0x80) {
		f->num = p[0] >> 3;
		f->wt = p[0] & 7;
		f->val = p + 1;
		f->v = p[1];
		if (f->wt == 0) {
			*pp = p + 2;
			return 1;
		}
		if (f->wt == 2 && p[1] <= end - p - 2) {
			f->p = p + 2;
			f->len = p[1];
			*pp = p + 2 + p[1];
			return 1;
		}
	} else if (end - p >= 3 && (p[0] & 7) == 0 && p[0] >= 0x08 &&
	    /* and p[1] >= 0x80, or the first case would have it */
	    p[0] < 0x80 && p[2] < 0x80) {
		/* A varint of two bytes: ids, lines, sizes. */
		f->num = p[0] >> 3;
		f->wt = 0;
		f->val = p + 1;
		f->v = (p[1] & 0x7f) | (uint64_t)p[2] << 7;
		*pp = p + 3;
		return 1;
	}
	return pbwire_next_any(pp, end, f);
}
int	pbwire_varint(const uint8_t **, const uint8_t *end, uint64_t *);
/*
 * Append the varints of a repeated field, packed (wire type 2) or not (0),
 * to an array of *n of *cap elements, grown as needed; -1 if malformed.
 */
int	pbwire_repeated(const struct pbwire_field *, uint64_t **, size_t *n,
	    size_t *cap);

/*
 * A message of varint fields numbered 1 to n, such as Function, into v[n]:
 * each must be a varint, one that comes more than once keeps its last
 * value, fields of other numbers are skipped and those absent read 0. -1
 * when malformed.
 */
int	pbwire_scalars(const uint8_t *, size_t, uint64_t *v, unsigned int n);

struct pbwire_label {
	int64_t		 key, str, num, unit;
};

/* A location id over UINT32_MAX - 1, at position pos of the ids. */
struct pbwire_wide {
	size_t			 pos;
	uint64_t		 id;
};

/*
 * Samples decoded one after another, their location ids, values and labels
 * appended to the arrays, which grow as needed (from 64 elements, doubling).
 * The ids are kept as uint32 so that a profile's stacks can be decoded in
 * place: one that does not fit is cut to 32 bits there, and kept whole in
 * wide, by position.
 */
struct pbwire_sample {
	uint32_t		*loc;
	size_t			 nloc, caploc;
	struct pbwire_wide	*wide;
	size_t			 nwide, capwide;
	int64_t			*val;
	size_t			 nval, capval;
	struct pbwire_label	*lab;
	size_t			 nlab, caplab;
};

int	pbwire_sample(const uint8_t *, size_t, struct pbwire_sample *);
void	pbwire_sample_free(struct pbwire_sample *);
/*
 * Whether pbwire_sample() may read short location ids with the CPU's byte
 * shuffle where it has one (the default): off, they are read eight bytes
 * at a time without it, as on a CPU that has none, which a test checks
 * too. Set before any thread decodes.
 */
void	pbwire_shuffle(bool);

/*
 * Add to n[0], n[1] and n[2] how many location ids, values and labels
 * pbwire_sample() appends for the Sample message p[0..len), so that the
 * arrays of a whole profile can be sized at once; malformed bytes end the
 * count early, and pbwire_sample() says what is wrong. The bytes up to
 * bufend, after the message, may be read (and are not counted).
 */
void	pbwire_sample_count(const uint8_t *, size_t, const uint8_t *bufend,
	    size_t n[3]);

struct pbwire_line {
	uint64_t		 function_id;
	int64_t			 line;
};

/* A decoded Location; the lines array grows as needed and is reused. */
struct pbwire_location {
	uint64_t		 id;
	uint64_t		 mapping_id;
	uint64_t		 address;
	int			 is_folded;
	struct pbwire_line	*lines;
	size_t			 nlines, caplines;
};

int	pbwire_location(const uint8_t *, size_t, struct pbwire_location *);
void	pbwire_location_free(struct pbwire_location *);

#endif
