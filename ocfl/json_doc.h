/* json_doc.h: a strict, read-only JSON document parsed in one pass (not a public contract). */
#ifndef OCFL_JSON_DOC_H
#define OCFL_JSON_DOC_H

#include <stddef.h>
#include <stdint.h>

/*
 * Inventories of large objects are tens of megabytes of JSON.  A general
 * tree (jansson: one allocation and one hash table per object) costs about a
 * second for 100,000 files; this document is a flat array of nodes and one
 * buffer of decoded strings, built in a single pass.
 *
 * It accepts what jansson's json_loadb() accepts with
 * JSON_REJECT_DUPLICATES | JSON_DECODE_INT_AS_REAL (the differential fuzz
 * target checks that): RFC 8259 text whose top level is an object or an
 * array, strict UTF-8, no "\u0000", no duplicate keys in an object, nesting
 * no deeper than 2048, numbers that fit a double.  One difference: a NUL
 * byte right after a number or a keyword is an error here, while jansson
 * 2.14 drops it.
 *
 * Nodes are named by their index (a json_ref).  An object's members are
 * (key, value) pairs: the key is a string node, its value the next node.
 */

typedef uint32_t json_ref;
#define JSON_NONE ((json_ref)UINT32_MAX)

enum json_kind {
    JSON_K_OBJECT,
    JSON_K_ARRAY,
    JSON_K_STRING,
    JSON_K_NUMBER,
    JSON_K_TRUE,
    JSON_K_FALSE,
    JSON_K_NULL,
};

struct json_node {
    uint8_t kind;  /* enum json_kind */
    uint32_t n;    /* members or elements of a container; bytes of a string */
    json_ref next; /* the next sibling (next key in an object), JSON_NONE for the last */
    const char *s; /* a string's decoded bytes, NUL-terminated; NULL otherwise */
};

struct json_doc {
    struct json_node *nodes;
    size_t n_nodes;
    char *strings; /* decoded strings, each NUL-terminated */
};

/*
 * Parse @len bytes of @buf.  0 with *ret a new document (json_doc_free());
 * -EBADMSG when the text is not accepted, with a message of at most
 * @msg_size bytes in @msg ("line 3: ...", @msg may be NULL); -ENOMEM;
 * -EFBIG when the text has more nodes than a json_ref can name.
 */
int json_doc_parse(const char *buf, size_t len, struct json_doc **ret, char *msg, size_t msg_size);

void json_doc_free(struct json_doc *doc);

/* The top-level value (always node 0). */
static inline json_ref json_doc_root(const struct json_doc *d)
{
    (void)d;
    return 0;
}

static inline int json_doc_is(const struct json_doc *d, json_ref r, enum json_kind k)
{
    return r != JSON_NONE && d->nodes[r].kind == k;
}

/* Members of an object, elements of an array; 0 for anything else or JSON_NONE. */
static inline size_t json_doc_size(const struct json_doc *d, json_ref r)
{
    if (r == JSON_NONE || (d->nodes[r].kind != JSON_K_OBJECT && d->nodes[r].kind != JSON_K_ARRAY))
        return 0;
    return d->nodes[r].n;
}

/* A string node's text, or NULL when @r is not a string (or JSON_NONE). */
static inline const char *json_doc_str(const struct json_doc *d, json_ref r)
{
    return json_doc_is(d, r, JSON_K_STRING) ? d->nodes[r].s : NULL;
}

/* The first element of an array or the first key of an object; JSON_NONE when empty. */
static inline json_ref json_doc_first(const struct json_doc *d, json_ref r)
{
    return json_doc_size(d, r) ? r + 1 : JSON_NONE;
}

/* The next element, or the next key after key @r; JSON_NONE at the end. */
static inline json_ref json_doc_next(const struct json_doc *d, json_ref r)
{
    return d->nodes[r].next;
}

/* Iterate over the members of object @obj: @key is the key's text, @val the value's ref. */
#define JSON_DOC_FOREACH_MEMBER(d, obj, kref, key, val)                                            \
    for (json_ref kref = json_doc_is(d, obj, JSON_K_OBJECT) ? json_doc_first(d, obj) : JSON_NONE;  \
         kref != JSON_NONE && ((key) = (d)->nodes[kref].s, (val) = kref + 1, 1);                   \
         kref = json_doc_next(d, kref))

/* Iterate over the elements of array @arr. */
#define JSON_DOC_FOREACH_ELEMENT(d, arr, el)                                                       \
    for (json_ref el = json_doc_is(d, arr, JSON_K_ARRAY) ? json_doc_first(d, arr) : JSON_NONE;     \
         el != JSON_NONE; el = json_doc_next(d, el))

/* The value of member @key of object @obj (linear: meant for small objects), or JSON_NONE. */
json_ref json_doc_get(const struct json_doc *d, json_ref obj, const char *key);

#endif
