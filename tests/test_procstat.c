/* Unit tests for src/procstat.c: what it reads against what is done. */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procstat.h"
#include "tap.h"

#define NFDS		40
#define TOUCHED		((size_t)32 << 20)

/* btime of /proc/stat, and the 22nd field of /proc/self/stat in ticks. */
static double
proc_start(void)
{
	FILE			*f;
	char			 line[4096], *p;
	long long		 btime = -1;
	unsigned long long	 ticks = 0;
	int			 i;

	if ((f = fopen("/proc/stat", "r")) == NULL)
		return -1;
	while (fgets(line, sizeof line, f) != NULL)
		if (strncmp(line, "btime ", 6) == 0)
			btime = atoll(line + 6);
	fclose(f);
	if ((f = fopen("/proc/self/stat", "r")) == NULL)
		return -1;
	p = fgets(line, sizeof line, f);
	fclose(f);
	if (p == NULL || btime < 0 || (p = strrchr(line, ')')) == NULL)
		return -1;
	/* Field 3, the state, follows ") "; field 22 is 19 further. */
	for (p += 2, i = 3; i < 22 && p != NULL; i++)
		if ((p = strchr(p, ' ')) != NULL)
			p++;
	if (p == NULL || sscanf(p, "%llu", &ticks) != 1)
		return -1;
	return (double)btime + (double)ticks / (double)sysconf(_SC_CLK_TCK);
}

static double
cpu_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int
main(void)
{
	struct procstat	 ps0, ps;
	struct rlimit	 rl;
	struct stat	 sb;
	volatile double	 x = 1;
	double		 cpu, start;
	time_t		 now;
	long		 list0, list1;
	uint64_t	 rss;
	int		 rc;
	char		*mem;
	int		 fds[NFDS], i;

	ok(procstat_read(&ps0) == 0, "/proc/self/stat reads");

	/* A quarter of a second of CPU, counted whatever the load. */
	while (cpu_now() < 0.25)
		x = x * 1.0000001 + 1e-9;
	rc = procstat_read(&ps);
	cpu = cpu_now();
	ok(rc == 0 && ps.cpu_seconds >= 0.2 && ps.cpu_seconds <= cpu + 0.02,
	    "the CPU used: %.2f s, the process's clock says %.2f",
	    ps.cpu_seconds, cpu);

	/* As /proc/stat's boot time and the start's ticks since then say. */
	now = time(NULL);
	start = proc_start();
	ok(start > 0 && ps.start_time > start - 0.005 &&
	    ps.start_time < start + 0.005 && ps.start_time <= (double)now + 1,
	    "the start: %.2f, /proc says %.2f", ps.start_time, start);

	mem = malloc(TOUCHED);
	ok(mem != NULL, "32 MiB allocated");
	if (mem != NULL) {
		memset(mem, 1, TOUCHED);
		/* Seen by what the compiler cannot see: written for real. */
		__asm__ volatile("" : : "r"(mem) : "memory");
	}
	rc = procstat_read(&ps);
	rss = procstat_rss();
	ok(rc == 0 && ps.rss_bytes >= ps0.rss_bytes + TOUCHED * 3 / 4,
	    "the resident set grows by the 32 MiB touched: %llu, then %llu",
	    (unsigned long long)ps0.rss_bytes,
	    (unsigned long long)ps.rss_bytes);
	ok(ps.vsize_bytes >= ps.rss_bytes, "the address space holds it: %llu",
	    (unsigned long long)ps.vsize_bytes);
	ok(rss >= ps.rss_bytes - TOUCHED / 8 &&
	    rss <= ps.rss_bytes + TOUCHED / 8,
	    "procstat_rss() says the same: %llu", (unsigned long long)rss);
	free(mem);

	list0 = procstat_list_fds();
	for (i = 0; i < NFDS; i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	list1 = procstat_list_fds();
	ok(list0 >= 3 && fds[NFDS - 1] >= 0 && list1 == list0 + NFDS,
	    "a listing counts the %d descriptors opened: %ld, then %ld",
	    NFDS, list0, list1);
	/* Where the kernel gives their number (Linux 6.2), it is read. */
	if (stat("/proc/self/fd", &sb) == 0 && sb.st_size > 0) {
		rc = procstat_read(&ps);
		ok(rc == 0 && ps.open_fds == list1,
		    "the kernel's number is the listing's: %ld",
		    ps.open_fds);
	}
	for (i = 0; i < NFDS; i++)
		close(fds[i]);

	ok(getrlimit(RLIMIT_NOFILE, &rl) == 0, "getrlimit");
	rl.rlim_cur = 1000 < rl.rlim_max ? 1000 : rl.rlim_max;
	rc = setrlimit(RLIMIT_NOFILE, &rl) == 0 ? procstat_read(&ps) : -1;
	ok(rc == 0 && ps.max_fds == (long)rl.rlim_cur,
	    "the most descriptors is the soft limit: %ld", ps.max_fds);
	return tap_done();
}
