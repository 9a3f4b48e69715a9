#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procstat.h"

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

/* When the system booted, in seconds since the epoch: /proc/stat's btime. */
static long long
proc_boot_time(void)
{
	FILE		*f;
	char		*line = NULL;
	size_t		 cap = 0;
	long long	 btime = -1;

	if ((f = fopen("/proc/stat", "re")) == NULL)
		return -1;
	while (getline(&line, &cap, f) != -1)
		if (strncmp(line, "btime ", 6) == 0) {
			btime = strtoll(line + 6, NULL, 10);
			break;
		}
	free(line);
	fclose(f);
	return btime;
}

/*
 * The descriptors open, or -1: not known. Since Linux 6.2 the size of
 * /proc/self/fd is their number, which costs a stat; before, it is 0 and
 * they are counted, the one that lists them aside: 0.8 us a descriptor,
 * 8 ms of the loop at each render with 10,000 open.
 */
static long
proc_open_fds(void)
{
	DIR		*d;
	struct dirent	*de;
	struct stat	 sb;
	long		 n = 0;

	if (stat("/proc/self/fd", &sb) == 0 && sb.st_size > 0)
		return (long)sb.st_size;
	if ((d = opendir("/proc/self/fd")) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n > 0 ? n - 1 : 0;
}

int
procstat_read(struct procstat *ps)
{
	/* The start does not change: read once, with the boot time. */
	static double	 start_time = -1;
	static long long ticks_start;
	char		 buf[1024], *p, *end;
	unsigned long long v[25];
	long		 tick = sysconf(_SC_CLK_TCK), page = sysconf(_SC_PAGESIZE);
	long long	 btime;
	struct rlimit	 rl;
	int		 field;

	memset(ps, 0, sizeof *ps);
	ps->open_fds = ps->max_fds = -1;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		ps->max_fds = (long)rl.rlim_cur;
	ps->open_fds = proc_open_fds();
	if (tick <= 0 || page <= 0 ||
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
	if (start_time < 0 || ticks_start != (long long)v[22]) {
		if ((btime = proc_boot_time()) < 0)
			return -1;
		ticks_start = (long long)v[22];
		start_time = (double)btime + (double)v[22] / (double)tick;
	}
	ps->start_time = start_time;
	return 0;
}

uint64_t
procstat_rss(void)
{
	char			buf[256];
	unsigned long long	size, resident;
	long			page = sysconf(_SC_PAGESIZE);

	if (page <= 0 || proc_read("/proc/self/statm", buf, sizeof buf) <= 0 ||
	    sscanf(buf, "%llu %llu", &size, &resident) != 2)
		return 0;
	return resident * (unsigned long long)page;
}
