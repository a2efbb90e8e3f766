/* test_plan.c: plan building: determinism, dedup, content paths, padding, bad input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "inventory.h"
#include "plan.h"

#define D(c)      c c c c c c c c c c c c c c c c /* 16 chars */
#define HEX128(c) D(c) D(c) D(c) D(c) D(c) D(c) D(c) D(c)

static const char *const dA = HEX128("a"), *const dB = HEX128("b"), *const dC = HEX128("c");

static int count_kind(const struct ocfl_plan *p, enum ocfl_step_kind k)
{
    int n = 0;

    for (size_t i = 0; i < p->n_steps; i++)
        n += p->steps[i].kind == k;
    return n;
}

static void test_new_object(void)
{
    /* the same input in two orders */
    struct ocfl_plan_file f1[] = {
        {"b/x.txt", dB, "s/1", 10},
        {"a.txt", dA, "s/2", 5},
        {"dup.txt", dA, "s/3", 5},
    };
    struct ocfl_plan_file f2[] = {f1[2], f1[0], f1[1]};
    struct ocfl_plan_input in = {.id = "urn:x:1",
                                 .files = f1,
                                 .n_files = 3,
                                 .created = "2024-01-02T03:04:05Z",
                                 .message = "m",
                                 .user_name = "U",
                                 .user_address = "mailto:u@x",
                                 .release_dir = "s"};
    struct ocfl_plan *p1 = NULL, *p2 = NULL;
    struct ocfl_inventory *inv = NULL;
    struct ocfl_err err = {0};

    CHECK_OK(ocfl_plan_build(&in, &p1, &err));
    in.files = f2;
    CHECK_OK(ocfl_plan_build(&in, &p2, &err));
    if (!p1 || !p2)
        return;
    CHECK_INT(p1->inventory_len, p2->inventory_len);
    CHECK(!memcmp(p1->inventory, p2->inventory, p1->inventory_len));
    CHECK_STR(p1->inventory_digest, p2->inventory_digest);
    CHECK_STR(p1->version_name, "v1");
    CHECK(p1->new_object);
    CHECK_INT(p1->n_added, 3);
    /* declare, version-dirs, 2 content, version inv, root inv, sidecar, release dup, release dir */
    CHECK_INT(p1->n_steps, 9);
    CHECK_INT(p1->steps[0].kind, OCFL_STEP_DECLARE);
    CHECK_STR(p1->steps[0].dest, "0=ocfl_object_1.1");
    CHECK_INT(p1->steps[1].kind, OCFL_STEP_VERSION_DIRS);
    CHECK_STR(p1->steps[1].dest, "v1/content");
    CHECK_INT(count_kind(p1, OCFL_STEP_CONTENT), 2);
    CHECK_STR(p1->steps[2].dest, "v1/content/a.txt"); /* the first path of equal content */
    CHECK_STR(p1->steps[2].source, "s/2");
    CHECK_STR(p1->steps[3].dest, "v1/content/b/x.txt");
    CHECK_INT(p1->steps[4].kind, OCFL_STEP_VERSION_INV);
    CHECK_INT(p1->steps[5].kind, OCFL_STEP_ROOT_INV);
    CHECK_INT(p1->steps[6].kind, OCFL_STEP_ROOT_SIDECAR);
    CHECK_STR(p1->steps[6].dest, "inventory.json.sha512");
    CHECK_INT(p1->steps[7].kind, OCFL_STEP_RELEASE);
    CHECK_STR(p1->steps[7].source, "s/3");
    CHECK_STR(p1->steps[8].source, "s");
    CHECK_INT(p1->content_bytes, 15);
    /* the bytes are a valid inventory with what we asked for */
    CHECK_OK(ocfl_inventory_parse(p1->inventory, p1->inventory_len, &inv, &err));
    if (inv) {
        CHECK_STR(inv->id, "urn:x:1");
        CHECK_STR(inv->head, "v1");
        CHECK_INT(inv->n_manifest, 2);
        CHECK_INT(inv->versions[0].n_state, 3);
        CHECK_STR(ocfl_inventory_content_path(inv, dA), "v1/content/a.txt");
        CHECK_STR(inv->versions[0].user_address, "mailto:u@x");
    }
    ocfl_inventory_free(inv);
    ocfl_plan_free(p1);
    ocfl_plan_free(p2);
}

/* A base with contentDirectory "data" and zero-padded names. */
static const char base_json[] =
    "{\"id\": \"o\", \"type\": \"https://ocfl.io/1.1/spec/#inventory\","
    " \"digestAlgorithm\": \"sha512\", \"head\": \"v01\", \"contentDirectory\": \"data\","
    " \"manifest\": {\"" HEX128(
        "a") "\": [\"v01/data/a.txt\"]},"
             " \"versions\": {\"v01\": {\"created\": \"2020-01-01T00:00:00Z\","
             " \"state\": {\"" HEX128("a") "\": [\"a.txt\", \"old.txt\"]}}}}";

