/* plan.c: build an update plan: the next version's inventory bytes and its ordered steps. */
#include "plan.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "inventory_priv.h"
#include "path.h"

static const char *const kind_names[OCFL_STEP_KIND_COUNT_] = {
    [OCFL_STEP_DECLARE] = "declare",           [OCFL_STEP_VERSION_DIRS] = "version-dirs",
    [OCFL_STEP_CONTENT] = "content",           [OCFL_STEP_VERSION_INV] = "version-inventory",
    [OCFL_STEP_ROOT_INV] = "root-inventory",   [OCFL_STEP_ROOT_SIDECAR] = "root-sidecar",
    [OCFL_STEP_RELEASE] = "release",           [OCFL_STEP_PURGE_MOVE] = "purge-move",
    [OCFL_STEP_PURGE_DELETE] = "purge-delete", [OCFL_STEP_PURGE_PRUNE] = "purge-prune",
};

const char *ocfl_step_kind_name(enum ocfl_step_kind kind)
{
    if ((int)kind < 0 || kind >= OCFL_STEP_KIND_COUNT_)
        return NULL;
    return kind_names[kind];
}

int ocfl_step_kind_from_name(const char *name)
{
    for (int i = 0; name && i < OCFL_STEP_KIND_COUNT_; i++)
        if (!strcmp(kind_names[i], name))
            return i;
    return -1;
}

void ocfl_plan_free(struct ocfl_plan *plan)
{
    if (!plan)
        return;
    for (size_t i = 0; i < plan->n_steps; i++) {
        free(plan->steps[i].source);
        free(plan->steps[i].dest);
        free(plan->steps[i].digest);
    }
    free(plan->steps);
    free(plan->object_id);
    free(plan->digest_algorithm);
    free(plan->version_name);
    free(plan->base_digest);
    free(plan->created);
    free(plan->message);
    free(plan->user_name);
    free(plan->user_address);
    free(plan->inventory);
    free(plan);
}

int ocfl_plan_is_empty(const struct ocfl_plan *plan)
{
    return !plan->new_object && !plan->n_added && !plan->n_modified && !plan->n_removed;
}

size_t ocfl_plan_find_step(const struct ocfl_plan *plan, enum ocfl_step_kind kind)
{
    size_t i;

    for (i = 0; i < plan->n_steps; i++)
        if (plan->steps[i].kind == kind)
            break;
    return i;
}

/* strdup that keeps NULL as NULL; *ok drops to 0 on allocation failure. */
static char *dup_opt(const char *s, int *ok)
{
    char *d;

    if (!s)
        return NULL;
    d = strdup(s);
    if (!d)
        *ok = 0;
    return d;
}

static int add_step(struct ocfl_plan *p, size_t *alloc, enum ocfl_step_kind kind,
                    const char *source, const char *dest, const char *digest, uint64_t size)
{
    struct ocfl_plan_step *s;
    int ok = 1;

    if (p->n_steps == *alloc) {
        size_t n = *alloc ? *alloc * 2 : 16;
        struct ocfl_plan_step *t = realloc(p->steps, n * sizeof(*t));
        if (!t)
            return -ENOMEM;
        p->steps = t;
        *alloc = n;
    }
    s = &p->steps[p->n_steps];
    memset(s, 0, sizeof(*s));
    s->kind = kind;
    s->size = size;
    s->source = dup_opt(source, &ok);
    s->dest = dup_opt(dest, &ok);
    s->digest = dup_opt(digest, &ok);
    p->n_steps++; /* counted even when partial, so ocfl_plan_free releases it */
    return ok ? 0 : -ENOMEM;
}

static int cmp_file(const void *a, const void *b)
{
    const struct ocfl_plan_file *const *x = a, *const *y = b;
    return strcmp((*x)->logical_path, (*y)->logical_path);
}

static int cmp_manifest(const void *a, const void *b)
{
    const struct ocfl_manifest_entry *x = a, *y = b;
    return strcasecmp(x->digest, y->digest);
}

/* Whether @d is @want hex digits (a table, not isxdigit(): no locale lookup per byte). */
static int digest_ok(const char *d, size_t want)
{
    static const unsigned char hex[256] = {
        ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1,
        ['8'] = 1, ['9'] = 1, ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
        ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    };
    size_t i = 0;

    while (i < want && hex[(unsigned char)d[i]])
        i++;
    return i == want && !d[i];
}

