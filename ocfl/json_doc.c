/* json_doc.c: a strict one-pass JSON parser into a flat node array (for large inventories). */
#include "json_doc.h"
#include "path.h"

#include <errno.h>
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jansson's JSON_PARSER_MAX_DEPTH: every value, scalars too, counts one level. */
#define MAX_DEPTH 2048
/* Objects up to this many members are checked for duplicate keys pairwise. */
#define SMALL_OBJECT 16

struct parser {
    const char *buf, *p, *end;
    struct json_node *nodes;
    size_t n_nodes, cap_nodes;
    char *out;       /* next free byte of the string buffer */
    json_ref *table; /* duplicate-key hash table, reused */
    size_t table_cap;
    int depth;
    int err; /* 0, -EBADMSG, -ENOMEM or -EFBIG */
    char *msg;
    size_t msg_size;
};

static void fail_at(struct parser *ps, const char *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void fail_at(struct parser *ps, const char *at, const char *fmt, ...)
{
    size_t line = 1;
    va_list ap;
    int k;

    if (ps->err)
        return;
    ps->err = -EBADMSG;
    if (!ps->msg || !ps->msg_size)
        return;
    for (const char *q = ps->buf; q < at && q < ps->end; q++)
        line += *q == '\n';
    k = snprintf(ps->msg, ps->msg_size, "line %zu: ", line);
    if (k < 0 || (size_t)k >= ps->msg_size)
        return;
    va_start(ap, fmt);
    vsnprintf(ps->msg + k, ps->msg_size - (size_t)k, fmt, ap); /* truncation is fine */
    va_end(ap);
}

static json_ref new_node(struct parser *ps, enum json_kind kind)
{
    struct json_node *nd;

    if (ps->n_nodes == ps->cap_nodes) {
        size_t cap = ps->cap_nodes * 2;
        struct json_node *nodes;

        if (cap >= JSON_NONE) {
            if (ps->n_nodes >= JSON_NONE - 1) {
                ps->err = -EFBIG;
                return JSON_NONE;
            }
            cap = JSON_NONE - 1;
        }
        nodes = realloc(ps->nodes, cap * sizeof(*nodes));
        if (!nodes) {
            ps->err = -ENOMEM;
            return JSON_NONE;
        }
        ps->nodes = nodes;
        ps->cap_nodes = cap;
    }
    nd = &ps->nodes[ps->n_nodes];
    nd->kind = (uint8_t)kind;
    nd->n = 0;
    nd->next = JSON_NONE;
    nd->s = NULL;
    return (json_ref)ps->n_nodes++;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '\t'))
        ps->p++;
}

