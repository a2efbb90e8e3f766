/* settings.c: the keys of ocflfs's settings, their defaults and checks, the values in force. */
#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "layout.h"
#include "path.h"

enum type {
    T_DURATION,
    T_COEFF,
    T_ATTEMPTS,
    T_ERRNOS,
    T_THREADS,
    T_TEXT,
    T_URI,
    T_OPTIONS,
    T_LAYOUT,
    T_DIGEST
};

struct key {
    const char *name, *def;
    enum type type;
    int secure; /* only from the system file or the command line */
};

#define DEFAULT_CODES "EINVAL EBADMSG ENOENT EEXIST ENOTDIR EISDIR ESTALE ECANCELED ENOTSUP"
#define RETRY(kind)                                                                                \
    {"retry." kind ".initial_interval", "100ms", T_DURATION, 0},                                   \
        {"retry." kind ".backoff_coefficient", "2.0", T_COEFF, 0},                                 \
        {"retry." kind ".maximum_interval", "30s", T_DURATION, 0},                                 \
        {"retry." kind ".maximum_attempts", "5", T_ATTEMPTS, 0},                                   \
    {                                                                                              \
        "retry." kind ".non_retryable", DEFAULT_CODES, T_ERRNOS, 0                                 \
    }

static const struct key keys[] = {
    RETRY("content"),
    RETRY("inventory"),
    RETRY("switch"),
    RETRY("release"),
    {"threads.content", "auto", T_THREADS, 0},
    {"threads.hashing", "auto", T_THREADS, 0},
    {"user.name", "", T_TEXT, 0},
    {"user.address", "", T_URI, 0},
    {"mount.address_template", "", T_TEXT, 1},
    {"mount.options", "", T_OPTIONS, 0},
    {"init.layout", "0004-hashed-n-tuple-storage-layout", T_LAYOUT, 0},
    {"init.digest", "sha512", T_DIGEST, 0},
};
#define N_KEYS (sizeof(keys) / sizeof(keys[0]))

/* -o options that widen who may reach a mount or who signs: the system's or the caller's to
 * give, never a file another user (or the root's owner) could write */
static const char *const secure_options[] = {
    "allow_other",  "allow_root",  "default_permissions",
    "commit_group", "named_users", "address_template",
    "user_map",     "http", /* the web view's listen address */
};

#define MAX_THREADS   1024
#define MAX_ATTEMPTS  1000000
#define MAX_DURATION  (24ull * 3600 * 1000) /* a day */
#define MAX_VALUE_LEN 4096

#define N_SOURCES (OCFL_SETTINGS_COMMAND_LINE + 1)

/* What one source said of a key: NULL when nothing. */
struct value {
    char *text, *where;
};

struct ocfl_settings {
    struct value v[N_KEYS][N_SOURCES];
    /* each key's value in force: the highest source's, or for -o lists (mount.options) every
     * source's joined, the lowest first (views into v, or joined strings owned here) */
    struct value now[N_KEYS];
    enum ocfl_settings_source now_src[N_KEYS];
    int now_owned[N_KEYS];
};

const char *ocfl_settings_source_name(enum ocfl_settings_source src)
{
    static const char *const names[] = {"default", "system", "user", "root", "command line"};
    return (unsigned)src < sizeof(names) / sizeof(names[0]) ? names[src] : "?";
}

size_t ocfl_settings_n_keys(void)
{
    return N_KEYS;
}

const char *ocfl_settings_key(size_t i)
{
    return i < N_KEYS ? keys[i].name : NULL;
}

const char *ocfl_settings_key_default(size_t i)
{
    return i < N_KEYS ? keys[i].def : NULL;
}

int ocfl_settings_key_secure(size_t i)
{
    return i < N_KEYS && keys[i].secure;
}

int ocfl_settings_key_index(const char *key)
{
    for (size_t i = 0; i < N_KEYS; i++)
        if (!strcmp(keys[i].name, key))
            return (int)i;
    return -1;
}

/* A duration: digits, then ms, s, m or h (bare digits are milliseconds).  0 or -EINVAL. */
static int parse_duration(const char *v, uint64_t *ret)
{
    char *end;
    unsigned long long n;
    uint64_t mul;

    if (!isdigit((unsigned char)*v))
        return -EINVAL;
    errno = 0;
    n = strtoull(v, &end, 10);
    if (errno)
        return -EINVAL;
    if (!*end || !strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "s"))
        mul = 1000;
    else if (!strcmp(end, "m"))
        mul = 60000;
    else if (!strcmp(end, "h"))
        mul = 3600000;
    else
        return -EINVAL;
    if (n > MAX_DURATION / mul)
        return -EINVAL;
    *ret = n * mul;
    return 0;
}

