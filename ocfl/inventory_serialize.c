/* inventory_serialize.c: an inventory as deterministic JSON bytes (optionally digested meanwhile).
 */
#include "inventory_priv.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/*
 * Written by hand rather than with json_dumps(): the key order is fixed by
 * us (id, type, digestAlgorithm, head, ... not alphabetical, which is all
 * JSON_SORT_KEYS gives), and building a jansson tree first would double the
 * memory of an inventory with 100,000 files.  Strings are escaped here:
 * '"', '\\' and control characters; other UTF-8 passes through unchanged.
 *
 * Speed matters: a commit to an object of 100,000 files writes ~50 MB of
 * JSON, and its digest (one core, no SHA-512 instructions) costs as much as
 * making it.  So ocfl_inventory_serialize_digest() digests the bytes on a
 * second thread as they are produced (struct feed), writes go straight into
 * a buffer grown ahead of need, and nothing is sorted that is already in
 * order (a parsed inventory is).
 */

/* Bytes handed to the digest thread at a time. */
#define FEED_STEP (256u * 1024)

/* What the digest thread shares with the serializer (all under @lock). */
struct feed {
    pthread_mutex_t lock;
    pthread_cond_t cond;        /* new bytes, the end, or the thread left the buffer */
    const char *buf;            /* moves only while !busy (the serializer waits) */
    size_t ready, done;         /* bytes published / digested */
    size_t alloc, populated;    /* the buffer's size; the thread faulted pages in up to here */
    int busy;                   /* the thread is using buf outside the lock */
    int no_prefault;            /* the kernel cannot populate pages ahead */
    int end;                    /* no more bytes will come */
    struct ocfl_hasher *hasher; /* used by the thread only until it is joined */
};

struct sbuf {
    char *buf;
    size_t len, alloc;
    int oom;
    struct feed *feed; /* NULL: no digest thread */
};

/* Grow so that @n more bytes (and a NUL) fit; a moving buffer waits until the thread is out. */
static __attribute__((noinline)) int grow(struct sbuf *b, size_t n)
{
    size_t alloc = b->alloc ? b->alloc : 64 * 1024;
    char *nb;

    if (b->oom)
        return 0;
    while (alloc < b->len + n + 1) {
        if (alloc > SIZE_MAX / 2 || b->len + n + 1 < b->len) {
            b->oom = 1;
            return 0;
        }
        alloc *= 2;
    }
    if (b->feed) {
        pthread_mutex_lock(&b->feed->lock);
        while (b->feed->busy)
            pthread_cond_wait(&b->feed->cond, &b->feed->lock);
    }
    nb = realloc(b->buf, alloc);
    if (nb) {
        b->buf = nb;
        b->alloc = alloc;
    } else {
        b->oom = 1;
    }
    if (b->feed) {
        b->feed->buf = b->buf;
        b->feed->alloc = b->alloc;
        pthread_mutex_unlock(&b->feed->lock);
    }
    return nb != NULL;
}

/* Room for @n more bytes: 1, or 0 after an allocation failure. */
static inline int room(struct sbuf *b, size_t n)
{
    return b->len + n < b->alloc || grow(b, n);
}

static inline void put(struct sbuf *b, const char *s, size_t n)
{
    if (!room(b, n))
        return;
    memcpy(b->buf + b->len, s, n);
    b->len += n;
}