/* Four hex digits at @p (bounds checked by the caller); -1 when not. */
static long hex4(const char *p)
{
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int h = ocfl_hex_value((unsigned char)p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

static char *put_utf8(char *o, unsigned long cp)
{
    if (cp < 0x80) {
        *o++ = (char)cp;
    } else if (cp < 0x800) {
        *o++ = (char)(0xC0 | (cp >> 6));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        *o++ = (char)(0xE0 | (cp >> 12));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    } else {
        *o++ = (char)(0xF0 | (cp >> 18));
        *o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
        *o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
        *o++ = (char)(0x80 | (cp & 0x3F));
    }
    return o;
}

/* A "\u" escape at ps->p (just after the backslash and 'u'); appends its UTF-8. */
static int unicode_escape(struct parser *ps, char **o)
{
    const char *at = ps->p - 2;
    long cp, lo;

    if (ps->end - ps->p < 4 || (cp = hex4(ps->p)) < 0) {
        fail_at(ps, at, "invalid \\u escape");
        return -1;
    }
    ps->p += 4;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (ps->end - ps->p < 6 || ps->p[0] != '\\' || ps->p[1] != 'u' ||
            (lo = hex4(ps->p + 2)) < 0 || lo < 0xDC00 || lo > 0xDFFF) {
            fail_at(ps, at, "invalid Unicode '\\u%04lX' (a lone surrogate)", cp);
            return -1;
        }
        ps->p += 6;
        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
        fail_at(ps, at, "invalid Unicode '\\u%04lX' (a lone surrogate)", cp);
        return -1;
    } else if (cp == 0) {
        fail_at(ps, at, "\\u0000 is not allowed");
        return -1;
    }
    *o = put_utf8(*o, (unsigned long)cp);
    return 0;
}

/* A string at ps->p (the opening quote) decoded into ps->out; its node, or JSON_NONE. */
static json_ref parse_string(struct parser *ps)
{
    const char *start = ps->p;
    char *o = ps->out, *s = ps->out;
    json_ref r;

    ps->p++;
    for (;;) {
        const char *q = ps->p;
        /* the common case: a run of printable ASCII */
        while (q < ps->end && (unsigned char)*q >= 0x20 && (unsigned char)*q < 0x80 && *q != '"' &&
               *q != '\\')
            q++;
        memcpy(o, ps->p, (size_t)(q - ps->p));
        o += q - ps->p;
        ps->p = q;
        if (q == ps->end) {
            fail_at(ps, start, "premature end of input in a string");
            return JSON_NONE;
        }
        unsigned char c = (unsigned char)*q;
        if (c == '"') {
            ps->p++;
            break;
        }
        if (c < 0x20) {
            fail_at(ps, q, "control character 0x%x in a string", c);
            return JSON_NONE;
        }
        if (c >= 0x80) {
            size_t n = ocfl_utf8_char_len(q, (size_t)(ps->end - q));
            if (!n) {
                fail_at(ps, q, "invalid UTF-8 in a string");
                return JSON_NONE;
            }
            memcpy(o, q, n);
            o += n;
            ps->p += n;
            continue;
        }
        /* a backslash */
        if (ps->end - q < 2) {
            fail_at(ps, start, "premature end of input in a string");
            return JSON_NONE;
        }
        ps->p += 2;
        switch (q[1]) {
        case '"':
        case '\\':
        case '/':
            *o++ = q[1];
            break;
        case 'b':
            *o++ = '\b';
            break;
        case 'f':
            *o++ = '\f';
            break;
        case 'n':
            *o++ = '\n';
            break;
        case 'r':
            *o++ = '\r';
            break;
        case 't':
            *o++ = '\t';
            break;
        case 'u':
            if (unicode_escape(ps, &o) < 0)
                return JSON_NONE;
            break;
        default:
            fail_at(ps, q, "invalid escape '\\%c'", q[1]);
            return JSON_NONE;
        }
    }
    *o++ = '\0';
    ps->out = o;
    r = new_node(ps, JSON_K_STRING);
    if (r == JSON_NONE)
        return JSON_NONE;
    ps->nodes[r].s = s;
    ps->nodes[r].n = (uint32_t)(o - 1 - s);
    return r;
}

static int is_digit(const char *p, const char *end)
{
    return p < end && *p >= '0' && *p <= '9';
}

static locale_t c_locale;
static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;

static void c_locale_init(void)
{
    c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

/* Whether the number text overflows a double, read in the C locale whatever the process's is. */
static int overflows(const char *text)
{
    double v;

    pthread_once(&c_locale_once, c_locale_init);
    if (!c_locale)
        return 0; /* cannot tell; every such number is an error in an inventory anyway */
    v = strtod_l(text, NULL, c_locale);
    return isinf(v);
}

static json_ref parse_number(struct parser *ps)
{
    int may_overflow = 0;
    const char *start = ps->p, *p = ps->p, *end = ps->end;
    char small[64], *text = small;
    int v;

    if (p < end && *p == '-')
        p++;
    if (!is_digit(p, end))
        goto bad;
    if (*p == '0') {
        p++;
        if (is_digit(p, end))
            goto bad;
    } else {
        const char *first = p;
        while (is_digit(p, end))
            p++;
        may_overflow = p - first > 300;
    }
    if (p < end && *p == '.') {
        p++;
        if (!is_digit(p, end))
            goto bad;
        while (is_digit(p, end))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (!is_digit(p, end))
            goto bad;
        while (is_digit(p, end))
            p++;
        may_overflow = 1;
    }
    ps->p = p;
    if (!may_overflow)
        return new_node(ps, JSON_K_NUMBER);
    /* Like jansson (integers read as reals): a number too large for a double is an error. */
    if ((size_t)(p - start) >= sizeof(small)) {
        text = malloc((size_t)(p - start) + 1);
        if (!text) {
            ps->err = -ENOMEM;
            return JSON_NONE;
        }
    }
    memcpy(text, start, (size_t)(p - start));
    text[p - start] = '\0';
    v = overflows(text);
    if (text != small)
        free(text);
    if (v) {
        fail_at(ps, start, "real number overflow");
        return JSON_NONE;
    }
    return new_node(ps, JSON_K_NUMBER);
bad:
    fail_at(ps, start, "invalid number");
    return JSON_NONE;
}

static json_ref parse_word(struct parser *ps)
{
    static const struct {
        const char *word;
        size_t len;
        enum json_kind kind;
    } words[] = {{"true", 4, JSON_K_TRUE}, {"false", 5, JSON_K_FALSE}, {"null", 4, JSON_K_NULL}};
    const char *p = ps->p;
    size_t n = 0;

    /* the whole run of letters is one token, so "truex" is invalid rather than "true" */
    while (p + n < ps->end && ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z')))
        n++;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        if (n == words[i].len && !memcmp(p, words[i].word, n)) {
            ps->p += n;
            return new_node(ps, words[i].kind);
        }
    }
    fail_at(ps, p, "invalid token");
    return JSON_NONE;
}

static uint64_t hash_bytes(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

static int same_key(const struct json_node *a, const struct json_node *b)
{
    return a->n == b->n && !memcmp(a->s, b->s, a->n);
}

/* After an object's last member: fail on the first key that occurs twice. */
static int check_duplicates(struct parser *ps, json_ref obj)
{
    struct json_node *nd = ps->nodes;
    size_t n = nd[obj].n, cap = 16, mask;

    if (n < 2)
        return 0;
    if (n <= SMALL_OBJECT) {
        for (json_ref a = obj + 1; a != JSON_NONE; a = nd[a].next)
            for (json_ref b = nd[a].next; b != JSON_NONE; b = nd[b].next)
                if (same_key(&nd[a], &nd[b]))
                    goto dup_small;
        return 0;
    dup_small:;
    }
    while (cap < 2 * n)
        cap *= 2;
    if (cap > ps->table_cap) {
        json_ref *t = realloc(ps->table, cap * sizeof(*t));
        if (!t) {
            ps->err = -ENOMEM;
            return -1;
        }
        ps->table = t;
        ps->table_cap = cap;
    }
    memset(ps->table, 0xff, cap * sizeof(*ps->table));
    mask = cap - 1;
    for (json_ref k = obj + 1; k != JSON_NONE; k = nd[k].next) {
        size_t i = (size_t)hash_bytes(nd[k].s, nd[k].n) & mask;
        while (ps->table[i] != JSON_NONE) {
            if (same_key(&nd[ps->table[i]], &nd[k])) {
                fail_at(ps, ps->p, "duplicate object key '%.100s'", nd[k].s);
                return -1;
            }
            i = (i + 1) & mask;
        }
        ps->table[i] = k;
    }
    return 0;
}

static json_ref parse_value(struct parser *ps);

static json_ref parse_container(struct parser *ps, int object)
{
    const char close = object ? '}' : ']';
    json_ref self = new_node(ps, object ? JSON_K_OBJECT : JSON_K_ARRAY), prev = JSON_NONE;
    uint32_t count = 0;

    if (self == JSON_NONE)
        return JSON_NONE;
    ps->p++;
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == close) {
        ps->p++;
        return self;
    }
    for (;;) {
        json_ref item;

        skip_ws(ps);
        if (object) {
            if (ps->p >= ps->end || *ps->p != '"') {
                fail_at(ps, ps->p, "string or '}' expected");
                return JSON_NONE;
            }
            item = parse_string(ps);
            if (item == JSON_NONE)
                return JSON_NONE;
            skip_ws(ps);
            if (ps->p >= ps->end || *ps->p != ':') {
                fail_at(ps, ps->p, "':' expected");
                return JSON_NONE;
            }
            ps->p++;
            skip_ws(ps);
            if (parse_value(ps) == JSON_NONE)
                return JSON_NONE;
        } else {
            item = parse_value(ps);
            if (item == JSON_NONE)
                return JSON_NONE;
        }
        if (prev != JSON_NONE)
            ps->nodes[prev].next = item;
        prev = item;
        if (count == UINT32_MAX) {
            ps->err = -EFBIG;
            return JSON_NONE;
        }
        count++;
        skip_ws(ps);
        if (ps->p < ps->end && *ps->p == ',') {
            ps->p++;
            continue;
        }
        if (ps->p < ps->end && *ps->p == close) {
            ps->p++;
            break;
        }
        fail_at(ps, ps->p, "',' or '%c' expected", close);
        return JSON_NONE;
    }
    ps->nodes[self].n = count;
    if (object && check_duplicates(ps, self) < 0)
        return JSON_NONE;
    return self;
}

static json_ref parse_value(struct parser *ps)
{
    json_ref r;

    if (++ps->depth > MAX_DEPTH) {
        fail_at(ps, ps->p, "maximum parsing depth reached");
        return JSON_NONE;
    }
    if (ps->p >= ps->end) {
        fail_at(ps, ps->p, "premature end of input");
        return JSON_NONE;
    }
    switch (*ps->p) {
    case '{':
        r = parse_container(ps, 1);
        break;
    case '[':
        r = parse_container(ps, 0);
        break;
    case '"':
        r = parse_string(ps);
        break;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9':
        r = parse_number(ps);
        break;
    default:
        r = parse_word(ps);
        break;
    }
    ps->depth--;
    return r;
}

int json_doc_parse(const char *buf, size_t len, struct json_doc **ret, char *msg, size_t msg_size)
{
    struct parser ps = {.buf = buf, .p = buf, .end = buf + len, .msg = msg, .msg_size = msg_size};
    struct json_doc *d = NULL;
    char *strings = NULL;

    *ret = NULL;
    if (msg && msg_size)
        msg[0] = '\0';
    ps.cap_nodes = len / 32 + 16;
    ps.nodes = malloc(ps.cap_nodes * sizeof(*ps.nodes));
    /* decoded strings never outgrow their quoted text: len + 1 always suffices */
    strings = malloc(len + 1);
    d = calloc(1, sizeof(*d));
    if (!ps.nodes || !strings || !d) {
        ps.err = -ENOMEM;
        goto out;
    }
    ps.out = strings;
    skip_ws(&ps);
    /* like jansson without JSON_DECODE_ANY, the top level is an object or an array */
    if (ps.p >= ps.end || (*ps.p != '{' && *ps.p != '[')) {
        fail_at(&ps, ps.p, "'[' or '{' expected");
        goto out;
    }
    if (parse_value(&ps) == JSON_NONE) {
        if (!ps.err)
            ps.err = -ENOMEM; /* not reached: every failure sets err */
        goto out;
    }
    skip_ws(&ps);
    if (ps.p != ps.end) {
        fail_at(&ps, ps.p, "end of input expected");
        goto out;
    }
    d->nodes = ps.nodes;
    d->n_nodes = ps.n_nodes;
    d->strings = strings;
    *ret = d;
    ps.nodes = NULL;
    strings = NULL;
    d = NULL;
out:
    if (ps.err == -ENOMEM && msg && msg_size)
        snprintf(msg, msg_size, "out of memory");
    free(ps.table);
    free(ps.nodes);
    free(strings);
    free(d);
    return ps.err;
}

void json_doc_free(struct json_doc *doc)
{
    if (!doc)
        return;
    free(doc->nodes);
    free(doc->strings);
    free(doc);
}

json_ref json_doc_get(const struct json_doc *d, json_ref obj, const char *key)
{
    const char *k;
    json_ref v;

    JSON_DOC_FOREACH_MEMBER(d, obj, kr, k, v)
    {
        if (!strcmp(k, key))
            return v;
    }
    return JSON_NONE;
}
