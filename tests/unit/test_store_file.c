/* The local directory store through the public store API, plus the store
 * layer's pure pieces (part sizing, backoff, XML reader, credential JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/ostream_fault.h"
#include "pqfeed/store.h"
#include "store/creds.h"
#include "store/http.h"
#include "store/xml.h"
#include "testutil.h"

static char root[256];

static int setup(void **state)
{
    (void)state;
    snprintf(root, sizeof root, "%s/pqf-store-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(root) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static pqf_store *open_root(void)
{
    pqf_store *s = NULL;
    pqf_error e = {0};
    assert_int_equal(pqf_store_open(root, NULL, &s, &e), PQF_OK);
    return s;
}

static void put_then_get_round_trips(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    pqf_object_info res = {0};
    pqf_put_options po = {.result = &res};
    assert_int_equal(pqf_store_put_bytes(s, "a/b/c.txt", "hello", 5, &po, &e), PQF_OK);
    assert_int_equal(res.size, 5);
    assert_true(res.etag[0]);
    uint8_t *d;
    size_t n;
    assert_int_equal(pqf_store_get_bytes(s, "a/b/c.txt", NULL, 100, &d, &n, &e), PQF_OK);
    assert_int_equal(n, 5);
    assert_memory_equal(d, "hello", 5);
    free(d);
    pqf_object_info h;
    assert_int_equal(pqf_store_head(s, "a/b/c.txt", NULL, &h, &e), PQF_OK);
    assert_string_equal(h.etag, res.etag);
    assert_int_equal(pqf_store_head(s, "a/b/nope", NULL, &h, &e), PQF_ERR_NOT_FOUND);
    pqf_store_free(s);
}

static void ranges_and_random_access(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    assert_int_equal(pqf_store_put_bytes(s, "r", "0123456789", 10, NULL, &e), PQF_OK);
    uint8_t *d;
    size_t n;
    pqf_get_options g = {.offset = 3, .length = 4};
    assert_int_equal(pqf_store_get_bytes(s, "r", &g, 100, &d, &n, &e), PQF_OK);
    assert_int_equal(n, 4);
    assert_memory_equal(d, "3456", 4);
    free(d);
    pqf_istream *in = NULL;
    pqf_object_info info;
    assert_int_equal(pqf_store_open_read(s, "r", NULL, &in, &info, &e), PQF_OK);
    assert_int_equal(pqf_istream_size(in), 10);
    char b[3];
    assert_int_equal(pqf_istream_read_at(in, 7, b, 3), PQF_OK);
    assert_memory_equal(b, "789", 3);
    assert_int_not_equal(pqf_istream_read_at(in, 8, b, 3), PQF_OK);
    pqf_istream_free(in);
    /* A limit below the size fails instead of allocating. */
    assert_int_equal(pqf_store_get_bytes(s, "r", NULL, 5, &d, &n, &e), PQF_ERR_LIMIT);
    pqf_store_free(s);
}

typedef struct race {
    pqf_store *s;
    int id;
    pqf_err rc;
} race;

static void *racer(void *ud)
{
    race *r = ud;
    pqf_error e = {0};
    char body[32];
    int n = snprintf(body, sizeof body, "writer %d", r->id);
    r->rc = pqf_store_put_bytes(r->s, "log/00000000000000000001.json", body, (size_t)n,
                                &(pqf_put_options){.if_absent = true}, &e);
    return NULL;
}

static void put_if_absent_has_one_winner(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    race r[8];
    pthread_t t[8];
    for (int i = 0; i < 8; i++) {
        r[i] = (race){s, i, PQF_OK};
        pthread_create(&t[i], NULL, racer, &r[i]);
    }
    int ok = 0, exists = 0;
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        ok += r[i].rc == PQF_OK;
        exists += r[i].rc == PQF_ERR_EXISTS;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(exists, 7);
    pqf_store_free(s);
}

static void conditional_put_on_etag(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    pqf_object_info a = {0};
    assert_int_equal(pqf_store_put_bytes(s, "c", "v1", 2, &(pqf_put_options){.result = &a}, &e),
                     PQF_OK);
    usleep(2000);
    assert_int_equal(
        pqf_store_put_bytes(s, "c", "v2", 2, &(pqf_put_options){.if_match = a.etag}, &e), PQF_OK);
    /* a.etag is stale now. */
    assert_int_equal(
        pqf_store_put_bytes(s, "c", "v3", 2, &(pqf_put_options){.if_match = a.etag}, &e),
        PQF_ERR_PRECONDITION);
    assert_int_equal(pqf_store_get_bytes(s, "c", &(pqf_get_options){.if_match = a.etag}, 10,
                                         &(uint8_t *){NULL}, &(size_t){0}, &e),
                     PQF_ERR_PRECONDITION);
    pqf_store_free(s);
}