static char *lower_dup(const char *s)
{
    char *d = strdup(s);

    for (char *c = d; c && *c; c++)
        *c = (char)tolower((unsigned char)*c);
    return d;
}

/* FNV-1a over the lower-cased digest (any digest text hashes well). */
static uint64_t digest_key(const char *d)
{
    uint64_t k = 1469598103934665603ull;

    for (; *d; d++)
        k = (k ^ (unsigned char)tolower((unsigned char)*d)) * 1099511628211ull;
    return k;
}

/*
 * The new inventory is a view: it borrows the base's strings, entries and
 * versions, the input's logical paths and texts, and the new entries in
 * @added; it owns only its arrays (manifest, versions, the new state).  It is
 * never indexed and never given to ocfl_inventory_free(): it exists to be
 * serialized.  Copying a base of 100,000 files (as a deep copy would) cost
 * more than the rest of the plan.
 */
struct build {
    const struct ocfl_plan_input *in;
    struct ocfl_plan *p;
    struct ocfl_inventory inv;
    size_t n_base_versions;
    const struct ocfl_plan_file **sorted;
    struct ocfl_manifest_entry *added; /* new manifest entries (owned here) */
    size_t n_added;
    size_t steps_alloc;
    size_t *index; /* open addressing over added[]: slot -> index + 1, 0 = empty */
    size_t index_mask;
};

/* The view of the base (or of an empty new object) with room for one more version. */
static int view_init(struct build *b, const char *alg)
{
    const struct ocfl_inventory *base = b->in->base;
    struct ocfl_inventory *inv = &b->inv;

    if (base) {
        inv->id = base->id;
        inv->spec = base->spec;
        inv->digest_algorithm = base->digest_algorithm;
        inv->padding = base->padding;
        inv->content_directory = base->content_directory;
        inv->fixity = base->fixity;
        inv->n_fixity = base->n_fixity;
        inv->has_fixity_key = base->has_fixity_key;
        b->n_base_versions = base->n_versions;
    } else {
        inv->id = (char *)b->in->id;
        inv->spec = b->in->spec ? b->in->spec : OCFL_SPEC_1_1;
        inv->digest_algorithm = (char *)alg;
    }
    inv->versions = malloc((b->n_base_versions + 1) * sizeof(*inv->versions));
    if (!inv->versions)
        return -ENOMEM;
    if (b->n_base_versions)
        memcpy(inv->versions, base->versions, b->n_base_versions * sizeof(*inv->versions));
    inv->n_versions = b->n_base_versions;
    return 0;
}

/* Free what the view and the build own (the view's strings are borrowed). */
static void build_release(struct build *b)
{
    if (b->inv.n_versions > b->n_base_versions)
        free(b->inv.versions[b->n_base_versions].state);
    free(b->inv.versions);
    free(b->inv.manifest);
    for (size_t i = 0; b->added && i < b->n_added; i++) {
        free(b->added[i].digest);
        for (size_t k = 0; k < b->added[i].n_paths; k++)
            free(b->added[i].paths[k]);
        free(b->added[i].paths);
    }
    free(b->added);
    free(b->index);
    free(b->sorted);
}

/* The added entry with @digest, or NULL. */
static struct ocfl_manifest_entry *find_new(struct build *b, const char *digest)
{
    for (size_t s = digest_key(digest) & b->index_mask;; s = (s + 1) & b->index_mask) {
        if (!b->index[s])
            return NULL;
        if (!strcasecmp(b->added[b->index[s] - 1].digest, digest))
            return &b->added[b->index[s] - 1];
    }
}

static void index_add(struct build *b, size_t i)
{
    size_t s = digest_key(b->added[i].digest) & b->index_mask;

    while (b->index[s])
        s = (s + 1) & b->index_mask;
    b->index[s] = i + 1;
}

/*
 * The loops over the new state visit files in logical path order, not in
 * the caller's (allocation) order: fetch what they read a few files ahead,
 * or each file costs cache misses (prefetching NULL is harmless).
 */
