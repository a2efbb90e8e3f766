/* web_textdiff.c: a line diff of two small texts, in unified form with three lines of context. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "web_textdiff.h"

struct lines {
    const char **s;
    size_t *len, n;
};

static int split(const char *buf, size_t size, struct lines *l)
{
    size_t cap = 1;

    for (size_t i = 0; i < size; i++)
        cap += buf[i] == '\n';
    l->s = malloc(cap * sizeof(*l->s));
    l->len = malloc(cap * sizeof(*l->len));
    l->n = 0;
    if (!l->s || !l->len)
        return -ENOMEM;
    for (size_t i = 0; i < size;) {
        const char *nl = memchr(buf + i, '\n', size - i);
        size_t n = nl ? (size_t)(nl - (buf + i)) : size - i;
        l->s[l->n] = buf + i;
        l->len[l->n++] = n;
        i += n + 1;
    }
    return 0;
}

static int same(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
    return a->len[i] == b->len[j] && !memcmp(a->s[i], b->s[j], a->len[i]);
}

/* One op per output line: ' ' both, '-' only in a, '+' only in b, with its line numbers. */
struct op {
    char kind;
    size_t ia, ib;
};

/* Whether op @k is within three lines of a change. */
static int shown(const struct op *ops, size_t n, size_t k)
{
    for (size_t i = k > 3 ? k - 3 : 0; i < n && i <= k + 3; i++)
        if (ops[i].kind != ' ')
            return 1;
    return 0;
}

static void emit(FILE *f, const struct op *ops, size_t n, const struct lines *a,
                 const struct lines *b)
{
    for (size_t i = 0; i < n;) {
        size_t start, end, la = 0, lb = 0;
        if (!shown(ops, n, i)) {
            i++;
            continue;
        }
        for (start = i, end = i; end < n && shown(ops, n, end); end++) {
            la += ops[end].kind != '+';
            lb += ops[end].kind != '-';
        }
        fprintf(f, "@@ -%zu,%zu +%zu,%zu @@\n", ops[start].ia + 1, la, ops[start].ib + 1, lb);
        for (size_t k = start; k < end; k++) {
            const struct lines *l = ops[k].kind == '+' ? b : a;
            size_t idx = ops[k].kind == '+' ? ops[k].ib : ops[k].ia;
            fputc(ops[k].kind, f);
            fwrite(l->s[idx], 1, l->len[idx], f);
            fputc('\n', f);
        }
        i = end;
    }
}

int web_textdiff(const char *a, size_t alen, const char *b, size_t blen, FILE *f)
{
    struct lines la = {0}, lb = {0};
    struct op *ops = NULL;
    uint32_t *dp = NULL;
    size_t pre = 0, suf = 0, n = 0, m, k;
    int r = -ENOMEM;

    if (split(a, alen, &la) < 0 || split(b, blen, &lb) < 0)
        goto out;
    while (pre < la.n && pre < lb.n && same(&la, pre, &lb, pre))
        pre++;
    while (suf < la.n - pre && suf < lb.n - pre && same(&la, la.n - 1 - suf, &lb, lb.n - 1 - suf))
        suf++;
    size_t na = la.n - pre - suf, nb = lb.n - pre - suf;
    if ((na + 1) * (nb + 1) > WEB_TEXTDIFF_CELLS) {
        r = -E2BIG;
        goto out;
    }
    if (!(ops = malloc((la.n + lb.n + 1) * sizeof(*ops))) ||
        !(dp = calloc((na + 1) * (nb + 1), sizeof(*dp))))
        goto out;
    /* the longest common subsequence of the middle, from the end */
    for (size_t i = na; i-- > 0;)
        for (size_t j = nb; j-- > 0;)
            dp[i * (nb + 1) + j] =
                same(&la, pre + i, &lb, pre + j) ? dp[(i + 1) * (nb + 1) + j + 1] + 1
                : dp[(i + 1) * (nb + 1) + j] > dp[i * (nb + 1) + j + 1] ? dp[(i + 1) * (nb + 1) + j]
                                                                        : dp[i * (nb + 1) + j + 1];
    for (k = 0; k < pre; k++)
        ops[n++] = (struct op){' ', k, k};
    size_t i = 0, j = 0;
    while (i < na || j < nb) {
        if (i < na && j < nb && same(&la, pre + i, &lb, pre + j)) {
            ops[n++] = (struct op){' ', pre + i, pre + j};
            i++, j++;
        } else if (i < na && (j == nb || dp[(i + 1) * (nb + 1) + j] >= dp[i * (nb + 1) + j + 1])) {
            ops[n++] = (struct op){'-', pre + i, pre + j}; /* removals first, as diff -u */
            i++;
        } else {
            ops[n++] = (struct op){'+', pre + i, pre + j};
            j++;
        }
    }
    for (k = 0; k < suf; k++)
        ops[n++] = (struct op){' ', pre + na + k, pre + nb + k};
    m = n;
    emit(f, ops, m, &la, &lb);
    r = 0;
out:
    free(dp);
    free(ops);
    free(la.s), free(la.len), free(lb.s), free(lb.len);
    return r;
}
