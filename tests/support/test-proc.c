#include <stdio.h>

#include "test-proc.h"

long process_rss_kb(pid_t pid)
{
	char path[64], line[256];
	long rss = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	while (f != NULL && fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "VmRSS: %ld kB", &rss) == 1)
			break;
	if (f != NULL)
		fclose(f);
	return rss;
}