static inline void prefetch_file(const struct build *b, size_t i)
{
    size_t n = b->in->n_files;

    if (i + 16 < n)
        __builtin_prefetch(b->sorted[i + 16]);
    if (i + 8 < n) {
        __builtin_prefetch(b->sorted[i + 8]->logical_path);
        __builtin_prefetch(b->sorted[i + 8]->digest);
    }
}

static int check_input(struct build *b, const char *alg, struct ocfl_err *err)
{
    const struct ocfl_plan_input *in = b->in;
    size_t hexlen = ocfl_digest_hex_len(ocfl_digest_alg_from_name(alg));
    const char **paths;
    size_t ia, ib;
    int r;

    if (!in->created || !*in->created)
        return ocfl_err_set(err, -EINVAL, "plan for '%s': no created time", b->p->object_id);
    if (!hexlen || !ocfl_digest_alg_is_content(ocfl_digest_alg_from_name(alg)))
        return ocfl_err_set(err, -EINVAL, "plan for '%s': bad digest algorithm '%s'",
                            b->p->object_id, alg);
    for (size_t i = 0; i < in->n_files; i++) {
        const struct ocfl_plan_file *f = b->sorted[i];
        prefetch_file(b, i);
        if (!f->logical_path || ocfl_path_check(f->logical_path) != OCFL_PATH_OK)
            return ocfl_err_set(err, -EINVAL, "'%s': not a valid logical path",
                                f->logical_path ? f->logical_path : "(null)");
        if (!f->digest || !digest_ok(f->digest, hexlen))
            return ocfl_err_set(err, -EINVAL, "'%s': not a %s digest", f->logical_path, alg);
        if (i && !strcmp(b->sorted[i - 1]->logical_path, f->logical_path))
            return ocfl_err_set(err, -EINVAL, "'%s': logical path given twice", f->logical_path);
    }
    paths = malloc((in->n_files ? in->n_files : 1) * sizeof(*paths));
    if (!paths)
        return -ENOMEM;
    for (size_t i = 0; i < in->n_files; i++)
        paths[i] = b->sorted[i]->logical_path;
    r = ocfl_sorted_paths_conflict(paths, in->n_files, &ia, &ib);
    if (r > 0)
        r = ocfl_err_set(err, -EINVAL, "logical paths '%s' and '%s' conflict", paths[ia],
                         paths[ib]);
    free(paths);
    return r < 0 ? r : 0;
}

/* Pass 1: new content, stored once, from the first file (in logical path
 * order) that brings it; every other source is released. */
static int add_content(struct build *b, const char *content_dir)
{
    const struct ocfl_plan_input *in = b->in;
    struct ocfl_plan *p = b->p;
    size_t slots = 16;
    int r;

    while (slots < 2 * in->n_files)
        slots *= 2;
    b->index_mask = slots - 1;
    b->index = calloc(slots, sizeof(*b->index));
    b->added = calloc(in->n_files ? in->n_files : 1, sizeof(*b->added));
    if (!b->added || !b->index)
        return -ENOMEM;
    for (size_t i = 0; i < in->n_files; i++) {
        const struct ocfl_plan_file *f = b->sorted[i];
        struct ocfl_manifest_entry *e = &b->added[b->n_added];
        char *cpath;

        if (!f->source)
            continue;
        if (ocfl_inventory_manifest_lookup(in->base, f->digest) || find_new(b, f->digest)) {
            r = add_step(p, &b->steps_alloc, OCFL_STEP_RELEASE, f->source, NULL, NULL, 0);
            if (r < 0)
                return r;
            continue;
        }
        if (asprintf(&cpath, "%s/%s/%s", p->version_name, content_dir, f->logical_path) < 0)
            return -ENOMEM;
        e->digest = lower_dup(f->digest);
        e->paths = malloc(sizeof(*e->paths));
        if (!e->digest || !e->paths) {
            free(cpath);
            free(e->digest);
            free(e->paths);
            e->digest = NULL;
            e->paths = NULL;
            return -ENOMEM;
        }
        e->paths[0] = cpath;
        e->n_paths = 1;
        index_add(b, b->n_added);
        b->n_added++;
        r = add_step(p, &b->steps_alloc, OCFL_STEP_CONTENT, f->source, cpath, e->digest, f->size);
        if (r < 0)
            return r;
        p->content_bytes += f->size;
    }
    return 0;
}

