/* Internal: clocks and the one timestamp spelling pqfeed writes. */
#ifndef PQF_BASE_TIMEFMT_H
#define PQF_BASE_TIMEFMT_H

#include <stdint.h>

/* Wall clock, Unix milliseconds. */
int64_t pqf__now_ms(void);
/* "YYYY-MM-DDTHH:MM:SS.mmmZ" (UTC) for Unix milliseconds; out >= 48 bytes. */
void pqf__iso_ms(int64_t ms, char out[48]);

/* days since 1970-01-01 <-> civil date (proleptic Gregorian), shared by the
 * sources' parsers and the Parquet and sink renderers. */
int64_t pqf__days_from_civil(int64_t y, unsigned m, unsigned d);
void pqf__civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d);

/* a / b rounded toward negative infinity (b != 0): splits times before the
 * epoch into whole days or seconds and a non-negative rest. */
static inline int64_t pqf__floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

#endif
