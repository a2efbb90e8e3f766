/* layout.c: storage layout extensions 0002, 0003, 0004, 0006, 0007: config and id -> path. */
#include "layout.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digest.h"
#include "json_priv.h"
#include "path.h"

enum kind { FLAT_DIRECT, HASH_AND_ID, HASHED, FLAT_OMIT, NTUPLE_OMIT };

static const char *const names[] = {
    "0002-flat-direct-storage-layout",         "0003-hash-and-id-n-tuple-storage-layout",
    "0004-hashed-n-tuple-storage-layout",      "0006-flat-omit-prefix-storage-layout",
    "0007-n-tuple-omit-prefix-storage-layout", NULL,
};

struct ocfl_layout {
    enum kind kind;
    enum ocfl_digest_alg alg; /* 0003, 0004 */
    int tuple_size, n_tuples; /* 0003, 0004, 0007 */
    bool short_root;          /* 0004 */
    char *delimiter;          /* 0006, 0007 */
    bool pad_right;           /* 0007 */
    bool reverse;             /* 0007 */
};

const char *const *ocfl_layout_names(void)
{
    return names;
}

const char *ocfl_layout_name(const struct ocfl_layout *l)
{
    return l ? names[l->kind] : NULL;
}

void ocfl_layout_free(struct ocfl_layout *l)
{
    if (!l)
        return;
    free(l->delimiter);
    free(l);
}

/* Integer parameter @key in [lo, hi], or leave *val (the default). */
static int get_int(json_t *cfg, const char *key, int lo, int hi, int *val, struct ocfl_err *err)
{
    json_t *v = json_object_get(cfg, key);

    if (!v)
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
        return ocfl_err_set(err, -EINVAL, "%s: must be an integer between %d and %d", key, lo, hi);
    *val = (int)json_integer_value(v);
    return 0;
}

static int get_bool(json_t *cfg, const char *key, bool *val, struct ocfl_err *err)
{
    json_t *v = json_object_get(cfg, key);

    if (!v)
        return 0;
    if (!json_is_boolean(v))
        return ocfl_err_set(err, -EINVAL, "%s: must be true or false", key);
    *val = json_is_true(v);
    return 0;
}

/* String parameter; *ret is borrowed from @cfg or left as the default. */
static int get_str(json_t *cfg, const char *key, const char **ret, struct ocfl_err *err)
{
    json_t *v = json_object_get(cfg, key);

    if (!v)
        return 0;
    if (!json_is_string(v) || !*json_string_value(v))
        return ocfl_err_set(err, -EINVAL, "%s: must be a non-empty string", key);
    *ret = json_string_value(v);
    return 0;
}

static int configure_hash(struct ocfl_layout *l, json_t *cfg, struct ocfl_err *err)
{
    const char *alg = "sha256";
    size_t hexlen;
    int r;

    l->tuple_size = l->n_tuples = 3;
    if ((r = get_str(cfg, "digestAlgorithm", &alg, err)) < 0 ||
        (r = get_int(cfg, "tupleSize", 0, 32, &l->tuple_size, err)) < 0 ||
        (r = get_int(cfg, "numberOfTuples", 0, 32, &l->n_tuples, err)) < 0)
        return r;
    if (l->kind == HASHED && (r = get_bool(cfg, "shortObjectRoot", &l->short_root, err)) < 0)
        return r;
    l->alg = ocfl_digest_alg_from_name(alg);
    hexlen = ocfl_digest_hex_len(l->alg);
    if (hexlen == 0)
        return ocfl_err_set(err, -EINVAL, "digestAlgorithm: unsupported algorithm '%s'", alg);
    if ((l->tuple_size == 0) != (l->n_tuples == 0))
        return ocfl_err_set(err, -EINVAL, "%s: must be 0 when %s is 0",
                            l->tuple_size ? "tupleSize" : "numberOfTuples",
                            l->tuple_size ? "numberOfTuples" : "tupleSize");
    if ((size_t)l->tuple_size * (size_t)l->n_tuples > hexlen)
        return ocfl_err_set(err, -EINVAL,
                            "tupleSize: tupleSize * numberOfTuples exceeds the %zu digits of %s",
                            hexlen, alg);
    if (l->short_root && (size_t)l->tuple_size * (size_t)l->n_tuples == hexlen)
        return ocfl_err_set(err, -EINVAL,
                            "shortObjectRoot: must be false when the tuples use the whole digest");
    return 0;
}

