/* mount_notice.c: another host's switch of an object, seen at once: its cached inventory and
 * the kernel's entries dropped, staged changes on the old head shown in conflict. */
#include "mount_write.h"

#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "digest.h"

void mw_cluster_notice(void *ctx, const struct cluster_notice *n)
{
    struct mount *m = ctx;
    struct mount_obj *mo;
    char *name = NULL;
    int root_changed = 0;

    if (!strcmp(n->host, cluster_host(m->cluster)))
        return; /* this host's own switch: its commit has shown it already */
    if (mount_name_encode(n->object_id, &name) < 0)
        return;
    pthread_mutex_lock(&m->lock);
    m->n_notices++;
    mo = mount_objects_find(&m->objs, name);
    if (!mo && *n->head && *n->path) {
        mo = mount_objects_add(&m->objs, n->object_id, n->path); /* made on another host */
        root_changed = 1;
    } else if (mo && !*n->head) {
        mo->gone = 1; /* purged there */
        root_changed = 1;
    } else if (mo && !(mo->w && mo->w->committing) &&
               (!mo->o || !ocfl_digest_equal(mo->o->inventory_digest, n->digest))) {
        /* read now: the next look at the object (.ocfl/status, a lookup) sees the new head,
         * and staged changes on the old one show their conflict */
        if (mo->o)
            mount_obj_reload(m, mo);
    } else {
        mo = NULL; /* the head this mount has already */
    }
    pthread_mutex_unlock(&m->lock);
    if (mo)
        mw_invalidate_object_async(m, mo);
    /* the listing of the mount's top, which the kernel may keep (not a request's thread) */
    if (root_changed && m->session)
        fuse_lowlevel_notify_inval_inode(m->session, FUSE_ROOT_ID, 0, 0);
    free(name);
}
