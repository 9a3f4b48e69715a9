#include "config.h"

#include <sys/mman.h>

#include <errno.h>
#include <limits.h>
#include <malloc.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "xmalloc.h"

void *
xmalloc(size_t size)
{
	void	*p;

	if (size == 0)
		size = 1;
	if ((p = malloc(size)) == NULL)
		fatal("xmalloc: allocating %zu bytes", size);
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if ((p = calloc(nmemb, size)) == NULL)
		fatal("xcalloc: allocating %zu * %zu bytes", nmemb, size);
	return p;
}

void *
xreallocarray(void *ptr, size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if (SIZE_MAX / nmemb < size)
		fatalx("xreallocarray: %zu * %zu bytes overflows", nmemb, size);
	if ((p = realloc(ptr, nmemb * size)) == NULL)
		fatal("xreallocarray: allocating %zu * %zu bytes", nmemb, size);
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

int
xasprintf(char **ret, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vasprintf(ret, fmt, ap);
	va_end(ap);
	if (n == -1)
		fatal("xasprintf");
	return n;
}

/*
 * Keep glibc's malloc from trading memory with the kernel at every profile.
 * By default a block over 128 KB is mapped on its own and a heap's top is
 * handed back once 128 KB of it is free; both limits rise as large blocks
 * are freed, yet in some orders of allocation a profile's arrays still made
 * the heap shrink after each profile and fault its pages in again for the
 * next: 160 page faults a profile of 300 KB, a fifth of its decoding. Fixed
 * limits keep what a profile of some megabytes needs in the heap, and give
 * back what a much larger one took.
 *
 * Blocks under 32 MiB (the most glibc's own threshold grows to) come from
 * the heap: at 4 MiB, the arrays of a profile of 65,536 or 75,000 stacks
 * (3.6 MB decompressed) were each mapped, cleared by the kernel and
 * unmapped at every profile. On a worker's thread (bench/worker.sh's
 * worker), that was over a quarter of the CPU for the deep stacks (850
 * -> 610 ms for 50 profiles, 14,392 -> 1,990 page faults) and a tenth
 * for the fixture's "many". The cost: each thread's heap may keep up to
 * 16 MiB free, and the limits no longer adapt; the peak RSS of that
 * worker is 4 to 9 MB larger.
 *
 * xmalloc_huge() still advises huge pages for its blocks, now parts of a
 * thread's heap, where the advice stays once they are freed: the heap's
 * pages there are whole huge pages, which the heap had touched at its
 * peak anyway, and at most a huge page more at each end of a block.
 * Without the advice, the worker took 20% more CPU for many and 10% for
 * deep (bench/runs 3, four runs each in turn, under load: many 274 to
 * 281 ms for 30 profiles against 226 to 231; deep 334 to 384 ms for 20
 * against 297 to 361).
 */
void
xmalloc_tune(void)
{
#ifdef M_MMAP_THRESHOLD
	mallopt(M_MMAP_THRESHOLD, 32 << 20);
	mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
}

#define XMALLOC_HUGE_PAGE	((size_t)2 << 20)
#define XMALLOC_PAGE		((size_t)4096)
#define XMALLOC_POPULATE_MIN	((size_t)64 << 10)
#define XMALLOC_HEAP_PAD	((size_t)64 << 20)	/* xmalloc_fresh() */
#define XMALLOC_HEAP_GROW	((size_t)4 << 20)	/* later, at a time */
#define XMALLOC_HEAP_BLOCK	((size_t)32 << 20)	/* glibc's largest */
#define XMALLOC_CHUNK_HEAD	(2 * sizeof(size_t))	/* glibc's */

static bool		 xmalloc_populating;	/* after xmalloc_fresh() */
static bool		 xmalloc_heap_huge;	/* the heap on huge pages */
static uintptr_t	 xmalloc_heap_end;	/* advised up to there */
static void		*xmalloc_heap_pad;	/* below its first huge page */

#define HUGE_DOWN(x)	((x) & ~(XMALLOC_HUGE_PAGE - 1))
#define HUGE_UP(x)	HUGE_DOWN((x) + XMALLOC_HUGE_PAGE - 1)

/* Advise huge pages for the whole huge pages the heap has grown by. */
static int
xmalloc_heap_advise(void)
{
#ifdef MADV_HUGEPAGE
	uintptr_t	start, end;

	start = HUGE_UP(xmalloc_heap_end);
	end = HUGE_DOWN((uintptr_t)sbrk(0));
	if (end <= start)
		return 0;
	if (madvise((void *)start, end - start, MADV_HUGEPAGE) == -1)
		return -1;
	xmalloc_heap_end = end;
	return 0;
#else
	return -1;
#endif
}

/*
 * Say that this process is a command that decodes into fresh memory once
 * or twice a run, so that xmalloc_populate() maps it in, and put malloc's
 * heap on huge pages. heapwatchd does not call it: it decodes profile
 * after profile into blocks the allocator hands out again and again,
 * whose pages are there already, and there populating took 3% of its CPU
 * for nothing.
 *
 * A process's first use of memory is page faults, one each 4 KiB: huge
 * pages only for the large arrays left `heapwatch diff` of the many bench
 * pair (2 x 3 MB decompressed) at 1,745 faults, 7.5 times gunzip's, from
 * the ends of arrays past their last huge page, the smaller arrays, the
 * sets of merged samples and the second thread's own heap. So here one
 * heap serves every thread (M_ARENA_MAX), blocks up to glibc's largest
 * threshold (32 MiB) come from it, it takes 64 MiB at once, is never
 * trimmed, and all of it is advised huge pages: that diff takes 200
 * faults, a huge page each 2 MiB it touches, and its peak RSS is 1 MiB
 * larger. A block fills the heap's first, partial huge page, so that
 * every later one lies on huge pages. Where the heap is not glibc's brk
 * heap (under a sanitizer or valgrind), it does not grow, and nothing
 * else changes.
 */
void
xmalloc_fresh(void)
{
	uintptr_t	 brk0, top;
	void		*p;

	xmalloc_populating = true;
#if defined(M_ARENA_MAX) && defined(M_TOP_PAD) && defined(MADV_HUGEPAGE)
	if (xmalloc_heap_pad != NULL)
		return;
	mallopt(M_TOP_PAD, XMALLOC_HEAP_PAD);
	brk0 = (uintptr_t)sbrk(0);
	/*
	 * Taken from the top of the heap, this grows it by the pad once;
	 * later, it grows a little at a time, lest a process near a limit
	 * on its address space fail to take the pad. A heap with room for
	 * it already (something used malloc before) does not grow: then
	 * the pad goes back to glibc's default and the rest is not set.
	 */
	p = malloc(XMALLOC_PAGE);
	if (p == NULL || (uintptr_t)sbrk(0) < brk0 + XMALLOC_HEAP_PAD) {
		mallopt(M_TOP_PAD, 128 << 10);
		free(p);
		return;
	}
	mallopt(M_TOP_PAD, XMALLOC_HEAP_GROW);
	mallopt(M_ARENA_MAX, 1);
	mallopt(M_MMAP_THRESHOLD, XMALLOC_HEAP_BLOCK);
	mallopt(M_TRIM_THRESHOLD, INT_MAX);
	/* Ended in place where the next block begins on a huge page. */
	top = HUGE_UP((uintptr_t)p + XMALLOC_PAGE);
	xmalloc_heap_pad = xreallocarray(p, 1,
	    top - (uintptr_t)p - XMALLOC_CHUNK_HEAD);
	xmalloc_heap_end = brk0;
	xmalloc_heap_huge = xmalloc_heap_advise() == 0;
#endif
}

/*
 * Map in at once the whole pages of a block of bytes that is about to be
 * written whole, and return it. Written a page at a time, fresh memory
 * takes a fault each 4 KiB, and in a virtual machine a fault costs
 * several microseconds beside the page's clearing: the faults of decoding
 * a profile of 75,000 deep stacks took a third of `heapwatch diff`'s time
 * (2,560 faults, against 630 for gunzip). MADV_POPULATE_WRITE (Linux 5.14)
 * maps them in one call; pages already there cost a look, and an older
 * kernel refuses it, which changes nothing. Only after xmalloc_fresh().
 */
void *
xmalloc_populate(void *p, size_t bytes)
{
#ifdef MADV_POPULATE_WRITE
	uintptr_t	start, end;

	/* A few pages are not worth a system call. */
	if (!xmalloc_populating || bytes < XMALLOC_POPULATE_MIN)
		return p;
	/* The heap may have grown since: on huge pages too. */
	if (xmalloc_heap_huge && (uintptr_t)sbrk(0) >= xmalloc_heap_end +
	    2 * XMALLOC_HUGE_PAGE)
		(void)xmalloc_heap_advise();
	start = ((uintptr_t)p + XMALLOC_PAGE - 1) & ~(XMALLOC_PAGE - 1);
	end = ((uintptr_t)p + bytes) & ~(XMALLOC_PAGE - 1);
	if (end > start)
		(void)madvise((void *)start, end - start, MADV_POPULATE_WRITE);
#endif
	return p;
}

/*
 * A block of n elements of size bytes that is freed with free(), on huge
 * pages where it is large enough and the kernel lets it. Decoding a
 * profile of 75,000 deep stacks writes some 15 MB of fresh memory once;
 * faulted in 4 KiB at a time, that took a third of `heapwatch top`'s time
 * in a virtual machine (5,600 faults; 1,700 with huge pages).
 */
void *
xmalloc_huge(size_t n, size_t size)
{
	void	*p;
	size_t	 bytes, whole;

	if (n == 0 || size > SIZE_MAX / n)
		return xreallocarray(NULL, n, size);
	/* From the heap, on huge pages all of it: see xmalloc_fresh(). */
	if ((bytes = n * size) < XMALLOC_HEAP_BLOCK && xmalloc_heap_huge)
		return xmalloc_populate(xreallocarray(NULL, n, size), bytes);
	if (bytes < XMALLOC_HUGE_PAGE / 2)
		return xmalloc_populate(xreallocarray(NULL, n, size), bytes);
	/*
	 * Whole huge pages where that wastes an eighth at most: the values
	 * of genprof's profile (1.9 MB) took 470 faults of 4 KiB, a tenth of
	 * `heapwatch diff`'s, and a huge page takes one. Rounding up always
	 * made a diff's peak RSS up to a fifth larger.
	 */
	whole = (bytes + XMALLOC_HUGE_PAGE - 1) & ~(XMALLOC_HUGE_PAGE - 1);
	if (whole - bytes <= bytes / 8)
		bytes = whole;
	else if (bytes < XMALLOC_HUGE_PAGE)
		return xmalloc_populate(xreallocarray(NULL, n, size), bytes);
	if (posix_memalign(&p, XMALLOC_HUGE_PAGE, bytes) != 0)
		fatalx("posix_memalign: out of memory");
#ifdef MADV_HUGEPAGE
	/* A hint: without it, the block is made of small pages. */
	(void)madvise(p, (bytes + 4095) & ~(size_t)4095, MADV_HUGEPAGE);
#endif
	return xmalloc_populate(p, bytes);
}
