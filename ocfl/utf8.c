/* utf8.c: cutting and cleaning UTF-8 text (see utf8.h). */
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

size_t ocfl_utf8_prefix(const char *s, size_t max)
{
    size_t n = strnlen(s, max), back = 0;

    if (n < max || !s[n])
        return n; /* the whole string fits */
    /* s[n] is the first byte left out: while it continues a sequence, leave out its start */
    while (back < 3 && back < n && ((unsigned char)s[n - back] & 0xC0) == 0x80)
        back++;
    if (back && ((unsigned char)s[n - back] & 0xC0) == 0x80)
        return n; /* no lead byte within reach: not UTF-8, cut where asked */
    return back ? n - back : n;
}

/* The length of the valid UTF-8 sequence at @s (at most @n bytes), or 0 when it is none. */
static size_t seq_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    unsigned long cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        len = 2, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        len = 3, cp = c & 0x0F;
    else if (c >= 0xF0 && c <= 0xF4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3F);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
        (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return len;
}

json_t *ocfl_json_string_lossy(const char *s)
{
    json_t *j;
    size_t n, o = 0;
    char *clean;

    if (!s)
        return json_null();
    if ((j = json_string(s)))
        return j;
    n = strlen(s);
    if (!(clean = malloc(n * 3 + 1)))
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t l = seq_len((const unsigned char *)s + i, n - i);
        if (l) {
            memcpy(clean + o, s + i, l);
            o += l, i += l;
        } else {
            memcpy(clean + o, "\xEF\xBF\xBD", 3); /* U+FFFD */
            o += 3, i++;
        }
    }
    clean[o] = 0;
    j = json_string(clean);
    free(clean);
    return j;
}