static void puts_(struct sbuf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* Hand the bytes made so far to the digest thread once there are enough of them. */
static void publish(struct sbuf *b, int force)
{
    struct feed *f = b->feed;

    if (!f || (!force && b->len - f->ready < FEED_STEP))
        return;
    pthread_mutex_lock(&f->lock);
    f->ready = b->len;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

static void indent(struct sbuf *b, int level)
{
    static const char nl_spaces[] = "\n                                ";
    size_t n =
        (size_t)level * 2 < sizeof(nl_spaces) - 2 ? (size_t)level * 2 : sizeof(nl_spaces) - 2;
    put(b, nl_spaces, n + 1);
}

/* Whether any of the 8 bytes in @w needs escaping: below 0x20, '"' or '\\' (SWAR). */
static inline int word_needs_escape(uint64_t w)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t quote = w ^ (ones * '"'), bslash = w ^ (ones * '\\');
    uint64_t low = (w - ones * 0x20) & ~w;
    uint64_t q = (quote - ones) & ~quote, s = (bslash - ones) & ~bslash;
    return ((low | q | s) & highs) != 0;
}

static inline int byte_needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* Length of the prefix of @s (of @n bytes) that needs no escaping. */
static size_t clean_prefix(const char *s, size_t n)
{
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (word_needs_escape(w))
            break;
    }
    while (i < n && !byte_needs_escape((unsigned char)s[i]))
        i++;
    return i;
}

/* The escaped rest of a string, from its first byte needing escape. */
static __attribute__((noinline)) void put_escaped(struct sbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    while (n) {
        size_t k = clean_prefix(s, n);
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        unsigned char ch;

        put(b, s, k);
        s += k;
        n -= k;
        if (!n)
            break;
        ch = (unsigned char)*s;
        switch (ch) {
        case '"':
        case '\\':
            esc[1] = (char)ch;
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\t':
            esc[1] = 't';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\b':
            esc[1] = 'b';
            break;
        case '\f':
            esc[1] = 'f';
            break;
        default:
            memcpy(esc + 1, "u00", 3);
            esc[4] = hex[ch >> 4];
            esc[5] = hex[ch & 15];
            len = 6;
        }
        put(b, esc, len);
        s++;
        n--;
    }
}

static void put_str(struct sbuf *b, const char *s)
{
    size_t n = strlen(s), k;

    if (!room(b, n + 2))
        return;
    k = clean_prefix(s, n);
    b->buf[b->len++] = '"';
    memcpy(b->buf + b->len, s, k);
    b->len += k;
    if (k < n)
        put_escaped(b, s + k, n - k);
    put(b, "\"", 1);
}

/*
 * One line of a block: "," when @comma, a newline, indentation for @level,
 * @s quoted, then @after (": ", ": [" or nothing).  The hot path of a large
 * inventory (three per manifest entry), so it reserves room once and copies
 * a string that needs no escaping (all digests and most paths) in one go.
 */
static void put_item(struct sbuf *b, int comma, int level, const char *s, const char *after,
                     size_t after_len)
{
    static const char nl_spaces[] = "\n                                ";
    size_t n = strlen(s), ind = (size_t)level * 2, k;
    char *o;

    if (ind > sizeof(nl_spaces) - 2)
        ind = sizeof(nl_spaces) - 2;
    if (!room(b, n + ind + after_len + 4))
        return;
    k = clean_prefix(s, n);
    o = b->buf + b->len;
    if (comma)
        *o++ = ',';
    memcpy(o, nl_spaces, ind + 1);
    o += ind + 1;
    *o++ = '"';
    memcpy(o, s, k);
    o += k;
    b->len = (size_t)(o - b->buf);
    if (k < n)
        put_escaped(b, s + k, n - k);
    put(b, "\"", 1);
    put(b, after, after_len);
}

static void put_key(struct sbuf *b, int level, const char *key, int first)
{
    put_item(b, !first, level, key, ": ", 2);
}

/* Whether @items is in strcmp order already (a parsed or reindexed inventory is). */
static int strs_sorted(char *const *items, size_t n)
{
    for (size_t i = 1; i < n; i++)
        if (strcmp(items[i - 1], items[i]) > 0)
            return 0;
    return 1;
}

