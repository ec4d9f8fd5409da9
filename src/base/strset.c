#include "base/strset.h"

#include <stdlib.h>
#include <string.h>

#include "base/hash.h"

void pqf__strset_init(pqf__strset *s, size_t limit)
{
    memset(s, 0, sizeof *s);
    s->limit = limit;
}

void pqf__strset_free(pqf__strset *s)
{
    free(s->hashes);
    free(s->offs);
    free(s->lens);
    free(s->arena);
    memset(s, 0, sizeof *s);
}

static uint64_t hash_of(const void *p, size_t n)
{
    uint64_t h = pqf__xxh64(p, n);
    return h ? h : 1;
}

static size_t find(const pqf__strset *s, uint64_t h, const void *p, size_t n, bool *found)
{
    size_t mask = s->cap - 1, i = (size_t)h & mask;
    for (;;) {
        if (s->hashes[i] == 0) {
            *found = false;
            return i;
        }
        if (s->hashes[i] == h && s->lens[i] == n && memcmp(s->arena + s->offs[i], p, n) == 0) {
            *found = true;
            return i;
        }
        i = (i + 1) & mask;
    }
}

static pqf_err grow(pqf__strset *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 1024;
    pqf__strset t = *s;
    t.hashes = calloc(ncap, sizeof *t.hashes);
    t.offs = malloc(ncap * sizeof *t.offs);
    t.lens = malloc(ncap * sizeof *t.lens);
    t.cap = ncap;
    if (!t.hashes || !t.offs || !t.lens) {
        free(t.hashes);
        free(t.offs);
        free(t.lens);
        return PQF_ERR_NOMEM;
    }
    for (size_t i = 0; i < s->cap; i++) {
        if (!s->hashes[i])
            continue;
        bool f;
        size_t j = find(&t, s->hashes[i], s->arena + s->offs[i], s->lens[i], &f);
        t.hashes[j] = s->hashes[i];
        t.offs[j] = s->offs[i];
        t.lens[j] = s->lens[i];
    }
    free(s->hashes);
    free(s->offs);
    free(s->lens);
    *s = t;
    return PQF_OK;
}

pqf_err pqf__strset_add(pqf__strset *s, const void *p, size_t n, bool *added)
{
    *added = false;
    if (s->n + 1 > s->cap / 2) {
        pqf_err rc = grow(s);
        if (rc != PQF_OK)
            return rc;
    }
    uint64_t h = hash_of(p, n);
    bool found;
    size_t i = find(s, h, p, n, &found);
    if (found)
        return PQF_OK;
    if (n > s->limit || s->arena_len > s->limit - n || s->arena_len + n > UINT32_MAX)
        return PQF_ERR_LIMIT;
    if (s->arena_len + n > s->arena_cap) {
        size_t nc = s->arena_cap ? s->arena_cap * 2 : 65536;
        while (nc < s->arena_len + n)
            nc *= 2;
        char *na = realloc(s->arena, nc);
        if (!na)
            return PQF_ERR_NOMEM;
        s->arena = na;
        s->arena_cap = nc;
    }
    memcpy(s->arena + s->arena_len, p, n);
    s->hashes[i] = h;
    s->offs[i] = (uint32_t)s->arena_len;
    s->lens[i] = (uint32_t)n;
    s->arena_len += n;
    s->n++;
    *added = true;
    return PQF_OK;
}

bool pqf__strset_has(const pqf__strset *s, const void *p, size_t n)
{
    if (!s->cap)
        return false;
    bool found;
    find(s, hash_of(p, n), p, n, &found);
    return found;
}
