#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "procstat.h"

/* A listing of the descriptors is made again after this long at most. */
#define PROCSTAT_LIST_EVERY_MS	10000

/* A small /proc file read whole, NUL-terminated: its length, or -1. */
static ssize_t
proc_read(const char *path, char *buf, size_t size)
{
	ssize_t	n, got = 0;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	while ((size_t)got < size - 1 &&
	    (n = read(fd, buf + got, size - 1 - (size_t)got)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		got += n;
	}
	close(fd);
	buf[got] = '\0';
	return got;
}

long
procstat_list_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	long		 n = 0;

	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

/*
 * The descriptors open, or -1: not known. Since Linux 6.2 the size of
 * /proc/self/fd is their number, which costs a stat. Before, it is 0 and
 * they are listed, 0.8 us a descriptor (8 ms of the loop with 10,000
 * open), so the count is kept for PROCSTAT_LIST_EVERY_MS.
 */
static long
proc_open_fds(void)
{
	static long	 listed = -1;
	static int64_t	 at;
	struct stat	 sb;
	int64_t		 now = clock_mono_ms();

	if (stat("/proc/self/fd", &sb) == 0 && sb.st_size > 0)
		return (long)sb.st_size;
	if (listed < 0 || now - at >= PROCSTAT_LIST_EVERY_MS) {
		listed = procstat_list_fds();
		at = now;
	}
	return listed;
}

/* Whole seconds from b to a, rounded down. */
static time_t
proc_floor_diff(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec - b->tv_sec - (a->tv_nsec < b->tv_nsec);
}

/*
 * When the system booted, in whole seconds since the epoch, as the kernel
 * says it in /proc/stat's btime: the wall clock less the time since boot,
 * taken at each call, so that a wall clock set after the daemon started
 * (NTP at boot) moves it too. The time since boot is read on both sides
 * of the wall clock, and again until both give the same second: a thread
 * held up between two reads would be a second early.
 */
static double
proc_boot_time(void)
{
	struct timespec	real, boot0, boot1;
	int		tries;

	for (tries = 0; tries < 8; tries++) {
		if (clock_gettime(CLOCK_BOOTTIME, &boot0) == -1 ||
		    clock_gettime(CLOCK_REALTIME, &real) == -1 ||
		    clock_gettime(CLOCK_BOOTTIME, &boot1) == -1)
			return -1;
		if (proc_floor_diff(&real, &boot0) ==
		    proc_floor_diff(&real, &boot1))
			return (double)proc_floor_diff(&real, &boot0);
	}
	return (double)proc_floor_diff(&real, &boot1);
}

int
procstat_read(struct procstat *ps)
{
	unsigned long long	 v[25];
	char			 buf[1024], *p, *end;
	long			 tick = sysconf(_SC_CLK_TCK);
	long			 page = sysconf(_SC_PAGESIZE);
	double			 boot;
	struct rlimit		 rl;
	int			 field;

	memset(ps, 0, sizeof *ps);
	if (tick <= 0 || page <= 0 || (boot = proc_boot_time()) < 0 ||
	    proc_read("/proc/self/stat", buf, sizeof buf) <= 0)
		return -1;
	/*
	 * pid (comm) state ppid ...: the name may hold spaces and
	 * parentheses, so the fields are counted from the last ')', the
	 * state being field 3 (proc(5)).
	 */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ')
		return -1;
	for (p += 2; *p != ' ' && *p != '\0'; p++)
		;
	for (field = 4; field <= 24; field++) {
		errno = 0;
		v[field] = strtoull(p, &end, 10);
		if (end == p || errno != 0)
			return -1;
		p = end;
	}
	ps->cpu_seconds = (double)(v[14] + v[15]) / (double)tick;
	ps->vsize_bytes = v[23];
	ps->rss_bytes = v[24] * (unsigned long long)page;
	ps->start_time = boot + (double)v[22] / (double)tick;
	ps->open_fds = proc_open_fds();
	ps->max_fds = -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		ps->max_fds = (long)rl.rlim_cur;
	return 0;
}

uint64_t
procstat_rss(void)
{
	char			buf[256], *end;
	unsigned long long	resident;
	long			page = sysconf(_SC_PAGESIZE);

	/* size resident shared ..., in pages. */
	if (page <= 0 || proc_read("/proc/self/statm", buf, sizeof buf) <= 0)
		return 0;
	(void)strtoull(buf, &end, 10);
	errno = 0;
	resident = strtoull(end, NULL, 10);
	if (errno != 0)
		return 0;
	return resident * (unsigned long long)page;
}