static void put_str_array(struct sbuf *b, int level, char **items, size_t n)
{
    char **sorted = items;

    if (!n) {
        puts_(b, "[]");
        return;
    }
    if (!strs_sorted(items, n)) {
        sorted = malloc(n * sizeof(*sorted));
        if (!sorted) {
            b->oom = 1;
            return;
        }
        memcpy(sorted, items, n * sizeof(*sorted));
        qsort(sorted, n, sizeof(*sorted), ocfl_cmp_str_ptr);
    }
    put(b, "[", 1);
    for (size_t i = 0; i < n; i++)
        put_item(b, i > 0, level + 1, sorted[i], "", 0);
    indent(b, level);
    put(b, "]", 1);
    if (sorted != items)
        free(sorted);
}

static int cmp_entry_ptr(const void *a, const void *b)
{
    const struct ocfl_manifest_entry *x = *(const struct ocfl_manifest_entry *const *)a;
    const struct ocfl_manifest_entry *y = *(const struct ocfl_manifest_entry *const *)b;
    return strcmp(x->digest, y->digest);
}

/* A manifest or fixity block: digests sorted (strcmp), then their sorted paths. */
static void put_entries(struct sbuf *b, int level, const struct ocfl_manifest_entry *e, size_t n)
{
    const struct ocfl_manifest_entry **order = NULL;
    size_t i;

    if (!n) {
        puts_(b, "{}");
        return;
    }
    for (i = 1; i < n && strcmp(e[i - 1].digest, e[i].digest) <= 0; i++)
        ;
    if (i < n) { /* not in order (lower-case digests of a sorted manifest are) */
        order = malloc(n * sizeof(*order));
        if (!order) {
            b->oom = 1;
            return;
        }
        for (i = 0; i < n; i++)
            order[i] = &e[i];
        qsort(order, n, sizeof(*order), cmp_entry_ptr);
    }
    put(b, "{", 1);
    for (i = 0; i < n; i++) {
        const struct ocfl_manifest_entry *x = order ? order[i] : &e[i];
        put_key(b, level + 1, x->digest, i == 0);
        put_str_array(b, level + 1, x->paths, x->n_paths);
        publish(b, 0);
    }
    indent(b, level);
    put(b, "}", 1);
    free(order);
}

/*
 * A state's strings are visited in digest order, which is not the order
 * they were allocated in: without prefetching, each is a cache (and TLB)
 * miss, a quarter of the serializer's time for 100,000 paths.
 */
#define PREFETCH_AHEAD 16

/* A state entry with the first 8 bytes of its digest as a number ordering like strcmp. */
struct state_key {
    uint64_t prefix;
    const struct ocfl_state_entry *e;
};

static uint64_t prefix_of(const char *s)
{
    uint64_t k = 0;
    size_t i = 0;

    for (; i < 8 && s[i]; i++)
        k = k << 8 | (unsigned char)s[i];
    return k << (8 * (8 - i)); /* a shorter string is smaller, as with strcmp */
}

static int cmp_state_key(const void *a, const void *b)
{
    const struct state_key *x = a, *y = b;
    int c;

    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    c = strcmp(x->e->digest, y->e->digest);
    return c ? c : strcmp(x->e->logical_path, y->e->logical_path);
}

/*
 * Sort @k by (digest, path): a stable LSD radix sort on the 8-byte prefixes
 * (no comparisons, a few passes over 16-byte items: 4x faster than qsort
 * for a state of 100,000 paths), then a comparison sort of each run of equal
 * prefixes (files sharing content, rarely different digests).  0 or -ENOMEM.
 */
static int sort_state_keys(struct state_key *k, size_t n)
{
    struct state_key *tmp = malloc(n * sizeof(*tmp)), *from = k, *to = tmp;

    if (!tmp)
        return -ENOMEM;
    for (unsigned shift = 0; shift < 64; shift += 8) {
        size_t count[256] = {0}, pos = 0;
        for (size_t i = 0; i < n; i++)
            count[(from[i].prefix >> shift) & 0xff]++;
        if (count[(from[0].prefix >> shift) & 0xff] == n)
            continue; /* every key has the same byte here */
        for (unsigned c = 0; c < 256; c++) {
            size_t m = count[c];
            count[c] = pos;
            pos += m;
        }
        for (size_t i = 0; i < n; i++)
            to[count[(from[i].prefix >> shift) & 0xff]++] = from[i];
        struct state_key *t = from;
        from = to;
        to = t;
    }
    if (from != k)
        memcpy(k, from, n * sizeof(*k));
    free(tmp);
    for (size_t i = 0, j; i < n; i = j) {
        for (j = i + 1; j < n && k[j].prefix == k[i].prefix; j++)
            ;
        if (j - i > 1)
            qsort(k + i, j - i, sizeof(*k), cmp_state_key);
    }
    return 0;
}

