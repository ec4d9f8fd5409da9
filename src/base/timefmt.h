/* Internal: clocks and the one timestamp spelling pqfeed writes. */
#ifndef PQF_BASE_TIMEFMT_H
#define PQF_BASE_TIMEFMT_H

#include <stdint.h>

/* Wall clock, Unix milliseconds. */
int64_t pqf__now_ms(void);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) for Unix milliseconds; out >= 48 bytes. */
void pqf__iso_ms(int64_t ms, char out[48]);

#endif