static void abort_leaves_nothing(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    pqf_ostream *os = NULL;
    assert_int_equal(pqf_store_put(s, "gone/x", NULL, &os, &e), PQF_OK);
    assert_int_equal(pqf_ostream_write(os, "abc", 3), PQF_OK);
    pqf_ostream_free(os); /* no commit: aborted */
    pqf_object_info h;
    assert_int_equal(pqf_store_head(s, "gone/x", NULL, &h, &e), PQF_ERR_NOT_FOUND);
    pqf_store_free(s);
}

static bool count_upload(void *ud, const pqf_upload_info *u)
{
    (void)u;
    (*(int *)ud)++;
    return true;
}

static int uploads(pqf_store *s)
{
    int n = 0;
    pqf_error e = {0};
    assert_int_equal(pqf_store_list_uploads(s, "", count_upload, &n, &e), PQF_OK);
    return n;
}

/* A store on "/" (as the object commands open one) joins root and key
 * without a doubled slash, in its paths and its messages; a root written
 * with doubled or trailing slashes is normalised. */
static void root_and_key_join_with_one_slash(void **state)
{
    (void)state;
    pqf_store *s = NULL;
    pqf_error e = {0};
    char key[400], want[400], messy[400];
    assert_int_equal(pqf_store_open("file:///", NULL, &s, &e), PQF_OK);
    assert_string_equal(pqf_store_uri(s), "file:///");
    snprintf(key, sizeof key, "%s/missing", root + 1);
    pqf_object_info h;
    assert_int_equal(pqf_store_head(s, key, NULL, &h, &e), PQF_ERR_NOT_FOUND);
    snprintf(want, sizeof want, "open %s/missing:", root);
    assert_non_null(strstr(e.msg, want));
    assert_null(strstr(e.msg, "//"));
    snprintf(key, sizeof key, "%s/a/b", root + 1);
    assert_int_equal(pqf_store_put_bytes(s, key, "x", 1, NULL, &e), PQF_OK);
    struct stat st;
    snprintf(want, sizeof want, "%s/a/b", root);
    assert_int_equal(stat(want, &st), 0);
    assert_int_equal(pqf_store_head(s, key, NULL, &h, &e), PQF_OK);
    assert_int_equal(h.size, 1);
    pqf_store_free(s);
    snprintf(messy, sizeof messy, "/%s//", root); /* "//tmp/pqf-store-X//" */
    assert_int_equal(pqf_store_open(messy, NULL, &s, &e), PQF_OK);
    snprintf(want, sizeof want, "file://%s", root);
    assert_string_equal(pqf_store_uri(s), want);
    assert_int_equal(pqf_store_head(s, "a/b", NULL, &h, &e), PQF_OK);
    pqf_store_free(s);
}

/* A put whose stream cannot be created (out of memory) fails with
 * PQF_ERR_NOMEM and leaves no temporary behind, whichever way it writes:
 * plain (the file sink's temporary), put-if-absent, If-Match and deferred
 * (the store's own). */
static void put_out_of_memory_leaves_no_temporary(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    pqf_object_info cur;
    assert_int_equal(pqf_store_put_bytes(s, "oom/cur", "v1", 2, NULL, &e), PQF_OK);
    assert_int_equal(pqf_store_head(s, "oom/cur", NULL, &cur, &e), PQF_OK);
    pqf_put_options modes[4] = {{0}, {.if_absent = true}, {.if_match = cur.etag},
                                {.defer_sync = true}};
    const char *keys[4] = {"oom/plain", "oom/absent", "oom/cur", "oom/deferred"};
    for (int m = 0; m < 4; m++) {
        pqf_ostream *os = NULL;
        pqf__ostream_create_fault = 1;
        assert_int_equal(pqf_store_put(s, keys[m], &modes[m], &os, &e), PQF_ERR_NOMEM);
        assert_int_equal(pqf__ostream_create_fault, 0);
        assert_int_equal(uploads(s), 0);
    }
    char cmd[400], line[64] = "";
    snprintf(cmd, sizeof cmd, "ls -A '%s/oom' | wc -l", root);
    assert_int_equal(atoi(tu_cmd_line(cmd, line, sizeof line)), 1); /* only oom/cur */
    pqf_store_free(s);
}