/*
 * Pass 2: the state, with each digest spelled as in the manifest, walking
 * the base head alongside (both in logical path order) to count added,
 * modified and removed paths.  A path whose digest is the head's, spelled
 * alike, takes the head's string: in an indexed (parsed) base the head
 * names manifest digests exactly (E050), so no lookup is needed for the
 * unchanged files, which are nearly all of them.
 */
static int build_state(struct build *b, struct ocfl_version *v, struct ocfl_err *err)
{
    const struct ocfl_inventory *base = b->in->base;
    const struct ocfl_version *h = ocfl_inventory_head(base);
    size_t n = b->in->n_files, k = 0, nh = h ? h->n_state : 0;
    int trust_head = base && base->index;

    v->state = calloc(n ? n : 1, sizeof(*v->state));
    if (!v->state)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct ocfl_plan_file *f = b->sorted[i];
        const struct ocfl_state_entry *old = NULL;
        const char *d = NULL;
        int c = 1;

        prefetch_file(b, i);
        if (k + 8 < nh) {
            __builtin_prefetch(h->state[k + 8].logical_path);
            __builtin_prefetch(h->state[k + 8].digest);
        }

        while (k < nh && (c = strcmp(h->state[k].logical_path, f->logical_path)) < 0) {
            b->p->n_removed++;
            k++;
        }
        if (k < nh && c == 0)
            old = &h->state[k++];
        if (old && trust_head && !strcmp(old->digest, f->digest)) {
            d = old->digest;
        } else {
            const struct ocfl_manifest_entry *m = ocfl_inventory_manifest_lookup(base, f->digest);
            if (!m)
                m = find_new(b, f->digest);
            if (!m)
                return ocfl_err_set(err, -EINVAL, "'%s': content %s is not in the object",
                                    f->logical_path, f->digest);
            d = m->digest;
        }
        v->state[i] = (struct ocfl_state_entry){(char *)f->logical_path, (char *)d};
        v->n_state = i + 1;
        if (!old)
            b->p->n_added++;
        else
            b->p->n_modified += strcasecmp(old->digest, d) != 0;
    }
    b->p->n_removed += nh - k;
    return 0;
}

/* The manifest: the base's entries and the added ones, merged in order. */
static int merge_manifest(struct build *b)
{
    const struct ocfl_inventory *base = b->in->base;
    size_t nb = base ? base->n_manifest : 0, n = nb + b->n_added, i = 0, k = 0;
    struct ocfl_manifest_entry *m = malloc((n ? n : 1) * sizeof(*m));

    if (!m)
        return -ENOMEM;
    /* the base's manifest is sorted already: sort the (usually few) new entries */
    qsort(b->added, b->n_added, sizeof(*m), cmp_manifest);
    for (size_t out = 0; out < n; out++)
        if (k == b->n_added || (i < nb && cmp_manifest(&base->manifest[i], &b->added[k]) <= 0))
            m[out] = base->manifest[i++];
        else
            m[out] = b->added[k++];
    b->inv.manifest = m;
    b->inv.n_manifest = n;
    return 0;
}

/* The version name ("v3", "v003") into p->version_name. */
static int name_version(struct build *b, struct ocfl_err *err)
{
    const struct ocfl_inventory *inv = &b->inv;
    struct ocfl_plan *p = b->p;
    int r;

    if (inv->n_versions >= OCFL_MAX_VERSIONS)
        return ocfl_err_set(err, -EOVERFLOW, "'%s': too many versions", p->object_id);
    p->version_num = (unsigned)inv->n_versions + 1;
    if (inv->padding) {
        unsigned long long lim = 1;
        for (unsigned i = 0; i < inv->padding && lim < 100000000000ULL; i++)
            lim *= 10;
        if (p->version_num >= lim)
            return ocfl_err_set(err, -EOVERFLOW, "'%s': version %u does not fit %u digits",
                                p->object_id, p->version_num, inv->padding);
        r = asprintf(&p->version_name, "v%0*u", (int)inv->padding, p->version_num);
    } else {
        r = asprintf(&p->version_name, "v%u", p->version_num);
    }
    if (r < 0) {
        p->version_name = NULL;
        return -ENOMEM;
    }
    return 0;
}