/* A state: grouped by digest, digests and paths sorted. */
static void put_state(struct sbuf *b, int level, const struct ocfl_version *v)
{
    struct state_key *order;
    size_t i = 0, ahead = 0;

    if (!v->n_state) {
        puts_(b, "{}");
        return;
    }
    order = malloc(v->n_state * sizeof(*order));
    if (!order) {
        b->oom = 1;
        return;
    }
    for (size_t k = 0; k < v->n_state; k++) {
        if (k + PREFETCH_AHEAD < v->n_state)
            __builtin_prefetch(v->state[k + PREFETCH_AHEAD].digest);
        order[k] = (struct state_key){prefix_of(v->state[k].digest), &v->state[k]};
    }
    if (sort_state_keys(order, v->n_state) < 0) {
        free(order);
        b->oom = 1;
        return;
    }
    put(b, "{", 1);
    while (i < v->n_state) {
        const char *digest = order[i].e->digest;
        size_t j = i;

        for (; ahead < v->n_state && ahead < i + PREFETCH_AHEAD; ahead++) {
            __builtin_prefetch(order[ahead].e->digest);
            __builtin_prefetch(order[ahead].e->logical_path);
        }
        put_item(b, i > 0, level + 1, digest, ": [", 3);
        for (; j < v->n_state && order[j].prefix == order[i].prefix &&
               !strcmp(order[j].e->digest, digest);
             j++)
            put_item(b, j > i, level + 2, order[j].e->logical_path, "", 0);
        indent(b, level + 1);
        put(b, "]", 1);
        publish(b, 0);
        i = j;
    }
    indent(b, level);
    put(b, "}", 1);
    free(order);
}

static int put_version(struct sbuf *b, const struct ocfl_inventory *inv,
                       const struct ocfl_version *v, int first)
{
    char name[32];
    int r = ocfl_inventory_version_name(inv, v->num, name, sizeof(name));

    if (r < 0)
        return r;
    put_key(b, 2, name, first);
    put(b, "{", 1);
    put_key(b, 3, "created", 1);
    put_str(b, v->created ? v->created : "");
    if (v->message) {
        put_key(b, 3, "message", 0);
        put_str(b, v->message);
    }
    put_key(b, 3, "state", 0);
    put_state(b, 3, v);
    if (v->user_name) {
        put_key(b, 3, "user", 0);
        put(b, "{", 1);
        put_key(b, 4, "name", 1);
        put_str(b, v->user_name);
        if (v->user_address) {
            put_key(b, 4, "address", 0);
            put_str(b, v->user_address);
        }
        indent(b, 3);
        put(b, "}", 1);
    }
    indent(b, 2);
    put(b, "}", 1);
    return 0;
}

static int cmp_fixity_ptr(const void *a, const void *b)
{
    const struct ocfl_fixity_block *x = *(const struct ocfl_fixity_block *const *)a;
    const struct ocfl_fixity_block *y = *(const struct ocfl_fixity_block *const *)b;
    return strcmp(x->algorithm, y->algorithm);
}