/* defer_sync: nothing under the key until pqf_store_sync (or a full batch);
 * a store freed before the sync leaves nothing behind. */
static void deferred_puts_appear_at_sync(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    pqf_object_info res[3], h;
    const char *keys[] = {"a/x", "a/y", "b/c/z"};
    for (int i = 0; i < 3; i++) {
        pqf_put_options po = {.defer_sync = true, .result = &res[i]};
        assert_int_equal(pqf_store_put_bytes(s, keys[i], keys[i], strlen(keys[i]), &po, &e), PQF_OK);
        assert_int_equal(res[i].size, strlen(keys[i]));
    }
    for (int i = 0; i < 3; i++)
        assert_int_equal(pqf_store_head(s, keys[i], NULL, &h, &e), PQF_ERR_NOT_FOUND);
    assert_int_equal(uploads(s), 3);
    assert_int_equal(pqf_store_sync(s, &e), PQF_OK);
    assert_int_equal(uploads(s), 0);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(pqf_store_head(s, keys[i], NULL, &h, &e), PQF_OK);
        assert_string_equal(h.etag, res[i].etag); /* the rename kept the file */
        uint8_t *d;
        size_t n;
        assert_int_equal(pqf_store_get_bytes(s, keys[i], NULL, 100, &d, &n, &e), PQF_OK);
        assert_memory_equal(d, keys[i], n);
        free(d);
    }
    /* Conditional puts ignore defer_sync. */
    pqf_put_options pa = {.defer_sync = true, .if_absent = true};
    assert_int_equal(pqf_store_put_bytes(s, "now", "n", 1, &pa, &e), PQF_OK);
    assert_int_equal(pqf_store_head(s, "now", NULL, &h, &e), PQF_OK);
    /* A full batch of 1,024 syncs at its last commit. */
    pqf_put_options pd = {.defer_sync = true};
    char k[32];
    for (int i = 0; i < 1025; i++) {
        snprintf(k, sizeof k, "many/%04d", i);
        assert_int_equal(pqf_store_put_bytes(s, k, "m", 1, &pd, &e), PQF_OK);
    }
    assert_int_equal(pqf_store_head(s, "many/1023", NULL, &h, &e), PQF_OK);
    assert_int_equal(pqf_store_head(s, "many/1024", NULL, &h, &e), PQF_ERR_NOT_FOUND);
    pqf_store_free(s); /* without a sync: the last temporary is removed */
    s = open_root();
    assert_int_equal(pqf_store_head(s, "many/1024", NULL, &h, &e), PQF_ERR_NOT_FOUND);
    assert_int_equal(uploads(s), 0);
    assert_int_equal(pqf_store_sync(s, &e), PQF_OK); /* nothing to do */
    pqf_store_free(s);
}

typedef struct names {
    char v[16][64];
    bool prefix[16];
    int n;
} names;

static bool collect(void *ud, const pqf_object_info *o)
{
    names *n = ud;
    if (n->n < 16) {
        snprintf(n->v[n->n], sizeof n->v[0], "%s", o->key);
        n->prefix[n->n++] = o->is_prefix;
    }
    return true;
}

