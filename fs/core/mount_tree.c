/* mount_tree.c: directories of a version's tree by range scans over its sorted state. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mount.h"

/* First index whose logical path is >= @key (@klen bytes, then compared as a prefix key). */
static size_t lower_bound(const struct ocfl_version *v, const char *key, size_t klen)
{
    size_t lo = 0, hi = v->n_state;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *p = v->state[mid].logical_path;
        int c = strncmp(p, key, klen);
        /* p shorter than key compares less when it is a proper prefix: strncmp
         * then sees p's NUL against a key byte, which is what we want */
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Whether @p starts with @dir + "/" (or @dir is the top). */
static int under(const char *p, const char *dir, size_t dlen)
{
    if (!dlen)
        return 1;
    return !strncmp(p, dir, dlen) && p[dlen] == '/';
}

/* Index of the first entry under @dir + "/" (or n_state when there is none). */
static size_t first_under(const struct ocfl_version *v, const char *dir, size_t dlen)
{
    char key[4096];
    int k = snprintf(key, sizeof(key), "%s/", dir);
    size_t i;

    if (k >= 0 && (size_t)k < sizeof(key)) {
        i = lower_bound(v, key, (size_t)k);
    } else {
        for (i = lower_bound(v, dir, dlen); i < v->n_state; i++)
            if (under(v->state[i].logical_path, dir, dlen))
                break;
    }
    if (i < v->n_state && under(v->state[i].logical_path, dir, dlen))
        return i;
    return v->n_state;
}

int mount_tree_classify(const struct ocfl_version *v, const char *path,
                        const struct ocfl_state_entry **ret_entry)
{
    size_t plen = strlen(path), i;

    if (!plen)
        return 2;
    i = lower_bound(v, path, plen);
    if (i < v->n_state && !strcmp(v->state[i].logical_path, path)) {
        if (ret_entry)
            *ret_entry = &v->state[i];
        return 1;
    }
    return first_under(v, path, plen) < v->n_state ? 2 : 0;
}

size_t mount_tree_first(const struct ocfl_version *v, const char *dir)
{
    size_t dlen = strlen(dir);

    return dlen ? first_under(v, dir, dlen) : 0;
}

int mount_tree_child(const struct ocfl_version *v, const char *dir, size_t pos, char *name,
                     size_t size, int *ret_is_dir, size_t *ret_next)
{
    size_t dlen = strlen(dir), nlen;
    const char *p, *rest, *slash;
    char key[4096];
    int k;

    if (pos >= v->n_state)
        return 0;
    p = v->state[pos].logical_path;
    if (!under(p, dir, dlen))
        return 0;
    rest = p + (dlen ? dlen + 1 : 0);
    slash = strchr(rest, '/');
    if (!slash) {
        *ret_is_dir = 0;
        *ret_next = pos + 1;
        nlen = strlen(rest);
    } else {
        nlen = (size_t)(slash - rest);
        *ret_is_dir = 1;
        /* skip the whole subtree: everything < prefix + name + '0' ('/' + 1) */
        k = snprintf(key, sizeof(key), "%.*s0", (int)(slash - p), p);
        if (k < 0 || (size_t)k >= sizeof(key)) {
            size_t j = pos + 1;
            while (j < v->n_state && !strncmp(v->state[j].logical_path, p, (size_t)(slash - p) + 1))
                j++;
            *ret_next = j;
        } else {
            *ret_next = lower_bound(v, key, (size_t)k);
        }
    }
    if (nlen + 1 > size || nlen > 255)
        return -ENAMETOOLONG;
    memcpy(name, rest, nlen);
    name[nlen] = '\0';
    return 1;
}

unsigned mount_tree_subdirs(const struct ocfl_version *v, const char *dir)
{
    char name[256];
    size_t pos = mount_tree_first(v, dir), next;
    unsigned n = 0;
    int is_dir, r;

    while ((r = mount_tree_child(v, dir, pos, name, sizeof(name), &is_dir, &next)) != 0) {
        if (is_dir)
            n++;
        pos = next;
    }
    return n;
}

unsigned mount_tree_introduced(const struct ocfl_inventory *inv, unsigned num, const char *path)
{
    const struct ocfl_version *v = ocfl_inventory_version(inv, num);
    const struct ocfl_state_entry *e;

    if (!v || !(e = ocfl_version_lookup(v, path)))
        return num;
    while (num > 1) {
        const struct ocfl_version *prev = ocfl_inventory_version(inv, num - 1);
        const struct ocfl_state_entry *pe = prev ? ocfl_version_lookup(prev, path) : NULL;
        if (!pe || !ocfl_digest_equal(pe->digest, e->digest))
            break;
        num--;
    }
    return num;
}

static int digits(const char **s, int n, int *ret)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if ((*s)[i] < '0' || (*s)[i] > '9')
            return -EINVAL;
        v = v * 10 + ((*s)[i] - '0');
    }
    *s += n;
    *ret = v;
    return 0;
}

int mount_parse_time(const char *text, struct timespec *ts)
{
    const char *s = text;
    int Y, M, D, h, mi, sec, off = 0;
    long nsec = 0;
    struct tm tm = {0};
    time_t t;

    if (digits(&s, 4, &Y) || *s++ != '-' || digits(&s, 2, &M) || *s++ != '-' || digits(&s, 2, &D) ||
        (*s != 'T' && *s != 't' && *s != ' '))
        return -EINVAL;
    s++;
    if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' ||
        digits(&s, 2, &sec))
        return -EINVAL;
    if (*s == '.') {
        long scale = 100000000;
        s++;
        if (*s < '0' || *s > '9')
            return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
            nsec += (*s - '0') * scale;
            scale /= 10;
        }
    }
    if (*s == 'Z' || *s == 'z') {
        s++;
    } else if (*s == '+' || *s == '-') {
        int sign = *s == '-' ? -1 : 1, oh, om;
        s++;
        if (digits(&s, 2, &oh) || *s++ != ':' || digits(&s, 2, &om))
            return -EINVAL;
        off = sign * (oh * 3600 + om * 60);
    } else {
        return -EINVAL;
    }
    if (*s || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || mi > 59 || sec > 60)
        return -EINVAL;
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    ts->tv_sec = t - off;
    ts->tv_nsec = nsec;
    return 0;
}
