#include <time.h>

#include "cv-clock.h"

uint64_t cv_clock_ns(void)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
}

uint64_t cv_clock_ms(void)
{
	return cv_clock_ns() / 1000000u;
}