static int configure_omit(struct ocfl_layout *l, json_t *cfg, struct ocfl_err *err)
{
    const char *delim = l->kind == NTUPLE_OMIT ? ":" : NULL, *pad = "left";
    int r;

    if ((r = get_str(cfg, "delimiter", &delim, err)) < 0)
        return r;
    if (!delim)
        return ocfl_err_set(err, -EINVAL, "delimiter: required by %s", names[l->kind]);
    if (l->kind == NTUPLE_OMIT) {
        l->tuple_size = l->n_tuples = 3;
        if ((r = get_int(cfg, "tupleSize", 1, 32, &l->tuple_size, err)) < 0 ||
            (r = get_int(cfg, "numberOfTuples", 1, 32, &l->n_tuples, err)) < 0 ||
            (r = get_str(cfg, "zeroPadding", &pad, err)) < 0 ||
            (r = get_bool(cfg, "reverseObjectRoot", &l->reverse, err)) < 0)
            return r;
        if (strcmp(pad, "left") && strcmp(pad, "right"))
            return ocfl_err_set(err, -EINVAL, "zeroPadding: must be \"left\" or \"right\"");
        l->pad_right = !strcmp(pad, "right");
    }
    l->delimiter = strdup(delim);
    return l->delimiter ? 0 : ocfl_err_set(err, -ENOMEM, "out of memory");
}

int ocfl_layout_new(const char *name, const char *config_json, struct ocfl_layout **ret,
                    struct ocfl_err *err)
{
    struct ocfl_layout *l;
    json_t *cfg = NULL, *en;
    json_error_t jerr;
    int kind = -1, r = 0;

