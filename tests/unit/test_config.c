/* Unit tests: the duration grammar shared by configs and the command line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "pqfeed/config.h"

static void durations_parse(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int64_t ms;
    } ok[] = {{"0", 0},         {"0s", 0},           {"500ms", 500},     {"20", 20000},
              {"20s", 20000},   {"30m", 1800000},    {"2h", 7200000},    {"7d", 604800000},
              {"1.5h", 5400000}, {"0.25s", 250},     {"2.0005s", 2000},  {"1000000000000000ms", 1000000000000000}};
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        int64_t ms = -1;
        if (!pqf_duration_parse(ok[i].s, &ms))
            fail_msg("'%s' refused", ok[i].s);
        assert_int_equal(ms, ok[i].ms);
    }
    static const char *bad[] = {"",    "s",    "-1s",  "+1s", "1x",   "1 s",  "1.s", ".5s",
                                "1e3", "inf",  "nan",  "0x10", "1sm", "1000000000000001ms",
                                "99999999999999999999d", "12000000d"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t ms = 7;
        if (pqf_duration_parse(bad[i], &ms))
            fail_msg("'%s' accepted as %lld ms", bad[i], (long long)ms);
        assert_int_equal(ms, 7); /* untouched */
    }
    assert_false(pqf_duration_parse(NULL, &(int64_t){0}));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(durations_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
