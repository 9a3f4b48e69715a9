/*
 * libFuzzer target over the configuration loader: any bytes as a
 * heapwatchd.yaml must load or be refused with every error placed at a
 * line and column of the file, never crash or leak.
 */
#include "config.h"

#include <sys/mman.h>

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "conf.h"
#include "yamlx.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct yamlx_errors	 errs;
	struct config		*conf;
	char			 path[64];
	size_t			 i;
	int			 fd;

	/* config_load() reads a path: give it one in memory. */
	if ((fd = memfd_create("heapwatchd.yaml", 0)) == -1)
		abort();
	if (size > 0 && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	conf = config_load(path, &errs);
	if (conf == NULL && errs.n == 0)
		abort();		/* a refusal must say why */
	for (i = 0; i < errs.n; i++)
		if (errs.list[i].text == NULL)
			abort();
	config_free(conf);
	yamlx_errors_free(&errs);
	close(fd);
	return 0;
}