    for (int i = 0; name && names[i]; i++)
        if (!strcmp(name, names[i]))
            kind = i;
    if (kind < 0)
        return ocfl_err_set(err, -ENOTSUP, "unsupported storage layout '%s'", name ? name : "");
    if (config_json && *config_json) {
        int oom = 0;
        cfg =
            ocfl_json_loadb(config_json, strlen(config_json), JSON_REJECT_DUPLICATES, &jerr, &oom);
        if (!cfg && oom)
            return ocfl_err_set(err, -ENOMEM, "%s config: out of memory", name);
        if (!cfg)
            return ocfl_err_set(err, -EINVAL, "%s config: invalid JSON: %s", name, jerr.text);
        if (!json_is_object(cfg)) {
            json_decref(cfg);
            return ocfl_err_set(err, -EINVAL, "%s config: not a JSON object", name);
        }
        en = json_object_get(cfg, "extensionName");
        if (en && (!json_is_string(en) || strcmp(json_string_value(en), name))) {
            json_decref(cfg);
            return ocfl_err_set(err, -EINVAL, "extensionName: does not name '%s'", name);
        }
    }
    l = calloc(1, sizeof(*l));
    if (!l) {
        json_decref(cfg);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    l->kind = (enum kind)kind;
    if (l->kind == HASH_AND_ID || l->kind == HASHED)
        r = configure_hash(l, cfg, err);
    else if (l->kind == FLAT_OMIT || l->kind == NTUPLE_OMIT)
        r = configure_omit(l, cfg, err);
    json_decref(cfg);
    if (r < 0) {
        ocfl_layout_free(l);
        return r;
    }
    *ret = l;
    return 0;
}

int ocfl_layout_config_json(const struct ocfl_layout *l, char **ret, struct ocfl_err *err)
{
    json_t *o = json_object();
    char *text = NULL, *out;
    int bad = !o;

    if (!bad) {
        bad |= json_object_set_new(o, "extensionName", json_string(names[l->kind]));
        if (l->kind == HASH_AND_ID || l->kind == HASHED) {
            bad |= json_object_set_new(o, "digestAlgorithm",
                                       json_string(ocfl_digest_alg_name(l->alg)));
            bad |= json_object_set_new(o, "tupleSize", json_integer(l->tuple_size));
            bad |= json_object_set_new(o, "numberOfTuples", json_integer(l->n_tuples));
        }
        if (l->kind == HASHED)
            bad |= json_object_set_new(o, "shortObjectRoot", json_boolean(l->short_root));
        if (l->kind == FLAT_OMIT || l->kind == NTUPLE_OMIT)
            bad |= json_object_set_new(o, "delimiter", json_string(l->delimiter));
        if (l->kind == NTUPLE_OMIT) {
            bad |= json_object_set_new(o, "tupleSize", json_integer(l->tuple_size));
            bad |= json_object_set_new(o, "numberOfTuples", json_integer(l->n_tuples));
            bad |=
                json_object_set_new(o, "zeroPadding", json_string(l->pad_right ? "right" : "left"));
            bad |= json_object_set_new(o, "reverseObjectRoot", json_boolean(l->reverse));
        }
        if (!bad)
            text = ocfl_json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    }
    json_decref(o);
    if (!text || asprintf(&out, "%s\n", text) < 0) {
        free(text);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    free(text);
    *ret = out;
    return 0;
}

/* Lower-case hex digest of @id. */
static int hash_id(const struct ocfl_layout *l, const char *id, char hex[OCFL_DIGEST_HEX_MAX],
                   struct ocfl_err *err)
{
    struct ocfl_hasher *h;
    int r;

    if ((r = ocfl_hasher_new(1u << l->alg, &h, err)) < 0)
        return r;
    ocfl_hasher_update(h, id, strlen(id));
    r = ocfl_hasher_final(h, l->alg, hex);
    ocfl_hasher_free(h);
    if (r < 0)
        return ocfl_err_set(err, r, "cannot hash object id '%s'", id);
    for (char *p = hex; *p; p++)
        if (*p >= 'A' && *p <= 'F')
            *p = (char)(*p - 'A' + 'a');
    return 0;
}

/* A small growing string; every append is checked. */
struct sbuf {
    char *s;
    size_t len, alloc;
    int oom;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->alloc) {
        size_t alloc = (b->len + n + 1) * 2;
        char *ns = realloc(b->s, alloc);
        if (!ns) {
            b->oom = 1;
            return;
        }
        b->s = ns;
        b->alloc = alloc;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = '\0';
}

/* Append @n tuples of @size characters of @src, each followed by '/'. */
static void sb_tuples(struct sbuf *b, const char *src, int size, int n)
{
    for (int i = 0; i < n; i++) {
        sb_add(b, src + (size_t)i * (size_t)size, (size_t)size);
        sb_add(b, "/", 1);
    }
}

/* 0003's encapsulation directory: [A-Za-z0-9_-] kept, other bytes as %xx. */
static void sb_percent_encode(struct sbuf *b, const char *id, const char *hex)
{
    size_t start = b->len;

    for (const unsigned char *p = (const unsigned char *)id; *p; p++) {
        char enc[4];
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_') {
            sb_add(b, (const char *)p, 1);
        } else {
            snprintf(enc, sizeof(enc), "%%%02x", *p);
            sb_add(b, enc, 3);
        }
    }
    if (!b->oom && b->len - start > 100) {
        b->len = start + 100;
        sb_add(b, "-", 1);
        sb_add(b, hex, strlen(hex));
    }
}

/* The id without its prefix (0006, 0007): after the right-most delimiter, case-insensitive. */
static const char *omit_prefix(const struct ocfl_layout *l, const char *id)
{
    size_t dl = strlen(l->delimiter), il = strlen(id);

    for (size_t i = il >= dl ? il - dl + 1 : 0; i-- > 0;)
        if (!strncasecmp(id + i, l->delimiter, dl))
            return id + i + dl;
    return NULL;
}

static int map_ntuple_omit(const struct ocfl_layout *l, const char *id, struct sbuf *b,
                           struct ocfl_err *err)
{
    const char *rest = omit_prefix(l, id);
    size_t want = (size_t)l->tuple_size * (size_t)l->n_tuples, len;
    char *padded;

