/* json.c: jansson parse and dump that never hand back a result built while an allocation failed. */
#include "json_priv.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static _Thread_local unsigned long failures;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void *json_alloc(size_t n)
{
    void *p = malloc(n);

    if (!p)
        failures++;
    return p;
}

static void json_release(void *p)
{
    free(p);
}

/* Blocks from jansson's default allocator are malloc'd too, so switching at any time is safe. */
static void install(void)
{
    json_set_alloc_funcs(json_alloc, json_release);
}

json_t *ocfl_json_loadb(const char *buf, size_t len, size_t flags, json_error_t *jerr, int *ret_oom)
{
    unsigned long before;
    json_t *j;

    pthread_once(&once, install);
    before = failures;
    j = json_loadb(buf, len, flags, jerr);
    if (ret_oom)
        *ret_oom = failures != before;
    if (failures != before) {
        json_decref(j);
        if (jerr)
            snprintf(jerr->text, sizeof(jerr->text), "out of memory");
        return NULL;
    }
    return j;
}

char *ocfl_json_dumps(const json_t *json, size_t flags)
{
    unsigned long before;
    char *text;

    pthread_once(&once, install);
    before = failures;
    text = json_dumps(json, flags);
    if (failures != before) {
        free(text);
        return NULL;
    }
    return text;
}