static void test_next_version(void)
{
    struct ocfl_inventory *base = NULL, *inv = NULL;
    struct ocfl_err err = {0};
    struct ocfl_plan *p = NULL;
    struct ocfl_plan_file f[] = {
        {"a.txt", dA, NULL, 5},        /* unchanged, not staged */
        {"renamed.txt", dA, "s/1", 5}, /* staged, but known content: released */
        {"n/new.txt", dC, "s/2", 7},   /* new */
    };
    struct ocfl_plan_input in = {
        .base_digest = "ABC", .files = f, .n_files = 3, .created = "2024-01-02T03:04:05Z"};

    CHECK_OK(ocfl_inventory_parse(base_json, strlen(base_json), &base, &err));
    if (!base)
        return;
    in.base = base;
    CHECK_OK(ocfl_plan_build(&in, &p, &err));
    if (!p)
        goto out;
    CHECK_STR(p->version_name, "v02");
    CHECK_STR(p->base_digest, "abc");
    CHECK(!p->new_object);
    CHECK_INT(p->n_added, 2);
    CHECK_INT(p->n_removed, 1);
    CHECK_INT(p->n_modified, 0);
    CHECK_INT(count_kind(p, OCFL_STEP_DECLARE), 0);
    CHECK_INT(count_kind(p, OCFL_STEP_CONTENT), 1);
    CHECK_INT(count_kind(p, OCFL_STEP_RELEASE), 1);
    CHECK_STR(p->steps[0].dest, "v02/data");
    CHECK_STR(p->steps[1].dest, "v02/data/n/new.txt");
    CHECK_OK(ocfl_inventory_parse(p->inventory, p->inventory_len, &inv, &err));
    if (inv) {
        CHECK_INT(inv->n_versions, 2);
        CHECK_INT(inv->n_manifest, 2);
        CHECK_STR(inv->content_directory, "data");
        CHECK_STR(ocfl_inventory_content_path(inv, dC), "v02/data/n/new.txt");
        CHECK_INT(inv->versions[1].n_state, 3);
    }
    ocfl_inventory_free(inv);
    ocfl_plan_free(p);
    p = NULL;

    /* the same state as the head: nothing to commit */
    struct ocfl_plan_file same[] = {{"a.txt", dA, NULL, 5}, {"old.txt", dA, NULL, 5}};
    in.files = same;
    in.n_files = 2;
    CHECK_OK(ocfl_plan_build(&in, &p, &err));
    CHECK(p && ocfl_plan_is_empty(p));
    ocfl_plan_free(p);
    p = NULL;

    /* bad inputs */
    struct ocfl_plan_file unknown[] = {{"x", dB, NULL, 1}};
    in.files = unknown;
    in.n_files = 1;
    CHECK_INT(ocfl_plan_build(&in, &p, &err), -EINVAL);
    struct ocfl_plan_file conflict[] = {{"x", dA, NULL, 1}, {"x/y", dA, NULL, 1}};
    in.files = conflict;
    in.n_files = 2;
    CHECK_INT(ocfl_plan_build(&in, &p, &err), -EINVAL);
    struct ocfl_plan_file twice[] = {{"x", dA, NULL, 1}, {"x", dA, NULL, 1}};
    in.files = twice;
    CHECK_INT(ocfl_plan_build(&in, &p, &err), -EINVAL);
    struct ocfl_plan_file dotdot[] = {{"../x", dA, NULL, 1}};
    in.files = dotdot;
    in.n_files = 1;
    CHECK_INT(ocfl_plan_build(&in, &p, &err), -EINVAL);
    struct ocfl_plan_file shortd[] = {{"x", "abc", "s", 1}};
    in.files = shortd;
    CHECK_INT(ocfl_plan_build(&in, &p, &err), -EINVAL);
    in.files = f;
    in.n_files = 3;
    in.spec = OCFL_SPEC_1_0;
    CHECK_INT(ocfl_plan_build(&in, &p, &err), -ENOTSUP);
    CHECK(p == NULL);
out:
    ocfl_inventory_free(base);
}

/* Many files: dedup by digest stays linear and exact. */
static void test_many(void)
{
    enum { N = 20000 };
    struct ocfl_plan_file *f = calloc(N, sizeof(*f));
    char(*names)[32] = calloc(N, 32), (*digs)[129] = calloc(N, 129), (*srcs)[32] = calloc(N, 32);
    struct ocfl_plan_input in = {.id = "many", .n_files = N, .created = "2024-01-01T00:00:00Z"};
    struct ocfl_err err = {0};
    struct ocfl_plan *p = NULL;

    if (!f || !names || !digs || !srcs)
        goto out;
    for (int i = 0; i < N; i++) {
        snprintf(names[i], 32, "d%d/f%d", i % 10, i);
        snprintf(srcs[i], 32, "s/%d", i);
        /* every digest twice: i and i + N/2 share content */
        snprintf(digs[i], 129, "%0128x", i % (N / 2));
        f[i] = (struct ocfl_plan_file){names[i], digs[i], srcs[i], 1};
    }
    in.files = f;
    CHECK_OK(ocfl_plan_build(&in, &p, &err));
    if (p) {
        CHECK_INT(count_kind(p, OCFL_STEP_CONTENT), N / 2);
        CHECK_INT(count_kind(p, OCFL_STEP_RELEASE), N / 2);
    }
    ocfl_plan_free(p);
out:
    free(f);
    free(names);
    free(digs);
    free(srcs);
}

int main(void)
{
    CHECK_STR(ocfl_step_kind_name(OCFL_STEP_ROOT_SIDECAR), "root-sidecar");
    CHECK_INT(ocfl_step_kind_from_name("content"), OCFL_STEP_CONTENT);
    CHECK_INT(ocfl_step_kind_from_name("nope"), -1);
    test_new_object();
    test_next_version();
    test_many();
    return check_done();
}
