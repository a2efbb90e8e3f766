/* inventory_check_versions.c: checks of an inventory's versions block, its names and head. */
#include "inventory_priv.h"
#include "path.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct vkey {
    const char *key;
    unsigned long num;
    size_t digits;
    json_ref value;
};

/* 0 for "v" + digits; -1 when not of that form (E104); -2 for 0 or too large (E105). */
static int parse_vname(const char *key, unsigned long *ret_num, size_t *ret_digits)
{
    unsigned long num = 0;
    size_t i;

    if (key[0] != 'v' || !key[1])
        return -1;
    for (i = 1; key[i]; i++) {
        if (key[i] < '0' || key[i] > '9')
            return -1;
        if (num <= OCFL_MAX_VERSIONS)
            num = num * 10 + (unsigned long)(key[i] - '0');
    }
    if (num == 0 || num > OCFL_MAX_VERSIONS || i - 1 > 16)
        return -2;
    *ret_num = num;
    *ret_digits = i - 1;
    return 0;
}

static int cmp_vkey(const void *a, const void *b)
{
    const struct vkey *x = a, *y = b;
    if (x->num != y->num)
        return x->num < y->num ? -1 : 1;
    return strcmp(x->key, y->key);
}

static int digits2(const char *s, int lo, int hi)
{
    int v;
    if (s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9')
        return 0;
    v = (s[0] - '0') * 10 + (s[1] - '0');
    return v >= lo && v <= hi;
}

/* RFC 3339 date-time: YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM). */
static int rfc3339_ok(const char *s)
{
    size_t len = strlen(s), i;

    if (len < 20)
        return 0;
    for (i = 0; i < 4; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    if (s[4] != '-' || !digits2(s + 5, 1, 12) || s[7] != '-' || !digits2(s + 8, 1, 31))
        return 0;
    if ((s[10] != 'T' && s[10] != 't') || !digits2(s + 11, 0, 23) || s[13] != ':' ||
        !digits2(s + 14, 0, 59) || s[16] != ':' || !digits2(s + 17, 0, 60))
        return 0;
    i = 19;
    if (s[i] == '.') {
        size_t start = ++i;
        while (s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return 0;
    }
    if ((s[i] == 'Z' || s[i] == 'z') && !s[i + 1])
        return 1;
    if ((s[i] == '+' || s[i] == '-') && digits2(s + i + 1, 0, 23) && s[i + 3] == ':' &&
        digits2(s + i + 4, 0, 59) && !s[i + 6])
        return 1;
    return 0;
}

static void check_user(struct inv_ck *c, const char *vk, json_ref user, struct ocfl_version *v)
{
    const struct json_doc *d = c->d;
    const char *key, *name, *addr;
    json_ref val;

    if (!json_doc_is(d, user, JSON_K_OBJECT)) {
        ocfl_ck_find(c, OCFL_CK_USER_BAD, "user of version '%s' is not an object", vk);
        return;
    }
    JSON_DOC_FOREACH_MEMBER(d, user, k, key, val)
    {
        if (strcmp(key, "name") && strcmp(key, "address"))
            ocfl_ck_find(c, OCFL_CK_INV_UNKNOWN_KEY,
                         "user of version '%s' has an unknown key '%.100s'", vk, key);
    }
    name = json_doc_str(d, json_doc_get(d, user, "name"));
    val = json_doc_get(d, user, "address");
    addr = json_doc_str(d, val);
    if (!name)
        ocfl_ck_find(c, OCFL_CK_USER_BAD, "user of version '%s' has no name string", vk);
    else
        v->user_name = ocfl_ck_strdup(c, name);
    if (val == JSON_NONE) {
        ocfl_ck_find(c, OCFL_CK_USER_NO_ADDRESS, "user of version '%s' has no address", vk);
    } else if (!addr) {
        ocfl_ck_find(c, OCFL_CK_USER_BAD, "address of version '%s' is not a string", vk);
    } else {
        if (!ocfl_is_uri(addr))
            ocfl_ck_find(c, OCFL_CK_USER_ADDRESS_NOT_URI,
                         "address '%.100s' of version '%s' is not a URI", addr, vk);
        v->user_address = ocfl_ck_strdup(c, addr);
    }
}

static void check_state(struct inv_ck *c, const char *vk, json_ref state, struct ocfl_version *v)
{
    const struct json_doc *d = c->d;
    const char *digest;
    json_ref paths;
    size_t total = 0, n = 0;
    const char **lp;

    if (!json_doc_is(d, state, JSON_K_OBJECT)) {
        ocfl_ck_find(c, OCFL_CK_STATE_BAD, "state of version '%s' is not an object", vk);
        return;
    }
    JSON_DOC_FOREACH_MEMBER(d, state, k, digest, paths)
    {
        total += json_doc_size(d, paths) * json_doc_is(d, paths, JSON_K_ARRAY);
    }
    v->state = total ? calloc(total, sizeof(*v->state)) : NULL;
    lp = total ? calloc(total, sizeof(*lp)) : NULL;
    if (total && (!v->state || !lp)) {
        c->oom = 1;
        free(lp);
        return;
    }
    JSON_DOC_FOREACH_MEMBER(d, state, k, digest, paths)
    {
        int is_array = json_doc_is(d, paths, JSON_K_ARRAY);

        /* a digest with no logical paths names no file, so it does not use the manifest entry */
        if (c->has_used && is_array && json_doc_size(d, paths) > 0 &&
            ocfl_strset_add(&c->used, digest, 0) < 0)
            c->oom = 1;
        if (c->has_manifest && !ocfl_strset_has(&c->manifest_keys, digest, NULL))
            ocfl_ck_find(c, OCFL_CK_STATE_DIGEST,
                         "digest '%.140s' in state of version '%s' is not in the manifest", digest,
                         vk);
        if (!is_array) {
            ocfl_ck_find(c, OCFL_CK_STATE_BAD,
                         "state of version '%s': value of '%.140s' is not an array", vk, digest);
            continue;
        }
        JSON_DOC_FOREACH_ELEMENT(d, paths, p)
        {
            const char *s = json_doc_str(d, p);
            enum ocfl_path_problem pp;

            if (!s) {
                ocfl_ck_find(c, OCFL_CK_STATE_BAD,
                             "state of version '%s': a logical path is not a string", vk);
                continue;
            }
            pp = ocfl_path_check(s);
            if (pp == OCFL_PATH_SLASH) {
                ocfl_ck_find(c, OCFL_CK_LPATH_SLASH,
                             "logical path '%.200s' in version '%s' begins or ends with '/'", s,
                             vk);
                continue;
            } else if (pp != OCFL_PATH_OK) {
                ocfl_ck_find(
                    c, OCFL_CK_LPATH_ELEMENT,
                    "logical path '%.200s' in version '%s' has an empty, '.' or '..' element", s,
                    vk);
                continue;
            }
            v->state[n].logical_path = ocfl_ck_strdup(c, s);
            v->state[n].digest = ocfl_ck_strdup(c, digest);
            if (!v->state[n].logical_path || !v->state[n].digest) {
                /* c->oom is set; an entry with a NULL half must not reach the sort */
                free(v->state[n].logical_path);
                free(v->state[n].digest);
                v->state[n].logical_path = v->state[n].digest = NULL;
                continue;
            }
            lp[n] = s;
            n++;
        }
    }
    v->n_state = n;
    if (n > 1) {
        size_t a, b;
        int r;
        ocfl_sort_if_needed(v->state, n, sizeof(*v->state), ocfl_cmp_state_entry);
        for (size_t i = 0; i < n; i++)
            lp[i] = v->state[i].logical_path;
        r = ocfl_sorted_paths_conflict(lp, n, &a, &b);
        if (r < 0)
            c->oom = 1;
        else if (r > 0)
            ocfl_ck_find(c, OCFL_CK_LPATH_CONFLICT,
                         "logical paths '%.200s' and '%.200s' of version '%s' conflict", lp[a],
                         lp[b], vk);
    }
    free(lp);
}

/* Check one version object; returns 0 when usable in the partial inventory. */
static int check_version(struct inv_ck *c, const char *vk, json_ref val, struct ocfl_version *v)
{
    const struct json_doc *d = c->d;
    const char *key, *created_s;
    json_ref x, created, state, message, user;

    if (!json_doc_is(d, val, JSON_K_OBJECT)) {
        ocfl_ck_find(c, OCFL_CK_VERSION_NOT_OBJECT, "version '%s' is not an object", vk);
        return -1;
    }
    JSON_DOC_FOREACH_MEMBER(d, val, k, key, x)
    {
        (void)x; /* keys only */
        if (strcmp(key, "created") && strcmp(key, "state") && strcmp(key, "message") &&
            strcmp(key, "user"))
            ocfl_ck_find(c, OCFL_CK_INV_UNKNOWN_KEY, "version '%s' has an unknown key '%.100s'", vk,
                         key);
    }
    created = json_doc_get(d, val, "created");
    state = json_doc_get(d, val, "state");
    message = json_doc_get(d, val, "message");
    user = json_doc_get(d, val, "user");
    created_s = json_doc_str(d, created);
    if (created == JSON_NONE)
        ocfl_ck_find(c, OCFL_CK_VERSION_KEY_MISSING, "version '%s' has no created time", vk);
    else if (!created_s)
        ocfl_ck_find(c, OCFL_CK_VERSION_CREATED, "created of version '%s' is not a string", vk);
    else if (!rfc3339_ok(created_s))
        ocfl_ck_find(
            c, OCFL_CK_VERSION_CREATED,
            "created '%.100s' of version '%s' is not an RFC 3339 time with seconds and time zone",
            created_s, vk);
    if (created_s)
        v->created = ocfl_ck_strdup(c, created_s);
    if (state == JSON_NONE)
        ocfl_ck_find(c, OCFL_CK_VERSION_KEY_MISSING, "version '%s' has no state", vk);
    else
        check_state(c, vk, state, v);
    if (message != JSON_NONE && !json_doc_str(d, message))
        ocfl_ck_find(c, OCFL_CK_VERSION_MESSAGE, "message of version '%s' is not a string", vk);
    else if (message != JSON_NONE)
        v->message = ocfl_ck_strdup(c, json_doc_str(d, message));
    if (user != JSON_NONE)
        check_user(c, vk, user, v);
    if (message == JSON_NONE || user == JSON_NONE)
        ocfl_ck_find(c, OCFL_CK_VERSION_NO_META, "version '%s' has no %s", vk,
                     message == JSON_NONE ? "message" : "user");
    return 0;
}

/* Zero-padding rules, set by the lowest version's name (normally v1). */
static void check_naming(struct inv_ck *c, struct vkey *k, size_t n)
{
    size_t width = 0;

    if (k[0].digits > 1 && k[0].key[1] == '0')
        width = k[0].digits;
    c->inv->padding = (unsigned)width;
    if (width)
        ocfl_ck_find(c, OCFL_CK_VNAME_PADDED, "version names are zero-padded ('%s')", k[0].key);
    for (size_t i = 1; i < n; i++) {
        int padded = k[i].digits > 1 && k[i].key[1] == '0';
        if (width && k[i].digits == width && !padded) {
            ocfl_ck_find(c, OCFL_CK_VNAME_PAD_PREFIX,
                         "version '%s' does not start with 'v0' like '%s'", k[i].key, k[0].key);
        } else if ((width && k[i].digits != width) || (!width && padded)) {
            ocfl_ck_find(c, OCFL_CK_VNAME_MIXED, "versions '%s' and '%s' are named differently",
                         k[0].key, k[i].key);
        }
    }
}

void ocfl_ck_versions(struct inv_ck *c, json_ref versions, json_ref head)
{
    const struct json_doc *d = c->d;
    const char *key, *head_s = json_doc_str(d, head);
    struct vkey *k = NULL;
    size_t n = 0, good = 0;
    json_ref val;

    if (!json_doc_is(d, versions, JSON_K_OBJECT)) {
        ocfl_ck_find(c, OCFL_CK_VERSIONS_NOT_OBJECT, "versions is not an object");
        return;
    }
    if (json_doc_size(d, versions) == 0) {
        ocfl_ck_find(c, OCFL_CK_VERSIONS_EMPTY, "the inventory has no versions");
        if (head_s)
            ocfl_ck_find(c, OCFL_CK_INV_HEAD_NOT_LAST, "head '%.100s' names no version", head_s);
        return;
    }
    k = calloc(json_doc_size(d, versions), sizeof(*k));
    if (!k) {
        c->oom = 1;
        return;
    }
    JSON_DOC_FOREACH_MEMBER(d, versions, kr, key, val)
    {
        int r = parse_vname(key, &k[n].num, &k[n].digits);
        if (r == -1) {
            ocfl_ck_find(c, OCFL_CK_VNAME_FORM,
                         "version name '%.100s' is not 'v' and a number: it cannot be a version "
                         "directory",
                         key);
        } else if (r == -2) {
            ocfl_ck_find(c, OCFL_CK_VNAME_RANGE,
                         "version name '%.100s' is not a number from 1 to %u", key,
                         OCFL_MAX_VERSIONS);
        } else {
            k[n].key = key;
            k[n].value = val;
            n++;
        }
    }
    if (!n)
        goto out;
    qsort(k, n, sizeof(*k), cmp_vkey);
    for (size_t i = 0; i < n; i++)
        if (ocfl_strset_add(&c->vnames, k[i].key, (unsigned)k[i].num) < 0)
            c->oom = 1;
    check_naming(c, k, n);
    if (k[0].num != 1)
        ocfl_ck_find(c, OCFL_CK_VERSIONS_START, "versions start at '%s', not 1", k[0].key);
    for (size_t i = 1; i < n; i++) {
        if (k[i].num == k[i - 1].num)
            ocfl_ck_find(c, OCFL_CK_VNAME_SAME_NUMBER,
                         "versions '%s' and '%s' have the same number", k[i - 1].key, k[i].key);
        else if (k[i].num != k[i - 1].num + 1)
            ocfl_ck_find(c, OCFL_CK_VERSIONS_GAP, "versions between '%s' and '%s' are missing",
                         k[i - 1].key, k[i].key);
    }
    if (head_s && strcmp(head_s, k[n - 1].key))
        ocfl_ck_find(c, OCFL_CK_INV_HEAD_NOT_LAST, "head '%.100s' is not the highest version '%s'",
                     head_s, k[n - 1].key);

    c->inv->versions = calloc(n, sizeof(*c->inv->versions));
    if (!c->inv->versions) {
        c->oom = 1;
        goto out;
    }
    /* Every version is checked; the partial keeps the unbroken run 1, 2, ... */
    for (size_t i = 0; i < n; i++) {
        if (i && k[i].num == k[i - 1].num)
            continue;
        struct ocfl_version tmp = {.num = (unsigned)k[i].num};
        int usable = check_version(c, k[i].key, k[i].value, &tmp) == 0;
        if (usable && k[i].num == good + 1 && good == c->inv->n_versions) {
            c->inv->versions[good++] = tmp;
            c->inv->n_versions = good;
        } else {
            ocfl_version_release(&tmp);
        }
    }
out:
    free(k);
}
