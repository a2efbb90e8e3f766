/* failmalloc.c: allocation wrappers (ld --wrap) that fail the Nth allocation and track live blocks.
 */
#include "failmalloc.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_reallocarray(void *p, size_t n, size_t size);
void __real_free(void *p);
char *__real_strdup(const char *s);
char *__real_strndup(const char *s, size_t n);
int __real_vasprintf(char **strp, const char *fmt, va_list ap);
DIR *__real_fdopendir(int fd);

void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_reallocarray(void *p, size_t n, size_t size);
void __wrap_free(void *p);
char *__wrap_strdup(const char *s);
char *__wrap_strndup(const char *s, size_t n);
int __wrap_asprintf(char **strp, const char *fmt, ...);
int __wrap_vasprintf(char **strp, const char *fmt, va_list ap);
DIR *__wrap_fdopendir(int fd);

enum { TAG_OURS = 1, TAG_CRYPTO = 2 };

/* Live blocks: open addressing, linear probing, deletion by backward shift (no tombstones). */
#define TABLE_BITS 19
#define TABLE_SIZE (1u << TABLE_BITS)
static struct slot {
    uintptr_t key; /* 0 = empty */
    unsigned tag;
} table[TABLE_SIZE];
static size_t n_live[3];

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int armed, sticky;
static unsigned long fail_at, count, failed;

static size_t slot_of(uintptr_t key)
{
    return (size_t)(((uint64_t)key >> 4) * 0x9E3779B97F4A7C15ull >> (64 - TABLE_BITS));
}

static void track_locked(void *p, unsigned tag)
{
    uintptr_t key = (uintptr_t)p;
    size_t i;

    if (!p)
        return;
    if ((n_live[TAG_OURS] + n_live[TAG_CRYPTO]) * 8 > TABLE_SIZE * 7) {
        fprintf(stderr, "failmalloc: too many live blocks\n");
        abort();
    }
    for (i = slot_of(key); table[i].key; i = (i + 1) & (TABLE_SIZE - 1))
        if (table[i].key == key)
            break;
    if (table[i].key != key)
        n_live[tag]++;
    else
        n_live[table[i].tag]--, n_live[tag]++;
    table[i].key = key;
    table[i].tag = tag;
}

static void untrack_locked(void *p)
{
    uintptr_t key = (uintptr_t)p;
    size_t i, j;

    if (!p)
        return;
    for (i = slot_of(key); table[i].key != key; i = (i + 1) & (TABLE_SIZE - 1))
        if (!table[i].key)
            return; /* allocated inside libc (getline, opendir ...), not by us */
    n_live[table[i].tag]--;
    table[i].key = 0;
    /* shift later members of the probe run back into the hole */
    for (j = (i + 1) & (TABLE_SIZE - 1); table[j].key; j = (j + 1) & (TABLE_SIZE - 1)) {
        size_t home = slot_of(table[j].key);
        /* move j to i unless home lies cyclically in (i, j] */
        if ((i <= j) ? (home <= i || home > j) : (home <= i && home > j)) {
            table[i] = table[j];
            table[j].key = 0;
            i = j;
        }
    }
}

static void track(void *p, unsigned tag)
{
    pthread_mutex_lock(&lock);
    track_locked(p, tag);
    pthread_mutex_unlock(&lock);
}

static void untrack(void *p)
{
    pthread_mutex_lock(&lock);
    untrack_locked(p);
    pthread_mutex_unlock(&lock);
}

/* Count one allocation; true when it must fail. */
static int should_fail(void)
{
    int fail = 0;

    pthread_mutex_lock(&lock);
    count++;
    if (armed && fail_at && (count == fail_at || (sticky && count > fail_at))) {
        fail = 1;
        failed++;
    }
    pthread_mutex_unlock(&lock);
    return fail;
}

void *__wrap_malloc(size_t n)
{
    void *p;

    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    p = __real_malloc(n);
    track(p, TAG_OURS);
    return p;
}

void *__wrap_calloc(size_t n, size_t size)
{
    void *p;

    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    p = __real_calloc(n, size);
    track(p, TAG_OURS);
    return p;
}

