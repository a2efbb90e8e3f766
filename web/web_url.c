/* web_url.c: percent-decoding and the checks every value from a URL goes through. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "web_url.h"

static int hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int web_utf8_valid(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + len;

    while (p < end) {
        unsigned c = *p++, n, cp, min;
        if (c < 0x80)
            continue;
        if ((c & 0xe0) == 0xc0)
            n = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            n = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            n = 3, cp = c & 0x07, min = 0x10000;
        else
            return 0;
        if ((size_t)(end - p) < n)
            return 0;
        for (unsigned i = 0; i < n; i++, p++) {
            if ((*p & 0xc0) != 0x80)
                return 0;
            cp = cp << 6 | (*p & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return 0;
    }
    return 1;
}

int web_url_decode(const char *in, size_t len, int plus, char **ret)
{
    char *out;
    size_t n = 0;

    if (len > 3 * WEB_VALUE_MAX)
        return -E2BIG;
    if (!(out = malloc(len + 1)))
        return -ENOMEM;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)in[i];
        if (c == '%') {
            int hi = i + 2 < len ? hexval(in[i + 1]) : -1;
            int lo = i + 2 < len ? hexval(in[i + 2]) : -1;
            if (hi < 0 || lo < 0) {
                free(out);
                return -EINVAL;
            }
            c = hi << 4 | lo;
            i += 2;
        } else if (c == '+' && plus) {
            c = ' ';
        }
        /* no NUL, no control characters (a tab is fine) */
        if (c == 0 || (c < 0x20 && c != '\t') || c == 0x7f) {
            free(out);
            return -EINVAL;
        }
        out[n++] = (char)c;
    }
    out[n] = 0;
    if (n > WEB_VALUE_MAX || !web_utf8_valid(out, n)) {
        free(out);
        return n > WEB_VALUE_MAX ? -E2BIG : -EINVAL;
    }
    *ret = out;
    return 0;
}

/* Whether @path is @dir or below it. */
static int under(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    while (n && dir[n - 1] == '/')
        n--;
    return n && !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

int web_object_path_ok(const char *path, const char *state_rel)
{
    const char *p = path;

    if (!*path || *path == '/')
        return 0;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t n = slash ? (size_t)(slash - p) : strlen(p);
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return 0;
        p += n;
        if (*p == '/' && !*++p)
            return 0; /* a trailing slash: an empty last segment */
    }
    if (under(path, "extensions") || (state_rel && under(path, state_rel)))
        return 0;
    return 1;
}

/* Whether @host is "@name:@port" (ASCII case ignored), or @name alone when @port is 80. */
static int host_is(const char *host, const char *name, size_t nlen, const char *port)
{
    size_t hl = strlen(host);

    if (hl < nlen || strncasecmp(host, name, nlen))
        return 0;
    if (hl == nlen)
        return !strcmp(port, "80");
    return host[nlen] == ':' && !strcmp(host + nlen + 1, port);
}

int web_host_ok(const char *host, const char *url)
{
    const char *h, *colon, *end;
    char port[8];

    if (!host || strncmp(url, "http://", 7))
        return 0;
    h = url + 7;
    if (!(end = strchr(h, '/')) || !(colon = memrchr(h, ':', (size_t)(end - h))) ||
        (size_t)(end - colon - 1) >= sizeof(port))
        return 0;
    memcpy(port, colon + 1, (size_t)(end - colon - 1));
    port[end - colon - 1] = 0;
    return host_is(host, "127.0.0.1", 9, port) || host_is(host, "localhost", 9, port) ||
           host_is(host, "[::1]", 5, port) || host_is(host, h, (size_t)(colon - h), port);
}