static int parse_uint(const char *v, unsigned long max, unsigned long *ret)
{
    char *end;
    unsigned long n;

    if (!isdigit((unsigned char)*v))
        return -EINVAL;
    errno = 0;
    n = strtoul(v, &end, 10);
    if (errno || *end || n > max)
        return -EINVAL;
    *ret = n;
    return 0;
}

/* Each errno name of @v (spaces or commas between them; "none" alone for none) into
 * @codes; the count, or -EINVAL naming the bad one in @err, or -E2BIG. */
static int parse_errnos(const char *v, int *codes, size_t max, struct ocfl_err *err)
{
    char name[64];
    size_t n = 0;

    if (!strcmp(v, "none"))
        return 0;
    while (*v) {
        size_t len = strcspn(v, " ,\t");
        if (len) {
            int e;
            if (len >= sizeof(name))
                return ocfl_err_set(err, -EINVAL, "'%.*s' is no errno name", (int)len, v);
            memcpy(name, v, len);
            name[len] = 0;
            if (!(e = ocfl_errno_from_name(name)))
                return ocfl_err_set(err, -EINVAL, "'%s' is no errno name (as EIO, ENOSPC)", name);
            if (n == max)
                return ocfl_err_set(err, -E2BIG, "more than %zu errno names", max);
            codes[n++] = e;
        }
        v += len;
        v += strspn(v, " ,\t");
    }
    if (!n)
        return ocfl_err_set(err, -EINVAL, "errno names wanted (or 'none')");
    return (int)n;
}

static int is_uri(const char *v)
{
    if (!isalpha((unsigned char)*v))
        return 0;
    while (isalnum((unsigned char)*v) || *v == '+' || *v == '-' || *v == '.')
        v++;
    return *v == ':' && v[1];
}

/* The option names of a -o list that only the system file or the command line may give. */
static int check_options(const char *key, const char *v, enum ocfl_settings_source src,
                         struct ocfl_err *err)
{
    while (*v) {
        size_t len = strcspn(v, ","), name = strcspn(v, ",=");
        if (name > len)
            name = len;
        if (!len)
            return ocfl_err_set(err, -EINVAL, "'%s': an empty option", key);
        /* FUSE un-escapes "\X" and "\NNN" after the names were compared here */
        if (memchr(v, '\\', len))
            return ocfl_err_set(err, -EINVAL, "'%s': option '%.*s': a backslash is refused", key,
                                (int)len, v);
        /* one mount's doing, never every mount's: a file's list would wipe or move the state */
        if (src != OCFL_SETTINGS_COMMAND_LINE && ((name == 11 && !strncmp(v, "fresh_state", 11)) ||
                                                  (name == 5 && !strncmp(v, "state", 5))))
            return ocfl_err_set(err, -EINVAL,
                                "'%s': option '%.*s' is taken only from the command line", key,
                                (int)name, v);
        for (size_t i = 0; src != OCFL_SETTINGS_SYSTEM && src != OCFL_SETTINGS_COMMAND_LINE &&
                           i < sizeof(secure_options) / sizeof(secure_options[0]);
             i++)
            if (strlen(secure_options[i]) == name && !strncmp(v, secure_options[i], name))
                return ocfl_err_set(err, -EINVAL,
                                    "'%s': option '%s' is taken only from the system file or "
                                    "the command line",
                                    key, secure_options[i]);
        v += len;
        if (*v == ',')
            v++;
    }
    return 0;
}

int ocfl_settings_check(const char *key, const char *value, enum ocfl_settings_source src,
                        struct ocfl_err *err)
{
    int i = ocfl_settings_key_index(key);
    const struct key *k;
    unsigned long n;
    uint64_t ms;
    double d;
    char *end;
    int codes[64];