static void list_sorted_with_delimiter_and_hides_temporaries(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    const char *keys[] = {"t/data/b.parquet", "t/_log/2.json", "t/_log/1.json", "t/data/a.parquet",
                          "top"};
    for (size_t i = 0; i < 5; i++)
        assert_int_equal(pqf_store_put_bytes(s, keys[i], "x", 1, NULL, &e), PQF_OK);
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/t/_log/3.json.tmp-123-4", root);
    FILE *f = fopen(tmp, "w");
    fclose(f);
    names n = {0};
    assert_int_equal(pqf_store_list(s, "t/", NULL, collect, &n, &e), PQF_OK);
    assert_int_equal(n.n, 4);
    assert_string_equal(n.v[0], "t/_log/1.json");
    assert_string_equal(n.v[1], "t/_log/2.json");
    assert_string_equal(n.v[3], "t/data/b.parquet");
    names d = {0};
    assert_int_equal(
        pqf_store_list(s, "t/", &(pqf_list_options){.delimiter = "/"}, collect, &d, &e), PQF_OK);
    assert_int_equal(d.n, 2);
    assert_string_equal(d.v[0], "t/_log/");
    assert_true(d.prefix[0]);
    assert_string_equal(d.v[1], "t/data/");
    names p = {0};
    assert_int_equal(pqf_store_list(s, "t/_log/1", NULL, collect, &p, &e), PQF_OK);
    assert_int_equal(p.n, 1);
    names sa = {0};
    assert_int_equal(pqf_store_list(s, "", &(pqf_list_options){.start_after = "t/data/a.parquet"},
                                    collect, &sa, &e),
                     PQF_OK);
    assert_int_equal(sa.n, 2);
    assert_string_equal(sa.v[0], "t/data/b.parquet");
    pqf_store_free(s);
}

static void delete_and_delete_many(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    assert_int_equal(pqf_store_put_bytes(s, "d/1", "x", 1, NULL, &e), PQF_OK);
    assert_int_equal(pqf_store_put_bytes(s, "d/2", "x", 1, NULL, &e), PQF_OK);
    assert_int_equal(pqf_store_delete(s, "d/1", NULL, &e), PQF_OK);
    assert_int_equal(pqf_store_delete(s, "d/1", NULL, &e), PQF_OK); /* missing is fine */
    const char *ks[] = {"d/2"};
    size_t del = 0;
    assert_int_equal(pqf_store_delete_many(s, ks, 1, &del, &e), PQF_OK);
    assert_int_equal(del, 1);
    char dir[400];
    snprintf(dir, sizeof dir, "%s/d", root);
    struct stat st;
    assert_int_not_equal(stat(dir, &st), 0); /* empty "directories" go too */
    pqf_store_free(s);
}

static void keys_are_checked(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    assert_int_equal(pqf_store_put_bytes(s, "../escape", "x", 1, NULL, &e), PQF_ERR_INVALID_ARG);
    assert_int_equal(pqf_store_put_bytes(s, "/abs", "x", 1, NULL, &e), PQF_ERR_INVALID_ARG);
    assert_int_equal(pqf_store_put_bytes(s, "", "x", 1, NULL, &e), PQF_ERR_INVALID_ARG);
    assert_int_equal(pqf_store_list_versions(s, "", collect, NULL, &e), PQF_ERR_UNSUPPORTED);
    pqf_store *bad = NULL;
    assert_int_equal(pqf_store_open("gs://x/y", NULL, &bad, &e), PQF_ERR_INVALID_ARG);
    assert_int_equal(pqf_store_open("s3://ab", NULL, &bad, &e), PQF_ERR_INVALID_ARG);
    pqf_store_free(s);
}

static void copy_between_local_stores(void **state)
{
    (void)state;
    pqf_store *s = open_root();
    pqf_error e = {0};
    assert_int_equal(pqf_store_put_bytes(s, "src", "payload", 7, NULL, &e), PQF_OK);
    assert_int_equal(pqf_store_copy(s, "src", s, "dst/copy", NULL, &e), PQF_OK);
    uint8_t *d;
    size_t n;
    assert_int_equal(pqf_store_get_bytes(s, "dst/copy", NULL, 100, &d, &n, &e), PQF_OK);
    assert_int_equal(n, 7);
    assert_memory_equal(d, "payload", 7);
    free(d);
    assert_int_equal(
        pqf_store_copy(s, "src", s, "dst/copy", &(pqf_put_options){.if_absent = true}, &e),
        PQF_ERR_EXISTS);
    pqf_store_free(s);
}

static void part_size_fits_10000_parts(void **state)
{
    (void)state;
    assert_int_equal(pqf_store_part_size(0, 0), 8u << 20);
    assert_int_equal(pqf_store_part_size(1, 0), 5u << 20);
    uint64_t big = 1ull << 40; /* 1 TiB */
    uint64_t p = pqf_store_part_size(8u << 20, big);
    assert_true(p * 10000 >= big);
    assert_int_equal(p % (1u << 20), 0);
    assert_true(pqf_store_part_size(0, 5ull << 40) * 10000 >= 5ull << 40);
}

