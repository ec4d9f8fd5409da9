/* Unit tests: decoding commit objects (feed log entries read from a bucket). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "pqfeed/feed.h"

static const char *commit_with(const char *created_at, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"format\": \"pqfeed/1\", \"table\": \"t\", \"seq\": 1, \"prev\": null,"
             " \"kind\": \"snapshot\", \"schema_version\": 1, \"watermark\": null,"
             " \"created_at\": \"%s\", \"producer\": null, \"source_sha256\": null,"
             " \"rows\": 0, \"bytes\": 0, \"files\": []}",
             created_at);
    return buf;
}

static void created_at_is_strict_iso(void **state)
{
    (void)state;
    char buf[512];
    pqf_commit *c = NULL;
    pqf_error err = {0};
    const char *t = commit_with("2026-01-02T03:04:05.678Z", buf, sizeof buf);
    assert_int_equal(pqf_commit_decode(t, strlen(t), "c1", &c, &err), PQF_OK);
    assert_true(c->created_ms == 1767323045678LL);
    pqf_commit_free(c);
    /* sscanf's %d alone takes signs and blanks in a field of the right width */
    static const char *bad[] = {"2026-01-02T-1:04:05.678Z", "2026-01-02T03:04:05.-78Z",
                                "2026-01-02T 3:04:05.678Z", "2026-01-02T03:04:05.+78Z",
                                "2026-01-02T03:04:05,678Z"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = NULL;
        t = commit_with(bad[i], buf, sizeof buf);
        assert_int_equal(pqf_commit_decode(t, strlen(t), "c1", &c, &err), PQF_ERR_CORRUPT);
        assert_non_null(strstr(err.msg, "created_at"));
        assert_null(c);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(created_at_is_strict_iso),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
