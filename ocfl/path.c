/* path.c: the spec's rules for logical and content paths, UTF-8, path conflicts. */
#include "path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

size_t ocfl_utf8_char_len(const char *str, size_t avail)
{
    const unsigned char *s = (const unsigned char *)str;
    unsigned int cp;
    size_t n;

    if (!avail || s[0] == 0)
        return 0;
    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        n = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        n = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        n = 4;
        cp = s[0] & 0x07;
    } else {
        return 0; /* continuation byte, overlong 2-byte lead, or beyond U+10FFFF */
    }
    if (avail < n)
        return 0;
    for (size_t k = 1; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[k] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000)) /* overlong */
        return 0;
    if (cp >= 0xd800 && cp <= 0xdfff) /* UTF-16 surrogate */
        return 0;
    if (cp > 0x10ffff)
        return 0;
    return n;
}

int ocfl_utf8_valid(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len) {
        size_t n = ocfl_utf8_char_len(s + i, len - i);
        if (!n)
            return 0;
        i += n;
    }
    return 1;
}

int ocfl_hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

enum ocfl_path_problem ocfl_path_check(const char *path)
{
    size_t len;
    const char *p;

    if (!path || !*path)
        return OCFL_PATH_EMPTY;
    len = strlen(path);
    if (!ocfl_utf8_valid(path, len))
        return OCFL_PATH_ENCODING;
    if (path[0] == '/' || path[len - 1] == '/')
        return OCFL_PATH_SLASH;
    p = path;
    for (;;) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return OCFL_PATH_ELEMENT;
        if (!slash)
            break;
        p = slash + 1;
    }
    return OCFL_PATH_OK;
}

/*
 * Order paths byte-wise but with '/' below every other byte, so that every
 * path starting with "a/b/" sorts right after "a/b" and before "a/b-x":
 * then any conflict is between neighbours.
 */
static int path_cmp(const char *a, const char *b)
{
    for (;; a++, b++) {
        int x = (unsigned char)*a, y = (unsigned char)*b;
        if (x == y) {
            if (!x)
                return 0;
            continue;
        }
        if (!x)
            return -1;
        if (!y)
            return 1;
        x = x == '/' ? 1 : x + 1;
        y = y == '/' ? 1 : y + 1;
        return x - y;
    }
}

static int cmp_ptr(const void *a, const void *b)
{
    return path_cmp(**(const char *const *const *)a, **(const char *const *const *)b);
}

int ocfl_paths_find_conflict(const char *const *paths, size_t n, size_t *ret_a, size_t *ret_b)
{
    const char *const **order;
    int found = 0;

    if (n < 2)
        return 0;
    order = malloc(n * sizeof(*order));
    if (!order)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++)
        order[i] = &paths[i];
    qsort(order, n, sizeof(*order), cmp_ptr);
    for (size_t i = 0; i + 1 < n && !found; i++) {
        const char *a = *order[i], *b = *order[i + 1];
        size_t la = strlen(a);
        if (!strcmp(a, b) || (!strncmp(a, b, la) && b[la] == '/')) {
            if (ret_a)
                *ret_a = (size_t)(order[i] - paths);
            if (ret_b)
                *ret_b = (size_t)(order[i + 1] - paths);
            found = 1;
        }
    }
    free(order);
    return found;
}