static int add_version(struct build *b, struct ocfl_err *err)
{
    const struct ocfl_plan_input *in = b->in;
    struct ocfl_inventory *inv = &b->inv;
    struct ocfl_plan *p = b->p;
    struct ocfl_version *v;
    const char *cd = ocfl_inventory_content_dir(inv);
    int r;

    r = name_version(b, err);
    if (r < 0)
        return r;
    v = &inv->versions[inv->n_versions]; /* view_init made room */
    memset(v, 0, sizeof(*v));
    inv->n_versions++; /* from here build_release frees its state */
    v->num = p->version_num;
    v->created = (char *)in->created;
    v->message = (char *)in->message;
    v->user_name = (char *)in->user_name;
    v->user_address = in->user_name ? (char *)in->user_address : NULL;
    inv->head = p->version_name;

    if (p->new_object) {
        r = add_step(p, &b->steps_alloc, OCFL_STEP_DECLARE, NULL,
                     p->spec == OCFL_SPEC_1_0 ? "0=ocfl_object_1.0" : "0=ocfl_object_1.1", NULL, 0);
        if (r < 0)
            return r;
    }
    /* The version-dirs step: its dest is known only once we know whether
     * there is new content, so reserve it and fill it in afterwards. */
    r = add_step(p, &b->steps_alloc, OCFL_STEP_VERSION_DIRS, NULL, NULL, NULL, 0);
    if (r < 0)
        return r;
    size_t vd = p->n_steps - 1;
    r = add_content(b, cd);
    if (r < 0)
        return r;
    r = build_state(b, v, err);
    if (r < 0)
        return r;
    if (b->n_added)
        r = asprintf(&p->steps[vd].dest, "%s/%s", p->version_name, cd);
    else
        r = asprintf(&p->steps[vd].dest, "%s", p->version_name);
    if (r < 0) {
        p->steps[vd].dest = NULL;
        return -ENOMEM;
    }
    return merge_manifest(b);
}

/* Move RELEASE steps (collected while walking the state) after the switch. */
static int order_steps(struct build *b)
{
    struct ocfl_plan *p = b->p;
    struct ocfl_plan_step *tmp = malloc((p->n_steps ? p->n_steps : 1) * sizeof(*tmp));
    size_t n = 0;

    if (!tmp)
        return -ENOMEM;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < p->n_steps; i++)
            if ((p->steps[i].kind == OCFL_STEP_RELEASE) == pass)
                tmp[n++] = p->steps[i];
    memcpy(p->steps, tmp, n * sizeof(*tmp));
    free(tmp);
    return 0;
}

static int finish(struct build *b, struct ocfl_err *err)
{
    struct ocfl_plan *p = b->p;
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(p->digest_algorithm);
    size_t release_from;
    char *sidecar = NULL;
    int r;

    r = ocfl_inventory_serialize_digest(&b->inv, alg, &p->inventory, &p->inventory_len,
                                        p->inventory_digest, err);
    if (r < 0)
        return r;

    r = order_steps(b);
    if (r < 0)
        return r;
    release_from = ocfl_plan_find_step(p, OCFL_STEP_RELEASE);
    /* Insert version inventory, root inventory and root sidecar before the releases. */
    struct ocfl_plan_step *s = realloc(p->steps, (p->n_steps + 4) * sizeof(*s));
    if (!s)
        return -ENOMEM;
    p->steps = s;
    b->steps_alloc = p->n_steps + 4;
    memmove(&s[release_from + 3], &s[release_from], (p->n_steps - release_from) * sizeof(*s));
    memset(&s[release_from], 0, 3 * sizeof(*s));
    s[release_from].kind = OCFL_STEP_VERSION_INV;
    s[release_from + 1].kind = OCFL_STEP_ROOT_INV;
    s[release_from + 2].kind = OCFL_STEP_ROOT_SIDECAR;
    p->n_steps += 3;
    if (asprintf(&sidecar, "inventory.json.%s", p->digest_algorithm) < 0)
        return -ENOMEM;
    s[release_from + 2].dest = sidecar;
    s[release_from].dest = strdup(p->version_name);
    s[release_from + 1].dest = strdup("inventory.json");
    if (!s[release_from].dest || !s[release_from + 1].dest)
        return -ENOMEM;
    if (b->in->release_dir)
        return add_step(p, &b->steps_alloc, OCFL_STEP_RELEASE, b->in->release_dir, NULL, NULL, 0);
    return 0;
}

