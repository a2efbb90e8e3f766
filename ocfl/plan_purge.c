/* plan_purge.c: the plan that removes an object from its storage root for good. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "path.h"
#include "plan.h"

int ocfl_plan_kind_is_purge(enum ocfl_step_kind first_kind)
{
    return first_kind == OCFL_STEP_PURGE_MOVE;
}

/* Whether @a is @b or a directory above it. */
static int is_within(const char *b, const char *a)
{
    size_t n = strlen(a);
    return !strncmp(a, b, n) && (b[n] == 0 || b[n] == '/');
}

static char *dup_or_null(const char *s, int *oom)
{
    char *d = s ? strdup(s) : NULL;
    if (s && !d)
        *oom = 1;
    return d;
}

int ocfl_plan_build_purge(const struct ocfl_inventory *inv, const char *inventory_digest,
                          const char *object_path, const char *trash, const char *created,
                          const char *user_name, const char *user_address, struct ocfl_plan **ret,
                          struct ocfl_err *err)
{
    struct ocfl_plan *p;
    int oom = 0;

    *ret = NULL;
    if (!inv || !inv->head || !inv->n_versions || !inventory_digest || !created)
        return ocfl_err_set(err, -EINVAL, "purge: no object, digest or time given");
    if (!object_path || !*object_path || ocfl_path_check(object_path) != OCFL_PATH_OK)
        return ocfl_err_set(err, -EINVAL, "purge: '%s' is not a path in the storage root",
                            object_path ? object_path : "");
    if (!trash || !*trash || ocfl_path_check(trash) != OCFL_PATH_OK)
        return ocfl_err_set(err, -EINVAL, "purge: '%s' is not a path in the storage root",
                            trash ? trash : "");
    if (is_within(trash, object_path) || is_within(object_path, trash))
        return ocfl_err_set(err, -EINVAL, "purge: '%s' and '%s' overlap", object_path, trash);
    if (!(p = calloc(1, sizeof(*p))) || !(p->steps = calloc(3, sizeof(*p->steps)))) {
        free(p);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    p->n_steps = 3;
    p->object_id = dup_or_null(inv->id, &oom);
    p->spec = inv->spec;
    p->digest_algorithm = dup_or_null(inv->digest_algorithm, &oom);
    p->version_num = (unsigned)inv->n_versions;
    p->version_name = dup_or_null(inv->head, &oom);
    p->base_digest = dup_or_null(inventory_digest, &oom);
    snprintf(p->inventory_digest, sizeof(p->inventory_digest), "%s", inventory_digest);
    p->created = dup_or_null(created, &oom);
    p->message = dup_or_null("purge", &oom);
    p->user_name = dup_or_null(user_name, &oom);
    p->user_address = dup_or_null(user_address, &oom);
    p->steps[0].kind = OCFL_STEP_PURGE_MOVE;
    p->steps[0].source = dup_or_null(object_path, &oom);
    p->steps[0].dest = dup_or_null(trash, &oom);
    p->steps[1].kind = OCFL_STEP_PURGE_DELETE;
    p->steps[1].dest = dup_or_null(trash, &oom);
    p->steps[2].kind = OCFL_STEP_PURGE_PRUNE;
    p->steps[2].source = dup_or_null(object_path, &oom);
    if (oom) {
        ocfl_plan_free(p);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    *ret = p;
    return 0;
}
