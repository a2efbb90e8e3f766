/* plan_bench.c: time ocfl_plan_build on one changed file in an object of N files (sha512). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "inventory.h"
#include "plan.h"
#include "test_plan_gen.h"

/*
 * plan_bench [N [RUNS]]: the base is version 1 of N files "dNN/fNNNNNN.txt"
 * (parsed from its serialized bytes, as a real base is); the new state
 * keeps every file but changes one.  Prints each run's milliseconds, the
 * best and the median (wall clock; the CPU time of all threads too), and the inventory's size and
 * digest (which must not change between implementations).  Not part of `meson test`.
 */
static double now_ms(clockid_t clock)
{
    struct timespec ts;

    clock_gettime(clock, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 100000;
    int runs = argc > 2 ? atoi(argv[2]) : 5;
    struct ocfl_plan_input in = {.id = "urn:bench:1", .created = "2026-01-01T00:00:00Z"};
    struct ocfl_inventory *base = NULL;
    struct ocfl_plan *p = NULL;
    struct ocfl_err err = {0};
    struct gen_files g1, g2;
    double *ms;

    if (runs < 1 || !n)
        return 2;
    ms = calloc((size_t)runs, sizeof(*ms));
    gen_init(&g1, n);
    for (unsigned i = 0; i < n; i++)
        gen_add(&g1, i, i, 1, 0, 0, OCFL_DIGEST_SHA512);
    in.files = g1.f;
    in.n_files = g1.n;
    if (!ms || ocfl_plan_build(&in, &p, &err) < 0 ||
        ocfl_inventory_parse(p->inventory, p->inventory_len, &base, &err) < 0) {
        fprintf(stderr, "setup: %s\n", err.msg);
        return 1;
    }
    in = (struct ocfl_plan_input){.base = base,
                                  .base_digest = p->inventory_digest,
                                  .created = "2026-01-02T00:00:00Z",
                                  .message = "one change"};
    gen_init(&g2, n);
    for (unsigned i = 0; i < n; i++)
        gen_add(&g2, i, i == n / 2 ? n : i, i == n / 2, 0, 0, OCFL_DIGEST_SHA512);
    in.files = g2.f;
    in.n_files = g2.n;
    for (int r = 0; r < runs; r++) {
        struct ocfl_plan *q = NULL;
        double t0 = now_ms(CLOCK_MONOTONIC), c0 = now_ms(CLOCK_PROCESS_CPUTIME_ID);
        if (ocfl_plan_build(&in, &q, &err) < 0) {
            fprintf(stderr, "plan: %s\n", err.msg);
            return 1;
        }
        ms[r] = now_ms(CLOCK_MONOTONIC) - t0;
        printf("run %d: %.1f ms (cpu %.1f ms, all threads)\n", r + 1, ms[r],
               now_ms(CLOCK_PROCESS_CPUTIME_ID) - c0);
        if (r == runs - 1)
            printf("inventory: %zu bytes, sha512 %s\n", q->inventory_len, q->inventory_digest);
        ocfl_plan_free(q);
    }
    qsort(ms, (size_t)runs, sizeof(*ms), cmp_double);
    printf("plan_build of %u files: best %.1f ms, median %.1f ms\n", n, ms[0], ms[runs / 2]);
    ocfl_plan_free(p);
    ocfl_inventory_free(base);
    gen_free(&g1);
    gen_free(&g2);
    free(ms);
    return 0;
}