    if (i < 0)
        return ocfl_err_set(err, -ENOENT, "'%s': no such key", key);
    k = &keys[i];
    if (strlen(value) > MAX_VALUE_LEN)
        return ocfl_err_set(err, -EINVAL, "'%s': longer than %d bytes", key, MAX_VALUE_LEN);
    /* config --json could not show it (and a name or an address is text) */
    if (!ocfl_utf8_valid(value, strlen(value)))
        return ocfl_err_set(err, -EINVAL, "'%s': not UTF-8", key);
    if (k->secure && src != OCFL_SETTINGS_SYSTEM && src != OCFL_SETTINGS_COMMAND_LINE &&
        src != OCFL_SETTINGS_DEFAULT)
        return ocfl_err_set(err, -EINVAL,
                            "'%s' is taken only from the system file or the command line, not "
                            "from the %s file",
                            key, ocfl_settings_source_name(src));
    switch (k->type) {
    case T_DURATION:
        if (parse_duration(value, &ms) < 0)
            return ocfl_err_set(err, -EINVAL,
                                "'%s': '%s' is no duration (as 100ms, 30s, 2m, at most 24h)", key,
                                value);
        return 0;
    case T_COEFF:
        errno = 0;
        d = strtod(value, &end);
        if (!*value || *end || errno || !(d >= 1.0 && d <= 100.0))
            return ocfl_err_set(err, -EINVAL, "'%s': '%s' is no number from 1 to 100", key, value);
        return 0;
    case T_ATTEMPTS:
        if (parse_uint(value, MAX_ATTEMPTS, &n) < 0 || n < 1)
            return ocfl_err_set(err, -EINVAL, "'%s': '%s' is no count from 1 to %d", key, value,
                                MAX_ATTEMPTS);
        return 0;
    case T_ERRNOS: {
        struct ocfl_err e = {0};
        int r = parse_errnos(value, codes, 32, &e);
        return r < 0 ? ocfl_err_set(err, r, "'%s': %s", key, e.msg) : 0;
    }
    case T_THREADS:
        if (strcmp(value, "auto") && (parse_uint(value, MAX_THREADS, &n) < 0 || n < 1))
            return ocfl_err_set(err, -EINVAL, "'%s': '%s' is neither 'auto' nor from 1 to %d", key,
                                value, MAX_THREADS);
        return 0;
    case T_URI:
        if (*value && !is_uri(value))
            return ocfl_err_set(err, -EINVAL,
                                "'%s': '%s' is no URI (a scheme and a colon: mailto:a@example.org)",
                                key, value);
        return 0;
    case T_OPTIONS:
        return check_options(key, value, src, err);
    case T_LAYOUT:
        for (const char *const *l = ocfl_layout_names(); *l; l++)
            if (!strcmp(*l, value))
                return 0;
        return ocfl_err_set(err, -EINVAL, "'%s': '%s' is no layout this ocflfs knows", key, value);
    case T_DIGEST:
        if (strcmp(value, "sha512") && strcmp(value, "sha256"))
            return ocfl_err_set(err, -EINVAL, "'%s': '%s' is neither sha512 nor sha256", key,
                                value);
        return 0;
    case T_TEXT:
        for (const char *c = value; *c; c++)
            if ((unsigned char)*c < 0x20)
                return ocfl_err_set(err, -EINVAL, "'%s': a control character", key);
        return 0;
    }
    return 0;
}

