/* Helpers the unit tests share: a scratch directory per test file and files
 * written into it. Include after <cmocka.h> (the helpers assert). */
#ifndef PQF_TESTS_UNIT_TESTUTIL_H
#define PQF_TESTS_UNIT_TESTUTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A fresh directory /tmp/pqf-<tag>.XXXXXX, its name in dir[0..cap): 0, or -1
 * (a cmocka group setup's result). */
static inline int tu_tmpdir(char *dir, size_t cap, const char *tag)
{
    snprintf(dir, cap, "/tmp/pqf-%s.XXXXXX", tag);
    return mkdtemp(dir) ? 0 : -1;
}

/* rm -rf dir: 0, or -1 (a group teardown's result). */
static inline int tu_rmtree(const char *dir)
{
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Write text to dir/name (the test fails if it cannot); returns path, where
 * its name was put (path[0..cap)). */
static inline const char *tu_write(char *path, size_t cap, const char *dir, const char *name,
                                   const char *text)
{
    snprintf(path, cap, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

/* The first line a shell command prints, without its newline, in out[0..cap)
 * (the test fails if it prints none or exits non-zero); returns out. */
static inline char *tu_cmd_line(const char *cmd, char *out, size_t cap)
{
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    assert_non_null(fgets(out, (int)cap, p));
    assert_int_equal(pclose(p), 0);
    out[strcspn(out, "\n")] = 0;
    return out;
}

/* A fixed-seed xorshift64 sequence: the same "random" sizes and bytes in
 * every run (one sequence per test file). */
static uint64_t tu_rng = 0x9e3779b97f4a7c15ull;
static inline uint64_t tu_rnd(void)
{
    tu_rng ^= tu_rng << 13;
    tu_rng ^= tu_rng >> 7;
    tu_rng ^= tu_rng << 17;
    return tu_rng;
}

#endif
