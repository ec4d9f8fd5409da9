/* Unit tests: replication pacing -- the copy window against an injected
 * clock, the bandwidth token bucket against the monotonic clock, and the
 * shard split of tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "pqfeed/replicate.h"
#include "replicate/pace.h"
#include "replicate/repl_impl.h"

/* 2026-01-05 00:00:00 UTC, tests run with TZ=UTC. */
#define DAY0 1767571200000LL
#define AT(h, m) (DAY0 + ((int64_t)(h) * 60 + (m)) * 60000)

static int setup_utc(void **state)
{
    (void)state;
    setenv("TZ", "UTC", 1);
    tzset();
    return 0;
}

static void window_parses_and_rejects(void **state)
{
    (void)state;
    pqf_repl_window w;
    pqf_error e = {0};
    assert_int_equal(pqf_repl_window_parse("22:00-06:00", &w, &e), PQF_OK);
    assert_true(w.enabled);
    assert_int_equal(w.start_min, 22 * 60);
    assert_int_equal(w.end_min, 6 * 60);
    assert_int_equal(pqf_repl_window_parse("9:05-24:00", &w, &e), PQF_OK);
    assert_int_equal(w.start_min, 9 * 60 + 5);
    assert_int_equal(w.end_min, 0);
    const char *bad[] = {"", "22-06", "22:00", "22:00-", "25:00-01:00", "22:60-23:00",
                         "22:00-06:00x", "ab:cd-01:00", "22:0-06:00", "24:30-01:00"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        pqf_error_clear(&e);
        assert_int_equal(pqf_repl_window_parse(bad[i], &w, &e), PQF_ERR_INVALID_ARG);
        assert_non_null(strstr(e.msg, "HH:MM-HH:MM"));
        assert_false(w.enabled);
    }
}

static void window_wraps_midnight(void **state)
{
    (void)state;
    pqf_repl_window w;
    pqf_error e = {0};
    assert_int_equal(pqf_repl_window_parse("22:00-06:00", &w, &e), PQF_OK);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(22, 0)), 0);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(23, 59)), 0);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(0, 0)), 0);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(5, 59)), 0);
    /* closed at 06:00 sharp: 16 hours to wait */
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(6, 0)), 16LL * 3600000);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(21, 59) + 30000), 30000);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(12, 0)), 10LL * 3600000);
}

static void window_within_a_day(void **state)
{
    (void)state;
    pqf_repl_window w;
    pqf_error e = {0};
    assert_int_equal(pqf_repl_window_parse("01:30-02:00", &w, &e), PQF_OK);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(1, 0)), 30LL * 60000);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(1, 30)), 0);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(1, 59)), 0);
    /* after the window: tomorrow's */
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(2, 0)), 23LL * 3600000 + 30LL * 60000);
    /* start == end: the whole day; not enabled: always open */
    assert_int_equal(pqf_repl_window_parse("05:00-05:00", &w, &e), PQF_OK);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(4, 0)), 0);
    memset(&w, 0, sizeof w);
    assert_int_equal(pqf_repl_window_wait_ms(&w, AT(4, 0)), 0);
    assert_int_equal(pqf_repl_window_wait_ms(NULL, AT(4, 0)), 0);
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void bucket_holds_the_rate(void **state)
{
    (void)state;
    pqf__bucket b;
    /* 4 MiB/s; the burst is 64 KiB... 400 KiB: 1 MiB in ~0.15 s at least */
    pqf__bucket_init(&b, 4u << 20);
    double t0 = mono_s();
    for (int i = 0; i < 16; i++)
        pqf__bucket_take(&b, 64u << 10);
    double dt = mono_s() - t0;
    assert_true(dt >= (double)((1u << 20) - (4u << 20) / 10) / (4u << 20) * 0.95);
    assert_true(dt < 2.0);
    pqf__bucket_destroy(&b);
    /* unlimited: free */
    pqf__bucket_init(&b, 0);
    assert_int_equal(pqf__bucket_take(&b, 1u << 30), 0);
    pqf__bucket_destroy(&b);
}

static void shards_split_tables_once(void **state)
{
    (void)state;
    char name[32];
    unsigned count[5] = {0};
    for (int i = 0; i < 200; i++) {
        snprintf(name, sizeof name, "table_%d", i);
        unsigned s = pqf__repl_shard_of(name, 5);
        assert_true(s < 5);
        assert_int_equal(pqf__repl_shard_of(name, 5), s); /* stable */
        count[s]++;
    }
    for (int s = 0; s < 5; s++)
        assert_true(count[s] > 10); /* every worker gets some */
    /* a fixed value: the split must not change between versions */
    /* FNV-1a("issues") = 2054159433 */
    assert_int_equal(pqf__repl_shard_of("issues", 7), 2054159433u % 7);
    assert_int_equal(pqf__repl_shard_of("issues", 3), 2054159433u % 3);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(window_parses_and_rejects),
        cmocka_unit_test(window_wraps_midnight),
        cmocka_unit_test(window_within_a_day),
        cmocka_unit_test(bucket_holds_the_rate),
        cmocka_unit_test(shards_split_tables_once),
    };
    return cmocka_run_group_tests_name("repl_pace", tests, setup_utc, NULL);
}