static void put_fixity(struct sbuf *b, const struct ocfl_inventory *inv)
{
    const struct ocfl_fixity_block **order;

    if (!inv->n_fixity) {
        puts_(b, "{}");
        return;
    }
    order = malloc(inv->n_fixity * sizeof(*order));
    if (!order) {
        b->oom = 1;
        return;
    }
    for (size_t i = 0; i < inv->n_fixity; i++)
        order[i] = &inv->fixity[i];
    qsort(order, inv->n_fixity, sizeof(*order), cmp_fixity_ptr);
    put(b, "{", 1);
    for (size_t i = 0; i < inv->n_fixity; i++) {
        put_key(b, 2, order[i]->algorithm, i == 0);
        put_entries(b, 2, order[i]->entries, order[i]->n_entries);
    }
    indent(b, 1);
    put(b, "}", 1);
    free(order);
}

/* The whole document into @b; 0 or a negative errno (with @err set). */
static int put_inventory(struct sbuf *b, const struct ocfl_inventory *inv, struct ocfl_err *err)
{
    const char *type = ocfl_spec_inventory_type(inv->spec);

    put(b, "{", 1);
    put_key(b, 1, "id", 1);
    put_str(b, inv->id);
    put_key(b, 1, "type", 0);
    put_str(b, type);
    put_key(b, 1, "digestAlgorithm", 0);
    put_str(b, inv->digest_algorithm);
    put_key(b, 1, "head", 0);
    put_str(b, inv->head);
    if (inv->content_directory) {
        put_key(b, 1, "contentDirectory", 0);
        put_str(b, inv->content_directory);
    }
    put_key(b, 1, "manifest", 0);
    put_entries(b, 1, inv->manifest, inv->n_manifest);
    put_key(b, 1, "versions", 0);
    if (!inv->n_versions)
        puts_(b, "{}");
    else
        put(b, "{", 1);
    for (size_t i = 0; i < inv->n_versions; i++) {
        int r = put_version(b, inv, &inv->versions[i], i == 0);
        if (r < 0)
            return ocfl_err_set(err, r, "cannot name version %u of inventory '%s'",
                                inv->versions[i].num, inv->id);
    }
    if (inv->n_versions) {
        indent(b, 1);
        put(b, "}", 1);
    }
    if (inv->has_fixity_key || inv->n_fixity) {
        put_key(b, 1, "fixity", 0);
        put_fixity(b, inv);
    }
    puts_(b, "\n}\n");
    if (b->oom)
        return ocfl_err_set(err, -ENOMEM, "cannot serialize inventory '%s': out of memory",
                            inv->id);
    b->buf[b->len] = '\0'; /* room() always leaves a byte for it */
    return 0;
}

static int check_serializable(const struct ocfl_inventory *inv, struct ocfl_err *err)
{
    if (!inv->id || !ocfl_spec_inventory_type(inv->spec) || !inv->digest_algorithm || !inv->head)
        return ocfl_err_set(err, -EINVAL,
                            "cannot serialize inventory: id, type, digestAlgorithm or head unset");
    for (size_t i = 0; i < inv->n_versions; i++)
        if (inv->versions[i].num != i + 1)
            return ocfl_err_set(err, -EINVAL,
                                "cannot serialize inventory '%s': version %zu is "
                                "numbered %u",
                                inv->id, i + 1, inv->versions[i].num);
    return 0;
}

int ocfl_inventory_serialize(const struct ocfl_inventory *inv, char **ret_buf, size_t *ret_len,
                             struct ocfl_err *err)
{
    struct sbuf b = {0};
    int r = check_serializable(inv, err);

    if (r < 0)
        return r;
    r = put_inventory(&b, inv, err);
    if (r < 0) {
        free(b.buf);
        return r;
    }
    *ret_buf = b.buf;
    *ret_len = b.len;
    return 0;
}

/*
 * With the lock held and nothing to digest: fault in some pages of the
 * buffer just ahead of the serializer, which then writes without taking
 * page faults (a tenth of its time on a fresh 50 MB buffer).  Contents are
 * unchanged (MADV_POPULATE_WRITE only maps the pages), so the serializer
 * may be writing there meanwhile.  1 when it worked outside the lock.
 */
