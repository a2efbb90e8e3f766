/* jsonbuf.c: a growing buffer of JSON text, optionally digested on a second thread as it grows. */
#include "jsonbuf.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

/*
 * Why a second thread: a commit to an object of 100,000 files writes ~50 MB
 * of JSON, and digesting it (SHA-512 on one core) costs nearly as much as
 * writing it.  The thread digests published bytes in order while the
 * writer goes on.  The buffer may move when it grows (realloc): the writer
 * then waits until the thread is not reading it (@busy).
 */
struct ocfl_jbuf_feed {
    pthread_mutex_t lock;
    pthread_cond_t cond; /* new bytes, the end, or the thread left the buffer */
    pthread_t thread;
    const char *buf;            /* moves only while !busy (the writer waits) */
    size_t ready, done;         /* bytes published / digested */
    size_t alloc, populated;    /* the buffer's size; the thread faulted pages in up to here */
    int busy;                   /* the thread is using buf outside the lock */
    int no_prefault;            /* the kernel cannot populate pages ahead */
    int end;                    /* no more bytes will come */
    struct ocfl_hasher *hasher; /* used by the thread only until it is joined */
};

/* A moving buffer waits until the thread is out of it. */
int ocfl_jbuf_grow(struct ocfl_jbuf *b, size_t n)
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

void ocfl_jbuf_puts(struct ocfl_jbuf *b, const char *s)
{
    ocfl_jbuf_put(b, s, strlen(s));
}

void ocfl_jbuf_indent(struct ocfl_jbuf *b, int level)
{
    static const char nl_spaces[] = "\n                                ";
    size_t n =
        (size_t)level * 2 < sizeof(nl_spaces) - 2 ? (size_t)level * 2 : sizeof(nl_spaces) - 2;
    ocfl_jbuf_put(b, nl_spaces, n + 1);
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
static __attribute__((noinline)) void put_escaped(struct ocfl_jbuf *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";

    while (n) {
        size_t k = clean_prefix(s, n);
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t len = 2;
        unsigned char ch;

        ocfl_jbuf_put(b, s, k);
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
        ocfl_jbuf_put(b, esc, len);
        s++;
        n--;
    }
}

void ocfl_jbuf_str(struct ocfl_jbuf *b, const char *s)
{
    size_t n = strlen(s), k;

    if (!ocfl_jbuf_room(b, n + 2))
        return;
    k = clean_prefix(s, n);
    b->buf[b->len++] = '"';
    memcpy(b->buf + b->len, s, k);
    b->len += k;
    if (k < n)
        put_escaped(b, s + k, n - k);
    ocfl_jbuf_put(b, "\"", 1);
}

/* The hot path of a large inventory (three per manifest entry): room is
 * reserved once and a string needing no escaping (all digests, most paths)
 * is copied in one go. */
void ocfl_jbuf_item(struct ocfl_jbuf *b, int comma, int level, const char *s, const char *after,
                    size_t after_len)
{
    static const char nl_spaces[] = "\n                                ";
    size_t n = strlen(s), ind = (size_t)level * 2, k;
    char *o;

    if (ind > sizeof(nl_spaces) - 2)
        ind = sizeof(nl_spaces) - 2;
    if (!ocfl_jbuf_room(b, n + ind + after_len + 4))
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
    ocfl_jbuf_put(b, "\"", 1);
    ocfl_jbuf_put(b, after, after_len);
}

/*
 * With the lock held and nothing to digest: fault in some pages of the
 * buffer just ahead of the serializer, which then writes without taking
 * page faults (a tenth of its time on a fresh 50 MB buffer).  Contents are
 * unchanged (MADV_POPULATE_WRITE only maps the pages), so the serializer
 * may be writing there meanwhile.  1 when it worked outside the lock.
 */
static int prefault(struct ocfl_jbuf_feed *f)
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
    struct ocfl_jbuf_feed *f = arg;

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
        if (to - from > OCFL_JBUF_FEED_STEP) /* let a growing buffer move soon */
            to = from + OCFL_JBUF_FEED_STEP;
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

int ocfl_jbuf_digest_start(struct ocfl_jbuf *b, struct ocfl_hasher *h)
{
    struct ocfl_jbuf_feed *f = calloc(1, sizeof(*f));
    int r;

    if (!f)
        return -ENOMEM;
    f->hasher = h;
    f->buf = b->buf;
    f->alloc = b->alloc;
    f->ready = f->populated = b->published = b->len; /* the thread starts at byte 0 */
    r = -pthread_mutex_init(&f->lock, NULL);
    if (!r) {
        r = -pthread_cond_init(&f->cond, NULL);
        if (!r) {
            sigset_t all, old;
            /* signals stay with the caller's threads: the digest thread blocks them all */
            sigfillset(&all);
            pthread_sigmask(SIG_SETMASK, &all, &old);
            r = -pthread_create(&f->thread, NULL, feed_main, f);
            pthread_sigmask(SIG_SETMASK, &old, NULL);
            if (!r) {
                b->feed = f;
                return 0;
            }
            pthread_cond_destroy(&f->cond);
        }
        pthread_mutex_destroy(&f->lock);
    }
    free(f);
    return r;
}

void ocfl_jbuf_publish_now(struct ocfl_jbuf *b)
{
    struct ocfl_jbuf_feed *f = b->feed;

    pthread_mutex_lock(&f->lock);
    f->ready = b->published = b->len;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
}

void ocfl_jbuf_digest_finish(struct ocfl_jbuf *b)
{
    struct ocfl_jbuf_feed *f = b->feed;

    if (!f)
        return;
    pthread_mutex_lock(&f->lock);
    if (!b->oom)
        f->ready = b->published = b->len;
    f->end = 1;
    pthread_cond_broadcast(&f->cond);
    pthread_mutex_unlock(&f->lock);
    pthread_join(f->thread, NULL);
    pthread_cond_destroy(&f->cond);
    pthread_mutex_destroy(&f->lock);
    free(f);
    b->feed = NULL;
}