int ocfl_settings_new(struct ocfl_settings **ret)
{
    struct ocfl_settings *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

static void drop_now(struct ocfl_settings *s, size_t i)
{
    if (s->now_owned[i]) {
        free(s->now[i].text);
        free(s->now[i].where);
    }
    s->now[i] = (struct value){NULL, NULL};
    s->now_owned[i] = 0;
    s->now_src[i] = OCFL_SETTINGS_DEFAULT;
}

/* Work out key @i's value in force after a change.  0 or -ENOMEM (then it is the default). */
static int refresh(struct ocfl_settings *s, size_t i)
{
    size_t tl = 0, wl = 0, n = 0;
    int top = -1;

    drop_now(s, i);
    for (int k = 1; k < N_SOURCES; k++)
        if (s->v[i][k].text) {
            top = k;
            if (*s->v[i][k].text) {
                tl += strlen(s->v[i][k].text) + 1;
                wl += strlen(s->v[i][k].where) + 2;
                n++;
            }
        }
    if (top < 0)
        return 0;
    s->now_src[i] = (enum ocfl_settings_source)top;
    if (keys[i].type != T_OPTIONS || n < 2) {
        /* one value: the highest source's (for -o lists, the one that is not empty) */
        for (int k = N_SOURCES - 1; keys[i].type == T_OPTIONS && n == 1 && k > 0; k--)
            if (s->v[i][k].text && *s->v[i][k].text) {
                s->now[i] = s->v[i][k];
                s->now_src[i] = (enum ocfl_settings_source)k; /* not the empty one above */
                return 0;
            }
        s->now[i] = s->v[i][top];
        return 0;
    }
    char *t = malloc(tl), *w = malloc(wl);
    if (!t || !w) {
        free(t);
        free(w);
        s->now_src[i] = OCFL_SETTINGS_DEFAULT;
        return -ENOMEM;
    }
    t[0] = w[0] = 0;
    for (int k = 1; k < N_SOURCES; k++)
        if (s->v[i][k].text && *s->v[i][k].text) {
            if (*t) {
                strcat(t, ",");
                strcat(w, ", ");
            }
            strcat(t, s->v[i][k].text);
            strcat(w, s->v[i][k].where);
        }
    s->now[i] = (struct value){t, w};
    s->now_owned[i] = 1;
    return 0;
}

void ocfl_settings_free(struct ocfl_settings *s)
{
    if (!s)
        return;
    for (size_t i = 0; i < N_KEYS; i++) {
        drop_now(s, i);
        for (int k = 0; k < N_SOURCES; k++) {
            free(s->v[i][k].text);
            free(s->v[i][k].where);
        }
    }
    free(s);
}

int ocfl_settings_set(struct ocfl_settings *s, const char *key, const char *value,
                      enum ocfl_settings_source src, const char *where, struct ocfl_err *err)
{
    struct ocfl_err e = {0};
    int i = ocfl_settings_key_index(key), r;
    char *t, *w;

    r = ocfl_settings_check(key, value, src, &e);
    if (r < 0)
        return ocfl_err_set(err, r, "%s: %s", where, e.msg);
    if ((unsigned)src >= N_SOURCES || src == OCFL_SETTINGS_DEFAULT)
        return ocfl_err_set(err, -EINVAL, "%s: no such source", where);
    t = strdup(value);
    w = strdup(where);
    if (!t || !w) {
        free(t);
        free(w);
        return ocfl_err_set(err, -ENOMEM, "%s: out of memory", where);
    }
    drop_now(s, (size_t)i); /* it may point at the value replaced */
    free(s->v[i][src].text);
    free(s->v[i][src].where);
    s->v[i][src] = (struct value){t, w};
    if (refresh(s, (size_t)i) < 0)
        return ocfl_err_set(err, -ENOMEM, "%s: out of memory", where);
    return 0;
}

const char *ocfl_settings_get(const struct ocfl_settings *s, const char *key,
                              enum ocfl_settings_source *ret_src, const char **ret_where)
{
    int i = ocfl_settings_key_index(key);

    if (i < 0)
        return NULL;
    if (ret_src)
        *ret_src = s->now[i].text ? s->now_src[i] : OCFL_SETTINGS_DEFAULT;
    if (ret_where)
        *ret_where = s->now[i].text ? s->now[i].where : "default";
    return s->now[i].text ? s->now[i].text : keys[i].def;
}

uint64_t ocfl_settings_ms(const struct ocfl_settings *s, const char *key)
{
    int i = ocfl_settings_key_index(key);
    uint64_t ms = 0;

    if (i >= 0 && keys[i].type == T_DURATION)
        parse_duration(ocfl_settings_get(s, key, NULL, NULL), &ms);
    return ms;
}

unsigned ocfl_settings_count(const struct ocfl_settings *s, const char *key)
{
    int i = ocfl_settings_key_index(key);
    unsigned long n = 0;

    if (i >= 0 && (keys[i].type == T_THREADS || keys[i].type == T_ATTEMPTS) &&
        parse_uint(ocfl_settings_get(s, key, NULL, NULL), UINT_MAX, &n) < 0)
        n = 0;
    return (unsigned)n;
}

double ocfl_settings_number(const struct ocfl_settings *s, const char *key)
{
    int i = ocfl_settings_key_index(key);

    return i >= 0 && keys[i].type == T_COEFF ? strtod(ocfl_settings_get(s, key, NULL, NULL), NULL)
                                             : 0;
}

int ocfl_settings_errnos(const struct ocfl_settings *s, const char *key, int *codes, size_t max)
{
    int i = ocfl_settings_key_index(key);

    if (i < 0 || keys[i].type != T_ERRNOS)
        return 0;
    return parse_errnos(ocfl_settings_get(s, key, NULL, NULL), codes, max, NULL);
}