static void *realloc_tagged(void *p, size_t n, unsigned tag)
{
    void *q;

    if (should_fail()) {
        errno = ENOMEM;
        return NULL; /* p stays allocated */
    }
    q = __real_realloc(p, n);
    pthread_mutex_lock(&lock);
    if (q || n == 0)
        untrack_locked(p);
    track_locked(q, tag);
    pthread_mutex_unlock(&lock);
    return q;
}

void *__wrap_realloc(void *p, size_t n)
{
    return realloc_tagged(p, n, TAG_OURS);
}

void *__wrap_reallocarray(void *p, size_t n, size_t size)
{
    if (size && n > SIZE_MAX / size) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_tagged(p, n * size, TAG_OURS);
}

void __wrap_free(void *p)
{
    untrack(p);
    __real_free(p);
}

char *__wrap_strdup(const char *s)
{
    char *p;

    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    p = __real_strdup(s);
    track(p, TAG_OURS);
    return p;
}

char *__wrap_strndup(const char *s, size_t n)
{
    char *p;

    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    p = __real_strndup(s, n);
    track(p, TAG_OURS);
    return p;
}

int __wrap_vasprintf(char **strp, const char *fmt, va_list ap)
{
    int r;

    if (should_fail()) {
        errno = ENOMEM;
        return -1;
    }
    r = __real_vasprintf(strp, fmt, ap);
    if (r >= 0)
        track(*strp, TAG_OURS);
    return r;
}

int __wrap_asprintf(char **strp, const char *fmt, ...)
{
    va_list ap;
    int r;

    va_start(ap, fmt);
    r = __wrap_vasprintf(strp, fmt, ap);
    va_end(ap);
    return r;
}

/* fdopendir allocates its DIR inside libc; fail it like an allocation. */
DIR *__wrap_fdopendir(int fd)
{
    if (should_fail()) {
        errno = ENOMEM;
        return NULL;
    }
    return __real_fdopendir(fd);
}

static void *json_malloc_fn(size_t n)
{
    return __wrap_malloc(n);
}

static void json_free_fn(void *p)
{
    __wrap_free(p);
}

static void *crypto_malloc_fn(size_t n, const char *file, int line)
{
    void *p;

    (void)file, (void)line;
    if (should_fail())
        return NULL;
    p = __real_malloc(n);
    track(p, TAG_CRYPTO);
    return p;
}

static void *crypto_realloc_fn(void *p, size_t n, const char *file, int line)
{
    (void)file, (void)line;
    return realloc_tagged(p, n, TAG_CRYPTO);
}

static void crypto_free_fn(void *p, const char *file, int line)
{
    (void)file, (void)line;
    __wrap_free(p);
}

int failmalloc_init(void)
{
    json_set_alloc_funcs(json_malloc_fn, json_free_fn);
    return CRYPTO_set_mem_functions(crypto_malloc_fn, crypto_realloc_fn, crypto_free_fn) ? 0 : -1;
}

void failmalloc_arm(unsigned long n, int is_sticky)
{
    pthread_mutex_lock(&lock);
    armed = 1;
    fail_at = n;
    sticky = is_sticky;
    count = 0;
    failed = 0;
    pthread_mutex_unlock(&lock);
}

unsigned long failmalloc_disarm(void)
{
    unsigned long n;

    pthread_mutex_lock(&lock);
    armed = 0;
    n = count;
    pthread_mutex_unlock(&lock);
    return n;
}

unsigned long failmalloc_failed(void)
{
    unsigned long n;

    pthread_mutex_lock(&lock);
    n = failed;
    pthread_mutex_unlock(&lock);
    return n;
}

size_t failmalloc_live(void)
{
    size_t n;

    pthread_mutex_lock(&lock);
    n = n_live[TAG_OURS];
    pthread_mutex_unlock(&lock);
    return n;
}

size_t failmalloc_live_crypto(void)
{
    size_t n;

    pthread_mutex_lock(&lock);
    n = n_live[TAG_CRYPTO];
    pthread_mutex_unlock(&lock);
    return n;
}

int failmalloc_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;

    if (!d)
        return -1;
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own fd */
}
