/* retry.c: retry policies: delays, retryable errors, the kinds of step, the JSON a plan records. */
#include "journal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const int default_non_retryable[] = {
    -EINVAL,    -EBADMSG, -ENOENT, -EEXIST, -ENOTDIR, -EISDIR, -ESTALE /* JOURNAL_CONFLICT */,
    -ECANCELED, -ENOTSUP,
};

static const char *const kind_names[JOURNAL_RETRY_KIND_COUNT] = {"content", "inventory", "switch",
                                                                 "release"};

const char *journal_retry_kind_name(enum journal_retry_kind k)
{
    return (unsigned)k < JOURNAL_RETRY_KIND_COUNT ? kind_names[k] : NULL;
}

enum journal_retry_kind journal_retry_kind_of(enum ocfl_step_kind step)
{
    switch (step) {
    case OCFL_STEP_CONTENT:
        return JOURNAL_RETRY_CONTENT;
    case OCFL_STEP_ROOT_INV:
    case OCFL_STEP_ROOT_SIDECAR:
    case OCFL_STEP_PURGE_MOVE:
        return JOURNAL_RETRY_SWITCH;
    case OCFL_STEP_RELEASE:
    case OCFL_STEP_PURGE_DELETE:
    case OCFL_STEP_PURGE_PRUNE:
        return JOURNAL_RETRY_RELEASE;
    default: /* declaration, version directories, version inventory */
        return JOURNAL_RETRY_INVENTORY;
    }
}

void journal_retry_default(struct journal_retry *r)
{
    memset(r, 0, sizeof(*r));
    r->initial_ms = 100;
    r->coefficient = 2.0;
    r->max_ms = 30000;
    r->max_attempts = 5;
    r->n_non_retryable = sizeof(default_non_retryable) / sizeof(default_non_retryable[0]);
    memcpy(r->non_retryable, default_non_retryable, sizeof(default_non_retryable));
}

uint64_t journal_retry_delay_ms(const struct journal_retry *r, unsigned attempt)
{
    double d = (double)r->initial_ms;

    for (unsigned i = 1; i < attempt && d < (double)r->max_ms; i++)
        d *= r->coefficient;
    if (d > (double)r->max_ms)
        d = (double)r->max_ms;
    return (uint64_t)(d + 0.5);
}

int journal_retry_allowed(const struct journal_retry *r, int code)
{
    /* a conflict or a cancel is never retried, whatever the list says */
    if (code == JOURNAL_CONFLICT || code == -ECANCELED)
        return 0;
    for (unsigned i = 0; i < r->n_non_retryable && i < JOURNAL_RETRY_CODES_MAX; i++)
        if (r->non_retryable[i] == code)
            return 0;
    return 1;
}

static json_t *policy_json(const struct journal_retry *r)
{
    json_t *o = json_object(), *codes = json_array();
    int bad = !o || !codes;

    for (unsigned i = 0; !bad && i < r->n_non_retryable && i < JOURNAL_RETRY_CODES_MAX; i++) {
        const char *n = ocfl_errno_name(r->non_retryable[i]);
        bad |= json_array_append_new(codes,
                                     n ? json_string(n) : json_integer(-r->non_retryable[i])) < 0;
    }
    if (!bad) {
        bad |=
            json_object_set_new(o, "initial_interval_ms", json_integer((json_int_t)r->initial_ms));
        bad |= json_object_set_new(o, "backoff_coefficient", json_real(r->coefficient));
        bad |= json_object_set_new(o, "maximum_interval_ms", json_integer((json_int_t)r->max_ms));
        bad |= json_object_set_new(o, "maximum_attempts", json_integer(r->max_attempts));
        bad |= json_object_set(o, "non_retryable", codes);
    }
    json_decref(codes);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int journal_retry_to_json(const struct journal_retry r[JOURNAL_RETRY_KIND_COUNT], char **ret)
{
    json_t *all = json_object();
    char *s = NULL;

    for (int k = 0; all && k < JOURNAL_RETRY_KIND_COUNT; k++) {
        json_t *o = policy_json(&r[k]);
        if (!o || json_object_set_new(all, kind_names[k], o) < 0) {
            json_decref(all);
            all = NULL;
        }
    }
    if (all)
        s = json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    json_decref(all);
    if (!s)
        return -ENOMEM;
    *ret = s;
    return 0;
}

/* The bounds the settings check (ocfl/settings.c): a recorded policy edited by hand past them
 * is refused, not run (a negative or huge coefficient is no wait). */
#define MAX_INTERVAL_MS (24ll * 3600 * 1000)

static int policy_from(json_t *o, struct journal_retry *r)
{
    json_t *v, *codes = json_object_get(o, "non_retryable");
    size_t i;

    if (!json_is_object(o) || !json_is_array(codes) ||
        json_array_size(codes) > JOURNAL_RETRY_CODES_MAX)
        return -EBADMSG;
    if (!json_is_integer(v = json_object_get(o, "initial_interval_ms")) ||
        json_integer_value(v) < 0 || json_integer_value(v) > MAX_INTERVAL_MS)
        return -EBADMSG;
    r->initial_ms = (uint64_t)json_integer_value(v);
    if (!json_is_number(v = json_object_get(o, "backoff_coefficient")) ||
        !(json_number_value(v) >= 1.0 && json_number_value(v) <= 100.0))
        return -EBADMSG;
    r->coefficient = json_number_value(v);
    if (!json_is_integer(v = json_object_get(o, "maximum_interval_ms")) ||
        json_integer_value(v) < 0 || json_integer_value(v) > MAX_INTERVAL_MS)
        return -EBADMSG;
    r->max_ms = (uint64_t)json_integer_value(v);
    if (!json_is_integer(v = json_object_get(o, "maximum_attempts")) || json_integer_value(v) < 1 ||
        json_integer_value(v) > 1000000)
        return -EBADMSG;
    r->max_attempts = (unsigned)json_integer_value(v);
    r->n_non_retryable = 0;
    json_array_foreach(codes, i, v)
    {
        int e = json_is_string(v)    ? ocfl_errno_from_name(json_string_value(v))
                : json_is_integer(v) ? (int)json_integer_value(v)
                                     : 0;
        if (e <= 0 || e > 4095)
            return -EBADMSG;
        r->non_retryable[r->n_non_retryable++] = -e;
    }
    return 0;
}

int journal_retry_from_json(const char *json, struct journal_retry r[JOURNAL_RETRY_KIND_COUNT])
{
    json_t *all = json_loads(json, JSON_REJECT_DUPLICATES, NULL);
    int ret = json_is_object(all) ? 0 : -EBADMSG;
    struct journal_retry got[JOURNAL_RETRY_KIND_COUNT];

    /* @r changes only when every policy is good */
    memcpy(got, r, sizeof(got));
    for (int k = 0; !ret && k < JOURNAL_RETRY_KIND_COUNT; k++) {
        json_t *o = json_object_get(all, kind_names[k]);
        if (o)
            ret = policy_from(o, &got[k]);
    }
    json_decref(all);
    if (!ret)
        memcpy(r, got, sizeof(got));
    return ret;
}