/* Whether @s holds something besides white space. */
static int has_text(const char *s)
{
    for (; s && *s; s++)
        if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r')
            return 1;
    return 0;
}

int ocfl_version_meta_check(const char *message, const char *user_name, const char *user_address,
                            struct ocfl_err *err)
{
    if (!has_text(message))
        return ocfl_err_set(err, -EINVAL, "message: a version needs a message (it is empty)");
    if (!ocfl_utf8_valid(message, strlen(message)))
        return ocfl_err_set(err, -EINVAL, "message: not valid UTF-8");
    if (!has_text(user_name))
        return ocfl_err_set(err, -EINVAL,
                            "user.name: a version needs the name of the person who made it");
    if (!ocfl_utf8_valid(user_name, strlen(user_name)))
        return ocfl_err_set(err, -EINVAL, "user.name: not valid UTF-8");
    if (user_address && !ocfl_is_uri(user_address))
        return ocfl_err_set(err, -EINVAL,
                            "user.address: '%.200s' is not a URI (RFC 3986: a scheme and a colon, "
                            "as in mailto:name@example.org)",
                            user_address);
    return 0;
}

int ocfl_plan_build(const struct ocfl_plan_input *in, struct ocfl_plan **ret, struct ocfl_err *err)
{
    struct build b = {.in = in};
    struct ocfl_plan *p;
    const char *alg;
    int ok = 1, r;

    if (!in->base && !in->id)
        return ocfl_err_set(err, -EINVAL, "plan: no object id");
    if (!in->base && !ocfl_utf8_valid(in->id, strlen(in->id)))
        return ocfl_err_set(err, -EINVAL, "object id '%s' is not UTF-8", in->id);
    if (in->base && !in->base_digest)
        return ocfl_err_set(err, -EINVAL, "plan for '%s': no base inventory digest", in->base->id);
    if (in->base && in->spec && in->spec != in->base->spec)
        return ocfl_err_set(err, -ENOTSUP, "'%s': changing the OCFL version is not supported",
                            in->base->id);
    alg = in->base ? in->base->digest_algorithm
                   : (in->digest_algorithm ? in->digest_algorithm : "sha512");
    p = b.p = calloc(1, sizeof(*p));
    if (!p)
        return -ENOMEM;
    p->object_id = dup_opt(in->base ? in->base->id : in->id, &ok);
    p->new_object = !in->base;
    p->digest_algorithm = dup_opt(alg, &ok);
    p->base_digest = in->base ? lower_dup(in->base_digest) : NULL;
    p->created = dup_opt(in->created, &ok);
    p->message = dup_opt(in->message, &ok);
    p->user_name = dup_opt(in->user_name, &ok);
    p->user_address = dup_opt(in->user_address, &ok);
    if (!ok || (in->base && !p->base_digest)) {
        r = -ENOMEM;
        goto fail;
    }
    b.sorted = malloc((in->n_files ? in->n_files : 1) * sizeof(*b.sorted));
    if (!b.sorted) {
        r = -ENOMEM;
        goto fail;
    }
    for (size_t i = 0; i < in->n_files; i++)
        b.sorted[i] = &in->files[i];
    ocfl_sort_if_needed(b.sorted, in->n_files, sizeof(*b.sorted), cmp_file); /* put sorts */
    r = check_input(&b, alg, err);
    if (r < 0)
        goto fail;
    r = view_init(&b, alg);
    if (r < 0)
        goto fail;
    p->spec = b.inv.spec;
    r = add_version(&b, err);
    if (r < 0)
        goto fail;
    r = finish(&b, err);
    if (r < 0)
        goto fail;
    build_release(&b);
    *ret = p;
    return 0;
fail:
    build_release(&b);
    ocfl_plan_free(p);
    if (r == -ENOMEM && (!err || !err->code))
        ocfl_err_set(err, r, "cannot build the plan: out of memory");
    return r;
}
