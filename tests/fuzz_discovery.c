/*
 * libFuzzer target over the reader of target files: any bytes as a
 * file_sd file must give targets with usable names, addresses and labels,
 * or be refused with a reason, never crash or leak.
 */
#include "config.h"

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "discovery.h"
#include "yamlx.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yamlx_errors	 errs = { NULL, 0 };
	struct sd_target	*t;
	char			 path[64];
	size_t			 i, j, n;
	int			 fd;

	/* discovery_parse() reads a path: give it one in memory. */
	if ((fd = memfd_create("targets.json", 0)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	if (discovery_parse(path, NULL, &t, &n, &errs) == -1) {
		if (errs.n == 0 || t != NULL || n != 0)
			abort();	/* a refusal must say why, and keep none */
	} else {
		if (errs.n != 0)
			abort();
		for (i = 0; i < n; i++) {
			if (config_name_problem(t[i].name) != NULL ||
			    t[i].address == NULL)
				abort();
			for (j = 0; j < t[i].nlabels; j++)
				if (config_label_problem(t[i].labels[j].name) !=
				    NULL)
					abort();
		}
	}
	discovery_targets_free(t, n);
	yamlx_errors_free(&errs);
	close(fd);
	return 0;
}
