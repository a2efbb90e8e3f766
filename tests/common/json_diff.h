/* json_diff.h: does ocfl's json_doc parser agree with jansson on a text?  (tests only) */
#ifndef OCFLFS_JSON_DIFF_H
#define OCFLFS_JSON_DIFF_H

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "json_doc.h"

static int json_diff_node_(const struct json_doc *d, json_ref r, const json_t *j, const char **why)
{
    switch (d->nodes[r].kind) {
    case JSON_K_OBJECT: {
        const char *key;
        json_ref val;
        if (!json_is_object(j) || json_object_size(j) != d->nodes[r].n)
            return *why = "object differs", -1;
        JSON_DOC_FOREACH_MEMBER(d, r, k, key, val)
        {
            const json_t *jv = json_object_get(j, key);
            if (!jv)
                return *why = "object key missing in jansson", -1;
            if (json_diff_node_(d, val, jv, why) < 0)
                return -1;
        }
        return 0;
    }
    case JSON_K_ARRAY: {
        size_t i = 0;
        if (!json_is_array(j) || json_array_size(j) != d->nodes[r].n)
            return *why = "array differs", -1;
        JSON_DOC_FOREACH_ELEMENT(d, r, el)
        {
            if (json_diff_node_(d, el, json_array_get(j, i++), why) < 0)
                return -1;
        }
        return 0;
    }
    case JSON_K_STRING:
        if (!json_is_string(j) || json_string_length(j) != d->nodes[r].n ||
            memcmp(json_string_value(j), d->nodes[r].s, d->nodes[r].n) ||
            d->nodes[r].s[d->nodes[r].n] != '\0')
            return *why = "string differs", -1;
        return 0;
    case JSON_K_NUMBER:
        return json_is_number(j) ? 0 : (*why = "number differs", -1);
    case JSON_K_TRUE:
        return json_is_true(j) ? 0 : (*why = "true differs", -1);
    case JSON_K_FALSE:
        return json_is_false(j) ? 0 : (*why = "false differs", -1);
    case JSON_K_NULL:
        return json_is_null(j) ? 0 : (*why = "null differs", -1);
    }
    return *why = "unknown kind", -1;
}

static int json_diff(const char *buf, size_t len, const char **why);

/*
 * jansson 2.14 drops a NUL byte that directly follows a number or a keyword
 * ("[1\0]" parses as [1]); json_doc rejects every NUL outside a string, as
 * RFC 8259 does.  Such a text agrees when json_doc rejects it and accepts it,
 * with jansson's tree, once its NUL bytes are gone (jansson accepts no NUL
 * inside a string, so all of them were outside).
 */
static int json_diff_nul_(const char *buf, size_t len, const char **why)
{
    char *stripped = malloc(len ? len : 1);
    size_t n = 0;
    int r;

    if (!stripped)
        return 0;
    for (size_t i = 0; i < len; i++)
        if (buf[i])
            stripped[n++] = buf[i];
    r = n < len ? json_diff(stripped, n, why)
                : (*why = "json_doc rejects what jansson accepts", -1);
    free(stripped);
    return r;
}

/*
 * 0 when json_doc_parse() and jansson (JSON_REJECT_DUPLICATES |
 * JSON_DECODE_INT_AS_REAL, as the inventory checker used it) both reject
 * @buf or both accept it with the same tree; -1 with a reason in *why.
 * An allocation failure on either side counts as agreement; so does a NUL
 * byte that only jansson lets through (json_diff_nul_).
 */
static int json_diff(const char *buf, size_t len, const char **why)
{
    struct json_doc *d = NULL;
    json_error_t jerr;
    json_t *j = json_loadb(buf, len, JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL, &jerr);
    char msg[200];
    int r = json_doc_parse(buf, len, &d, msg, sizeof(msg)), out = 0;

    *why = "";
    if (r == -ENOMEM || (!j && json_error_code(&jerr) == json_error_out_of_memory))
        out = 0;
    else if (j && !d && memchr(buf, 0, len))
        out = json_diff_nul_(buf, len, why);
    else if (!j != !d)
        out = -1, *why = j ? "json_doc rejects what jansson accepts"
                           : "json_doc accepts what jansson rejects";
    else if (j)
        out = json_diff_node_(d, json_doc_root(d), j, why);
    json_decref(j);
    json_doc_free(d);
    return out;
}

#endif