    for (const unsigned char *p = (const unsigned char *)id; *p; p++)
        if (*p < 0x20 || *p > 0x7f)
            return ocfl_err_set(err, -EINVAL, "object id '%s': %s allows only ASCII characters", id,
                                names[l->kind]);
    if (!rest)
        rest = id; /* no delimiter: the whole id is used */
    len = strlen(rest);
    if (len == 0)
        return ocfl_err_set(err, -EINVAL, "object id '%s' ends with the delimiter '%s'", id,
                            l->delimiter);
    padded = malloc((len > want ? len : want) + 1);
    if (!padded)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    if (len >= want) {
        memcpy(padded, rest, len + 1);
    } else if (l->pad_right) {
        memcpy(padded, rest, len);
        memset(padded + len, '0', want - len);
        padded[want] = '\0';
    } else {
        memset(padded, '0', want - len);
        memcpy(padded + want - len, rest, len + 1);
    }
    if (l->reverse) {
        for (size_t i = 0, j = strlen(padded) - 1; i < j; i++, j--) {
            char c = padded[i];
            padded[i] = padded[j];
            padded[j] = c;
        }
    }
    sb_tuples(b, padded, l->tuple_size, l->n_tuples);
    sb_add(b, rest, len);
    free(padded);
    return 0;
}

/*
 * The mapped path must be a safe relative path: no empty, "." or ".."
 * element, no element over NAME_MAX, and not one of the storage root's own
 * entries.  @last is where the object's own directory name starts: it must
 * be a single element.
 */
static int check_mapped(const char *id, const char *path, size_t last, struct ocfl_err *err)
{
    const char *p = path;
    size_t first;

    if (strchr(path + last, '/'))
        return ocfl_err_set(err, -EINVAL, "object id '%s' maps to more than one directory level",
                            id);
    if (strlen(path) >= PATH_MAX)
        return ocfl_err_set(err, -EINVAL, "object id '%s' maps to a path that is too long", id);
    first = strcspn(path, "/");
    if ((first == 10 && !strncmp(path, "extensions", 10)) || !strncmp(path, "0=", 2) ||
        (first == 16 && !strncmp(path, "ocfl_layout.json", 16)))
        return ocfl_err_set(err, -EINVAL, "object id '%s' maps onto a reserved storage root name",
                            id);
    for (;;) {
        size_t n = strcspn(p, "/");
        if (n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.'))
            return ocfl_err_set(err, -EINVAL, "object id '%s' does not map to a safe relative path",
                                id);
        if (n > NAME_MAX)
            return ocfl_err_set(err, -EINVAL,
                                "object id '%s' maps to a directory name over %d bytes", id,
                                NAME_MAX);
        if (!p[n])
            return 0;
        p += n + 1;
    }
}

int ocfl_layout_map(const struct ocfl_layout *l, const char *id, char **ret, struct ocfl_err *err)
{
    char hex[OCFL_DIGEST_HEX_MAX];
    struct sbuf b = {0};
    const char *rest;
    size_t last;
    int r = 0;

    if (!id || !*id)
        return ocfl_err_set(err, -EINVAL, "empty object id");
    /* an id is a JSON string in the inventory: it must be UTF-8 */
    if (!ocfl_utf8_valid(id, strlen(id)))
        return ocfl_err_set(err, -EINVAL, "object id '%s' is not UTF-8", id);
    sb_add(&b, "", 0);
    switch (l->kind) {
    case FLAT_DIRECT:
        sb_add(&b, id, strlen(id));
        break;
    case FLAT_OMIT:
        rest = omit_prefix(l, id);
        if (!rest)
            r = ocfl_err_set(err, -EINVAL, "object id '%s' does not contain the delimiter '%s'", id,
                             l->delimiter);
        else if (!*rest)
            r = ocfl_err_set(err, -EINVAL, "object id '%s' ends with the delimiter '%s'", id,
                             l->delimiter);
        else
            sb_add(&b, rest, strlen(rest));
        break;
    case HASH_AND_ID:
    case HASHED:
        if ((r = hash_id(l, id, hex, err)) < 0)
            break;
        sb_tuples(&b, hex, l->tuple_size, l->n_tuples);
        if (l->kind == HASH_AND_ID)
            sb_percent_encode(&b, id, hex);
        else if (l->short_root)
            sb_add(&b, hex + l->tuple_size * l->n_tuples,
                   strlen(hex) - (size_t)(l->tuple_size * l->n_tuples));
        else
            sb_add(&b, hex, strlen(hex));
        break;
    case NTUPLE_OMIT:
        r = map_ntuple_omit(l, id, &b, err);
        break;
    }
    if (r == 0 && b.oom)
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
    if (r == 0) {
        /* the object's own directory is what follows the tuples */
        last = 0;
        if (l->kind != FLAT_DIRECT && l->kind != FLAT_OMIT)
            last = (size_t)(l->tuple_size + 1) * (size_t)l->n_tuples;
        r = check_mapped(id, b.s, last, err);
    }
    if (r < 0) {
        free(b.s);
        return r;
    }
    *ret = b.s;
    return 0;
}