static int prefault(struct feed *f)
{
#ifdef MADV_POPULATE_WRITE
    const uintptr_t page = 4096, step = 1024 * 1024, ahead = 8 * step;
    size_t from = f->populated > f->ready ? f->populated : f->ready;
    size_t to = f->alloc < f->ready + ahead ? f->alloc : f->ready + ahead;
    uintptr_t a, z;
    int r;

    if (f->no_prefault || from + step > to)
        return 0;
    to = from + step;
    a = ((uintptr_t)f->buf + from + page - 1) & ~(page - 1);
    z = ((uintptr_t)f->buf + to) & ~(page - 1);
    f->busy = 1;
    pthread_mutex_unlock(&f->lock);
    r = madvise((void *)a, z - a, MADV_POPULATE_WRITE);
    pthread_mutex_lock(&f->lock);
    f->busy = 0;
    f->populated = to;
    f->no_prefault = r < 0;
    pthread_cond_broadcast(&f->cond);
    return 1;
#else
    (void)f;
    return 0;
#endif
}

/* The digest thread: digest published bytes in order until the end. */
static void *feed_main(void *arg)
{
    struct feed *f = arg;

    pthread_mutex_lock(&f->lock);
    for (;;) {
        size_t from = f->done, to = f->ready;
        const char *buf = f->buf;
        if (from == to) {
            if (f->end)
                break;
            if (!prefault(f))
                pthread_cond_wait(&f->cond, &f->lock);
            continue;
        }
        if (to - from > FEED_STEP) /* let a growing buffer move soon */
            to = from + FEED_STEP;
        f->busy = 1;
        pthread_mutex_unlock(&f->lock);
        ocfl_hasher_update(f->hasher, buf + from, to - from);
        pthread_mutex_lock(&f->lock);
        f->busy = 0;
        f->done = to;
        pthread_cond_broadcast(&f->cond);
    }
    pthread_mutex_unlock(&f->lock);
    return NULL;
}

/* Tell the thread that nothing more comes (all of @b when !@b->oom) and wait for it. */
static void feed_finish(struct sbuf *b, pthread_t thread)
{
    struct feed *f = b->feed;

    pthread_mutex_lock(&f->lock);
    f->ready = b->oom ? f->ready : b->len;
    f->end = 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(thread, NULL);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    b->feed = NULL;
}

int ocfl_inventory_serialize_digest(const struct ocfl_inventory *inv, enum ocfl_digest_alg alg,
                                    char **ret_buf, size_t *ret_len, char *ret_hex,
                                    struct ocfl_err *err)
{
    struct feed f = {.ready = 0};
    struct sbuf b = {0};
    struct ocfl_hasher *h = NULL;
    pthread_t thread;
    char hex[OCFL_DIGEST_HEX_MAX];
    int r = check_serializable(inv, err);

    if (r < 0)
        return r;
    r = ocfl_hasher_new(1u << alg, &h, err);
    if (r < 0)
        return r;
    f.hasher = h;
    if (!pthread_mutex_init(&f.lock, NULL)) {
        if (!pthread_cond_init(&f.cond, NULL)) {
            if (!pthread_create(&thread, NULL, feed_main, &f))
                b.feed = &f;
            else
                pthread_cond_destroy(&f.cond);
        }
        if (!b.feed)
            pthread_mutex_destroy(&f.lock);
    }
    r = put_inventory(&b, inv, err);
    if (b.feed)
        feed_finish(&b, thread);
    else if (r >= 0) /* no thread to be had: digest afterwards */
        ocfl_hasher_update(h, b.buf, b.len);
    if (r >= 0) {
        r = ocfl_hasher_final(h, alg, hex);
        if (r < 0)
            ocfl_err_set(err, r, "cannot digest inventory '%s'", inv->id);
    }
    ocfl_hasher_free(h);
    if (r < 0) {
        free(b.buf);
        return r;
    }
    memcpy(ret_hex, hex, sizeof(hex));
    *ret_buf = b.buf;
    *ret_len = b.len;
    return 0;
}
