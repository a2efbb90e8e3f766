/* test_json_doc.c: the inventory's JSON parser accepts what jansson accepts, with the same tree. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "json_diff.h"
#include "json_doc.h"

/* Texts around every rule of the grammar; each must get jansson's verdict. */
static const char *const texts[] = {
    "{}",
    "[]",
    " \t\r\n{ } \n",
    "{\"a\":1}",
    "[1,2,3]",
    "[true,false,null]",
    "",
    " ",
    "1",
    "\"s\"",
    "true",
    "null", /* a top level that is not a container */
    "{} x",
    "{}{}",
    "[1,]",
    "[,1]",
    "{\"a\":1,}",
    "{,}", /* trailing and missing values */
    "{\"a\" 1}",
    "{\"a\":}",
    "{a:1}",
    "{'a':1}",
    "[1 2]",
    "{\"a\":1 \"b\":2}",
    "[01]",
    "[-0]",
    "[-01]",
    "[1.]",
    "[.5]",
    "[1e]",
    "[1e+]",
    "[1E-2]",
    "[-]",
    "[+1]",
    "[0.5e10]",
    "[1e308]",
    "[1e309]",
    "[-1e309]",
    "[1e-400]",
    "[123456789012345678901234567890]",
    "[tru]",
    "[truex]",
    "[True]",
    "[nul]",
    "[NaN]",
    "[Infinity]",
    "[\"\\u0041\"]",
    "[\"\\u00e9\"]",
    "[\"\\u20AC\"]",
    "[\"\\ud83d\\ude00\"]",
    "[\"\\ud83d\"]",
    "[\"\\ude00\"]",
    "[\"\\ud83d\\u0041\"]",
    "[\"\\u0000\"]",
    "[\"\\u00\"]",
    "[\"\\uZZZZ\"]",
    "[\"\\x\"]",
    "[\"\\/\\b\\f\\n\\r\\t\\\\\\\"\"]",
    "[\"a\tb\"]",
    "[\"a\nb\"]",
    "[\"\x01\"]",
    "[\"\x7f\"]",
    "[\"\xc3\xa9\"]",
    "[\"\xc3\"]",
    "[\"\xc0\xaf\"]",
    "[\"\xe0\x80\xaf\"]",
    "[\"\xed\xa0\x80\"]",
    "[\"\xf4\x8f\xbf\xbf\"]",
    "[\"\xf4\x90\x80\x80\"]",
    "[\"\xff\"]",
    "[\"\xef\xbb\xbf\"]",
    "\xef\xbb\xbf{}",
    "[\"unterminated]",
    "[\"a\\",
    "{\"a\":1,\"a\":2}",
    "{\"a\":{\"b\":1,\"b\":1}}",
    "{\"a\":1,\"A\":2}",
    "{\"\":1}",
    "{\"\":1,\"\":2}",
    "[{}]",
    "[[[]]]",
    "{\"a\":[{\"b\":[]}]}",
    "[\"\\u00e9\",\"\xc3\xa9\"]",
};

static char *repeat(const char *open, const char *close, size_t n)
{
    size_t lo = strlen(open), lc = strlen(close);
    char *s = malloc(n * (lo + lc) + 1), *p = s;
    if (!s)
        return NULL;
    for (size_t i = 0; i < n; i++, p += lo)
        memcpy(p, open, lo);
    for (size_t i = 0; i < n; i++, p += lc)
        memcpy(p, close, lc);
    *p = '\0';
    return s;
}

/* An object of @n members whose keys are "k0".."k(n-1)", and "k0" again when @dup. */
static char *big_object(size_t n, int dup)
{
    char *s = malloc(n * 24 + 32), *p = s;
    if (!s)
        return NULL;
    *p++ = '{';
    for (size_t i = 0; i < n; i++)
        p += sprintf(p, "%s\"k%zu\":%zu", i ? "," : "", i, i);
    if (dup)
        p += sprintf(p, ",\"k0\":0");
    strcpy(p, "}");
    return s;
}

