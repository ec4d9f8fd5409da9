/* Unit tests: decoding commit objects (feed log entries read from a bucket). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pqfeed/feed.h"

/* digest: the input digest member(s), each followed by a comma */
static const char *commit_of(const char *created_at, const char *digest, char *buf, size_t cap)
{
    snprintf(buf, cap,
             "{\"format\": \"pqfeed/1\", \"table\": \"t\", \"seq\": 1, \"prev\": null,"
             " \"kind\": \"snapshot\", \"schema_version\": 1, \"watermark\": null,"
             " \"created_at\": \"%s\", \"producer\": null, %s"
             " \"rows\": 0, \"bytes\": 0, \"files\": []}",
             created_at, digest);
    return buf;
}

static const char *commit_with(const char *created_at, char *buf, size_t cap)
{
    return commit_of(created_at, "\"source_blake3\": null,", buf, cap);
}

#define HEX64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* source_blake3 is read and written back; an older producer's source_sha256
 * is accepted and not kept; both, neither or a bad value are corrupt */
static void input_digest_members(void **state)
{
    (void)state;
    char buf[640];
    pqf_commit *c = NULL;
    pqf_error err = {0};
    const char *ts = "2026-01-02T03:04:05.678Z";
    const char *t = commit_of(ts, "\"source_blake3\": \"" HEX64 "\",", buf, sizeof buf);
    assert_int_equal(pqf_commit_decode(t, strlen(t), "c1", &c, &err), PQF_OK);
    assert_string_equal(c->source_blake3, HEX64);
    char *enc = NULL;
    size_t len = 0;
    assert_int_equal(pqf_commit_encode(c, &enc, &len, &err), PQF_OK);
    assert_non_null(strstr(enc, ",\"source_blake3\":\"" HEX64 "\","));
    assert_null(strstr(enc, "source_sha256"));
    free(enc);
    pqf_commit_free(c);

    c = NULL;
    t = commit_of(ts, "\"source_sha256\": \"" HEX64 "\",", buf, sizeof buf);
    assert_int_equal(pqf_commit_decode(t, strlen(t), "c1", &c, &err), PQF_OK);
    assert_string_equal(c->source_blake3, "");
    pqf_commit_free(c);

    static const char *bad[] = {
        "\"source_blake3\": \"" HEX64 "\", \"source_sha256\": \"" HEX64 "\",",
        "",
        "\"source_blake3\": \"0123\",",
        "\"source_sha256\": \"" HEX64 "0\",",
        "\"source_blake3\": 7,",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        c = NULL;
        err = (pqf_error){0};
        t = commit_of(ts, bad[i], buf, sizeof buf);
        assert_int_equal(pqf_commit_decode(t, strlen(t), "c1", &c, &err), PQF_ERR_CORRUPT);
        assert_null(c);
        assert_non_null(strstr(err.msg, "source_"));
    }
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
        cmocka_unit_test(input_digest_members),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
