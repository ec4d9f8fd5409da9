/* Benchmark driver for bench/export_pg.sh: one PostgreSQL table through the
 * public database-source API (include/pqfeed/dbsource.h) into one Parquet
 * file, as `pqfeed export` will do it. Built by the script against
 * build/libpqfeed.a; never part of the test suite.
 *
 *   pg_export_bench CONNINFO TABLE OUT.parquet [zstd|snappy|none]
 *
 * Prints "rows N seconds S rows_per_s R bytes B". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pqfeed/dbsource.h"
#include "pqfeed/stream.h"
#include "pqfeed/writer.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s CONNINFO TABLE OUT.parquet [codec]\n", argv[0]);
        return 2;
    }
    pqf_error err = {0};
    pqf_dbsource_opts o;
    pqf_dbsource_opts_init(&o);
    o.table = argv[2];
    pqf_writer_opts wo;
    pqf_writer_opts_init(&wo);
    if (argc > 4 && pqf_codec_from_name(argv[4], &wo.codec) != PQF_OK) {
        fprintf(stderr, "unknown codec %s\n", argv[4]);
        return 2;
    }
    pqf_dbsource *src = NULL;
    pqf_ostream *out = NULL;
    pqf_writer *w = NULL;
    uint64_t rows = 0;
    double t0 = now();
    pqf_err rc = pqf_dbsource_open_pg(argv[1], &o, &src, &err);
    if (rc == PQF_OK)
        rc = pqf_ostream_file(argv[3], &out, &err);
    if (rc == PQF_OK)
        rc = pqf_writer_create(pqf_dbsource_schema(src), out, &wo, &w, &err);
    if (rc == PQF_OK && (rc = pqf_dbsource_run(src, w, &rows)) != PQF_OK)
        err = *pqf_dbsource_error(src);
    if (rc == PQF_OK && (rc = pqf_writer_close(w)) != PQF_OK)
        err = *pqf_writer_error(w);
    uint64_t bytes = out ? pqf_ostream_tell(out) : 0;
    if (rc == PQF_OK && (rc = pqf_ostream_commit(out)) != PQF_OK)
        err = *pqf_ostream_error(out);
    double secs = now() - t0;
    pqf_writer_free(w);
    pqf_ostream_free(out);
    pqf_dbsource_free(src);
    if (rc != PQF_OK) {
        fprintf(stderr, "error: %s\n", err.msg);
        return 1;
    }
    printf("rows %llu seconds %.3f rows_per_s %.0f bytes %llu\n", (unsigned long long)rows, secs,
           (double)rows / secs, (unsigned long long)bytes);
    return 0;
}
