/* test_mount_nodes.c: unit tests of the mount's inode table: lookups, pins, forgets, the idle
 * nodes kept and freed, numbers never reused, rekeying, and the index growing and shrinking. */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "mount.h"

static size_t count_all(const struct mount_nodes *ns)
{
    size_t k = 0;

    for (struct mount_node *n = mount_nodes_next(ns, NULL); n; n = mount_nodes_next(ns, n))
        k++;
    return k;
}

/* Look up path "f<i>" as the kernel would: make the node and count a lookup. */
static struct mount_node *looked_up(struct mount_nodes *ns, struct mount_obj *mo, int i)
{
    char path[32];
    struct mount_node *n;

    snprintf(path, sizeof(path), "f%d", i);
    n = mount_node_get(ns, MK_FILE, mo, 0, path);
    if (n)
        mount_node_lookup(ns, n);
    return n;
}

int main(void)
{
    struct mount_obj mo = {.idx = 0, .id = "urn:x"};
    struct mount_nodes ns;
    struct mount_node *root, *top, *a, *b, *c;
    uint64_t a_ino;
    enum { N = 20000 };

    CHECK_OK(mount_nodes_init(&ns, 4));
    root = mount_node_get(&ns, MK_ROOT, NULL, 0, "");
    top = mount_node_get(&ns, MK_OBJ, &mo, 0, "");
    CHECK(root && root->ino == 1);
    CHECK(top && top->ino == 2);
    CHECK(mount_node_get(&ns, MK_ROOT, NULL, 0, "") == root);
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "nope") == NULL);
    CHECK_INT(ns.n, 2);

    /* a looked-up node lives until forgotten, then stays idle until trimmed */
    a = looked_up(&ns, &mo, 1);
    a_ino = a->ino;
    CHECK(mount_node_by_ino(&ns, a_ino) == a);
    CHECK_INT(mount_nodes_trim(&ns), 0);
    mount_node_forget(&ns, a, 1);
    CHECK(mount_node_unused(a));
    CHECK(mount_node_by_ino(&ns, a_ino) == a); /* kept: fewer idle nodes than idle_keep */

    /* a pinned node outlives its forget and the trims */
    b = looked_up(&ns, &mo, 2);
    mount_node_pin(b);
    mount_node_forget(&ns, b, 5); /* more than was looked up: clamped at 0 */
    CHECK_INT(b->nlookup, 0);
    CHECK(!mount_node_unused(b));
    for (int i = 10; i < 30; i++)
        mount_node_forget(&ns, looked_up(&ns, &mo, i), 1);
    CHECK_INT(ns.n_idle, 21); /* forgets leave the freeing to the caller's trim */
    CHECK(mount_node_by_ino(&ns, a_ino) == a);
    CHECK_INT(mount_nodes_trim(&ns), 17);
    CHECK_INT(ns.n_idle, 4);
    CHECK(mount_node_by_ino(&ns, a_ino) == NULL); /* the oldest idle node went first */
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "f29") != NULL); /* the newest stay */
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "f1") == NULL);
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "f2") == b);
    mount_node_unpin(&ns, b);
    CHECK(mount_node_unused(b));

    /* a path looked up again after its node went gets a new number, never an old one */
    c = looked_up(&ns, &mo, 1);
    CHECK(c->ino > a_ino);
    CHECK(c->ino == ns.last_ino);

    /* the root and objects' tops are never unused; a removed object's top is */
    CHECK(!mount_node_unused(root));
    CHECK(!mount_node_unused(top));

    /* many nodes: the index grows; forgotten, they are freed and it shrinks */
    size_t before = ns.n, buckets0 = ns.n_buckets;
    struct mount_node **many = calloc(N, sizeof(*many));
    for (int i = 0; i < N; i++)
        many[i] = looked_up(&ns, &mo, 100 + i);
    CHECK_INT(ns.n, before + N);
    CHECK(ns.n_buckets > buckets0);
    CHECK_INT(count_all(&ns), ns.n);
    int found = 0;
    uint64_t first_ino = many[0]->ino;
    for (int i = 0; i < N; i++)
        found += mount_node_by_ino(&ns, many[i]->ino) == many[i] &&
                 mount_node_find(&ns, MK_FILE, &mo, 0, many[i]->path) == many[i];
    CHECK_INT(found, N);
    uint64_t freed0 = ns.n_freed;
    for (int i = 0; i < N; i++)
        mount_node_forget(&ns, many[i], 1);
    mount_nodes_trim(&ns);
    CHECK(ns.n_freed - freed0 >= N - 4);
    CHECK(ns.n <= before + 4);
    CHECK_INT(count_all(&ns), ns.n);
    CHECK(mount_node_by_ino(&ns, first_ino) == NULL); /* a hole in the numbers */
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "f100") == NULL);
    CHECK(looked_up(&ns, &mo, 100)->ino > first_ino + N - 1);
    CHECK_INT(ns.n_buckets, 4096); /* gave its buckets back */
    free(many);

    /* rekey: the old key no longer finds it, the new one does, the number stays */
    c = looked_up(&ns, &mo, 7);
    uint64_t c_ino = c->ino;
    CHECK_OK(mount_node_rekey(&ns, c, "renamed"));
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "f7") == NULL);
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "renamed") == c);
    CHECK(mount_node_by_ino(&ns, c_ino) == c);
    CHECK_OK(mount_node_rekey(&ns, top,
                              "\x01"
                              "2"));
    CHECK(mount_node_unused(top)); /* a removed new object: its top may go */

    /* a buried node: lookups of its key make a new one */
    c = looked_up(&ns, &mo, 8);
    c->buried = 1;
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "f8") == NULL);
    struct mount_node *d = mount_node_get(&ns, MK_FILE, &mo, 0, "f8");
    CHECK(d != c && d->ino > c->ino);
    CHECK(mount_node_find(&ns, MK_FILE, &mo, 0, "f8") == d);

    mount_nodes_release(&ns);
    mount_nodes_release(NULL);
    return check_done();
}