int main(void)
{
    const char *why;
    struct json_doc *d;
    char msg[200];

    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        int r = json_diff(texts[i], strlen(texts[i]), &why);
        CHECK_AT_(r == 0, "agrees with jansson", "text %zu '%s': %s", i, texts[i], why);
    }
    /* a NUL byte inside the text, in a string and between tokens */
    CHECK(json_diff("[\"a\0b\"]", 7, &why) == 0);
    CHECK(json_diff("[1,\0 2]", 7, &why) == 0);
    /* a NUL right after a number or a keyword: jansson drops it, json_doc refuses it */
    CHECK_INT(json_doc_parse("[1\0]", 4, &d, msg, sizeof(msg)), -EBADMSG);
    CHECK_INT(json_doc_parse("{\"a\":true\0}", 11, &d, msg, sizeof(msg)), -EBADMSG);
    CHECK(json_diff("[1\0]", 4, &why) == 0);
    CHECK(json_diff("{\"hmm\":456789\0}", 15, &why) == 0);

    /* nesting: jansson allows 2048 levels, values included */
    for (size_t n = 2046; n <= 2049; n++) {
        char *deep = repeat("[", "]", n), *deep1 = repeat("[", "]", n);
        CHECK(deep && json_diff(deep, strlen(deep), &why) == 0);
        /* the same depth with a scalar innermost */
        if (deep1) {
            char *inner = malloc(strlen(deep1) + 2);
            memcpy(inner, deep1, n);
            inner[n] = '1';
            strcpy(inner + n + 1, deep1 + n);
            CHECK(json_diff(inner, strlen(inner), &why) == 0);
            free(inner);
        }
        free(deep);
        free(deep1);
    }

    /* duplicate keys in small and in hashed (large) objects, and none */
    for (size_t n = 2; n <= 40; n += 19) {
        char *ok = big_object(n, 0), *dup = big_object(n, 1);
        CHECK(json_doc_parse(ok, strlen(ok), &d, msg, sizeof(msg)) == 0);
        CHECK(d && d->nodes[0].n == n);
        json_doc_free(d);
        CHECK_INT(json_doc_parse(dup, strlen(dup), &d, msg, sizeof(msg)), -EBADMSG);
        CHECK(strstr(msg, "duplicate object key 'k0'") != NULL);
        CHECK(json_diff(ok, strlen(ok), &why) == 0 && json_diff(dup, strlen(dup), &why) == 0);
        free(ok);
        free(dup);
    }

    /* the tree: members in order, decoded strings, lookups */
    const char *t = "{\"id\":\"x\\u00e9\",\"n\":[1,\"two\",{}],\"e\":\"\"}\n";
    CHECK_INT(json_doc_parse(t, strlen(t), &d, msg, sizeof(msg)), 0);
    if (d) {
        json_ref n = json_doc_get(d, json_doc_root(d), "n"), el;
        CHECK_STR(json_doc_str(d, json_doc_get(d, json_doc_root(d), "id")), "x\xc3\xa9");
        CHECK_STR(json_doc_str(d, json_doc_get(d, json_doc_root(d), "e")), "");
        CHECK(json_doc_get(d, json_doc_root(d), "missing") == JSON_NONE);
        CHECK_INT(json_doc_size(d, n), 3);
        el = json_doc_first(d, n);
        CHECK(json_doc_is(d, el, JSON_K_NUMBER));
        el = json_doc_next(d, el);
        CHECK_STR(json_doc_str(d, el), "two");
        el = json_doc_next(d, el);
        CHECK(json_doc_is(d, el, JSON_K_OBJECT) && json_doc_size(d, el) == 0);
        CHECK(json_doc_next(d, el) == JSON_NONE);
        CHECK(json_doc_str(d, n) == NULL);
    }
    json_doc_free(d);

    /* errors name the line */
    CHECK_INT(json_doc_parse("{\n\"a\":\n[1,,2]}", 14, &d, msg, sizeof(msg)), -EBADMSG);
    CHECK(d == NULL);
    CHECK(strncmp(msg, "line 3: ", 8) == 0);
    return check_done();
}
