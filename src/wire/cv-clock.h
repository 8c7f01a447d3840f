/* The one clock of the client runtime and conclaved: CLOCK_MONOTONIC, for
 * deadlines and timers (never the wall clock, which may jump). */
#ifndef CONCLAVE_CV_CLOCK_H
#define CONCLAVE_CV_CLOCK_H

#include <stdint.h>

uint64_t cv_clock_ns(void) __attribute__((visibility("hidden")));
uint64_t cv_clock_ms(void) __attribute__((visibility("hidden")));

#endif
