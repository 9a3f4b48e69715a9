/*
 * Runs a command N times and prints the median wall-clock and CPU time, the
 * largest peak RSS and the median count of page faults, as measured by the
 * kernel (wait4's rusage):
 *
 *	runs N COMMAND [ARG...]
 *	-> wall_ms=… cpu_ms=… maxrss_kib=… faults=…
 */
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

int
main(int argc, char **argv)
{
	struct timespec	 t0, t1;
	struct rusage	 ru;
	double		*wall, *cpu, *faults;
	long		 maxrss = 0;
	int		 n, i, status, fd;
	pid_t		 pid;

	if (argc < 3 || (n = atoi(argv[1])) < 1) {
		fprintf(stderr, "usage: runs N COMMAND [ARG...]\n");
		return 2;
	}
	wall = calloc(n, sizeof *wall);
	cpu = calloc(n, sizeof *cpu);
	faults = calloc(n, sizeof *faults);
	for (i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if ((pid = fork()) == 0) {
			fd = open("/dev/null", O_WRONLY);
			dup2(fd, 1);
			execvp(argv[2], argv + 2);
			_exit(127);
		}
		if (wait4(pid, &status, 0, &ru) == -1) {
			perror("wait4");
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
			fprintf(stderr, "runs: %s failed\n", argv[2]);
			return 1;
		}
		wall[i] = (t1.tv_sec - t0.tv_sec) * 1e3 +
		    (t1.tv_nsec - t0.tv_nsec) / 1e6;
		cpu[i] = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 +
		    ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
		faults[i] = ru.ru_minflt + ru.ru_majflt;
		if (ru.ru_maxrss > maxrss)
			maxrss = ru.ru_maxrss;
	}
	qsort(wall, n, sizeof *wall, cmp_double);
	qsort(cpu, n, sizeof *cpu, cmp_double);
	qsort(faults, n, sizeof *faults, cmp_double);
	printf("wall_ms=%.1f cpu_ms=%.1f maxrss_kib=%ld faults=%.0f\n",
	    wall[n / 2], cpu[n / 2], maxrss, faults[n / 2]);
	return 0;
}
