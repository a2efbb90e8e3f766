/* test_plan_gen.h: large, deterministic plan inputs for the plan tests and the plan benchmark. */
#ifndef OCFLFS_TEST_PLAN_GEN_H
#define OCFLFS_TEST_PLAN_GEN_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "plan.h"

/* A file set: logical paths, digests and sources, all owned by the set. */
struct gen_files {
    struct ocfl_plan_file *f;
    char **owned; /* every string the files point to */
    size_t n, n_owned;
};

static inline char *gen_keep(struct gen_files *g, char *s)
{
    if (!s)
        abort();
    g->owned[g->n_owned++] = s;
    return s;
}

/* Lower-case sha512 (or sha256) hex of "content-@c". */
static inline char *gen_digest(unsigned c, enum ocfl_digest_alg alg)
{
    struct ocfl_hasher *h = NULL;
    char text[32], *hex = malloc(OCFL_DIGEST_HEX_MAX);
    int n = snprintf(text, sizeof(text), "content-%u", c);

    if (!hex || ocfl_hasher_new(1u << alg, &h, NULL) < 0)
        abort();
    ocfl_hasher_update(h, text, (size_t)n);
    if (ocfl_hasher_final(h, alg, hex) < 0)
        abort();
    ocfl_hasher_free(h);
    return hex;
}

/*
 * Logical path of file @i: "dNN/fNNNNNN.txt"; with @odd, every 97th name has
 * non-ASCII letters, quotes, backslashes and control characters (escaped in JSON).
 */
static inline char *gen_path(unsigned i, int odd)
{
    char *s = NULL;
    int r;

    if (odd && i % 97 == 5)
        r = asprintf(
            &s, "d%02u/\xc3\xa9t\xc3\xa9 \"%u\" back\\slash\ttab\x01\x10\x19 \xf0\x9f\x93\x81.txt",
            i % 100, i);
    else if (odd && i % 89 == 3)
        r = asprintf(&s, "d%02u/\xe2\x80\xa8 sep \xe6\x97\xa5\xe6\x9c\xac %u\n\r\b\f.txt", i % 100,
                     i);
    else
        r = asprintf(&s, "d%02u/f%06u.txt", i % 100, i);
    return r < 0 ? NULL : s;
}

static inline void gen_init(struct gen_files *g, size_t n)
{
    g->f = calloc(n ? n : 1, sizeof(*g->f));
    g->owned = calloc(3 * n + 1, sizeof(*g->owned));
    g->n = g->n_owned = 0;
    if (!g->f || !g->owned)
        abort();
}

static inline void gen_free(struct gen_files *g)
{
    for (size_t i = 0; i < g->n_owned; i++)
        free(g->owned[i]);
    free(g->owned);
    free(g->f);
}

/* Add file @i with content @c; @staged gives it a source; @upper spells its digest upper-case. */
static inline void gen_add(struct gen_files *g, unsigned i, unsigned c, int staged, int upper,
                           int odd, enum ocfl_digest_alg alg)
{
    struct ocfl_plan_file *f = &g->f[g->n++];
    char *d = gen_keep(g, gen_digest(c, alg));

    for (char *p = d; upper && *p; p++)
        if (*p >= 'a' && *p <= 'f')
            *p = (char)(*p - 'a' + 'A');
    f->logical_path = gen_keep(g, gen_path(i, odd));
    f->digest = d;
    f->size = 1000 + c;
    if (staged) {
        char *src = NULL;
        if (asprintf(&src, "stage/%u", i) < 0)
            abort();
        f->source = gen_keep(g, src);
    }
}

#endif