static void backoff_is_full_jitter_and_capped(void **state)
{
    (void)state;
    uint64_t rng = 42;
    unsigned max_seen = 0, min_seen = ~0u;
    for (int i = 0; i < 2000; i++) {
        unsigned d = pqf__http_backoff_ms(100, 3, &rng);
        assert_true(d <= 800);
        max_seen = d > max_seen ? d : max_seen;
        min_seen = d < min_seen ? d : min_seen;
    }
    assert_true(max_seen > 600);
    assert_true(min_seen < 100);
    for (int i = 0; i < 100; i++)
        assert_true(pqf__http_backoff_ms(100, 30, &rng) <= 20000);
}

typedef struct xs {
    char keys[4][64];
    int n;
} xs;

static bool xml_end(void *ud, const char *path, const char *text, size_t len)
{
    xs *x = ud;
    (void)len;
    if (strcmp(path, "ListBucketResult/Contents/Key") == 0 && x->n < 4)
        snprintf(x->keys[x->n++], 64, "%s", text);
    return true;
}

static void xml_reader_paths_chunks_and_limits(void **state)
{
    (void)state;
    const char *doc = "<?xml version=\"1.0\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/"
                      "doc/2006-03-01/\"><Contents><Key>a&amp;b</Key></Contents><Contents><Key>"
                      "c</Key></Contents></ListBucketResult>";
    xs x = {0};
    pqf_error e = {0};
    pqf__xml *p = NULL;
    assert_int_equal(pqf__xml_new(NULL, xml_end, &x, &p, &e), PQF_OK);
    for (size_t i = 0; doc[i]; i++) /* one byte at a time */
        assert_int_equal(pqf__xml_feed(p, doc + i, 1, false, &e), PQF_OK);
    assert_int_equal(pqf__xml_feed(p, "", 0, true, &e), PQF_OK);
    pqf__xml_free(p);
    assert_int_equal(x.n, 2);
    assert_string_equal(x.keys[0], "a&b");
    const char *bomb = "<!DOCTYPE a [<!ENTITY x \"x\">]><a>&x;</a>";
    assert_int_equal(pqf__xml_parse(bomb, strlen(bomb), NULL, xml_end, &x, &e), PQF_ERR_PARSE);
    char deep[400] = "";
    for (int i = 0; i < 40; i++)
        strcat(deep, "<a>");
    assert_int_equal(pqf__xml_parse(deep, strlen(deep), NULL, xml_end, &x, &e), PQF_ERR_LIMIT);
}

static void credential_json(void **state)
{
    (void)state;
    const char *j =
        "{\"Version\": 1, \"AccessKeyId\": \"AKID\", \"SecretAccessKey\": \"s\\/e\\\"c\","
        " \"SessionToken\":\"t\"}";
    char *a = pqf__json_string(j, "AccessKeyId"), *s = pqf__json_string(j, "SecretAccessKey");
    assert_string_equal(a, "AKID");
    assert_string_equal(s, "s/e\"c");
    assert_null(pqf__json_string(j, "Expiration"));
    assert_null(pqf__json_string("{\"AccessKeyId\": \"unterminated", "AccessKeyId"));
    free(a);
    free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(put_then_get_round_trips, setup, teardown),
        cmocka_unit_test_setup_teardown(ranges_and_random_access, setup, teardown),
        cmocka_unit_test_setup_teardown(put_if_absent_has_one_winner, setup, teardown),
        cmocka_unit_test_setup_teardown(conditional_put_on_etag, setup, teardown),
        cmocka_unit_test_setup_teardown(abort_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(put_out_of_memory_leaves_no_temporary, setup, teardown),
        cmocka_unit_test_setup_teardown(root_and_key_join_with_one_slash, setup, teardown),
        cmocka_unit_test_setup_teardown(deferred_puts_appear_at_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(list_sorted_with_delimiter_and_hides_temporaries, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(delete_and_delete_many, setup, teardown),
        cmocka_unit_test_setup_teardown(keys_are_checked, setup, teardown),
        cmocka_unit_test_setup_teardown(copy_between_local_stores, setup, teardown),
        cmocka_unit_test(part_size_fits_10000_parts),
        cmocka_unit_test(backoff_is_full_jitter_and_capped),
        cmocka_unit_test(xml_reader_paths_chunks_and_limits),
        cmocka_unit_test(credential_json),
    };
    return cmocka_run_group_tests_name("store_file", tests, NULL, NULL);
}
