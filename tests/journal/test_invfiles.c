/* test_invfiles.c: a plan's inventory files: the record and the root copy written before the
 * plan's row, the version inventory and the root inventory byte-identical but two inodes,
 * an altered copy or record caught, a revert removing both, the caller's hint and its racy
 * rule. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "digest.h"
#include "io.h"
#include "journal.h"
#include "journal_int.h"
#include "object.h"
#include "plan.h"
#include "report.h"
#include "root.h"
#include "validate.h"

static char tmp[256];

struct ifx {
    struct ocfl_root *root;
    struct journal *j;
    struct ocfl_plan *plan;   /* the v2 plan */
    struct ocfl_object *base; /* the object at v1, opened before the v2 plan */
    uint64_t base_ns;         /* CLOCK_REALTIME before it was opened */
    char *opath;
    int64_t id;
    char record[JDB_INV_NAME_MAX], copy[JDB_INV_NAME_MAX];
};

static uint64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void digest_text(const char *text, char hex[OCFL_DIGEST_HEX_MAX])
{
    struct ocfl_hasher *h;

    ocfl_hasher_new(1u << OCFL_DIGEST_SHA512, &h, NULL);
    ocfl_hasher_update(h, text, strlen(text));
    ocfl_hasher_final(h, OCFL_DIGEST_SHA512, hex);
    ocfl_hasher_free(h);
}

static void ifx_free(struct ifx *f)
{
    ocfl_plan_free(f->plan);
    ocfl_object_close(f->base);
    free(f->opath);
    journal_close(f->j);
    ocfl_root_close(f->root);
}

/* Stage @text as @dir/x in the state dir and build the plan for it over @base. */
static int stage_plan(struct ifx *f, const char *dir, const char *text, const char *msg,
                      struct ocfl_plan **ret, struct ocfl_err *err)
{
    int sfd = journal_state_fd(f->j);
    char src[64], hex[OCFL_DIGEST_HEX_MAX];

    snprintf(src, sizeof(src), "scratch/%s", dir);
    mkdirat(sfd, src, 0755);
    snprintf(src, sizeof(src), "scratch/%s/x", dir);
    if (ocfl_io_write_file_durable(sfd, src, text, strlen(text), err) < 0)
        return -EIO;
    digest_text(text, hex);
    struct ocfl_plan_file file = {"x.txt", hex, src, strlen(text)};
    char rel[64];
    snprintf(rel, sizeof(rel), "scratch/%s", dir);
    struct ocfl_plan_input in = {.base = f->base ? f->base->inv : NULL,
                                 .base_digest = f->base ? f->base->inventory_digest : NULL,
                                 .id = "inv",
                                 .files = &file,
                                 .n_files = 1,
                                 .created = "2024-01-01T00:00:00Z",
                                 .message = msg,
                                 .release_dir = rel};
    return ocfl_plan_build(&in, ret, err);
}

/* Object "inv" at v1 and a journaled v2 plan; the journal knows the root (same filesystem),
 * so plan_insert writes the record and the root copy. */
static int ifx_make(struct ifx *f, const char *name)
{
    struct ocfl_err err = {0};
    char rootp[600], state[700];
    struct ocfl_plan *p1 = NULL;
    int64_t id1;

    memset(f, 0, sizeof(*f));
    snprintf(rootp, sizeof(rootp), "%s/%s", tmp, name);
    snprintf(state, sizeof(state), "%s/state", rootp);
    if (ocfl_root_create(rootp, NULL, NULL, NULL, &err) < 0 ||
        ocfl_root_open(rootp, &f->root, &err) < 0)
        goto fail;
    struct journal_options o = {.threads = 1, .root = rootp};
    if (journal_open(state, &o, &f->j, &err) < 0 ||
        ocfl_root_object_path(f->root, "inv", &f->opath, &err) < 0 ||
        stage_plan(f, "a", "one\n", "one", &p1, &err) < 0 ||
        journal_plan_add(f->j, p1, f->opath, &id1, &err) < 0 ||
        journal_plan_run(f->j, f->root, id1, NULL, NULL, &err) < 0)
        goto fail;
    f->base_ns = realtime_ns();
    if (ocfl_object_open(f->root->fd, f->opath, &f->base, &err) < 0 ||
        stage_plan(f, "b", "two\n", "two", &f->plan, &err) < 0 ||
        journal_plan_add(f->j, f->plan, f->opath, &f->id, &err) < 0)
        goto fail;
    jdb_inventory_file_name(f->plan->inventory_digest, f->record, sizeof(f->record));
    jdb_inventory_root_name(f->record, f->copy, sizeof(f->copy));
    ocfl_plan_free(p1);
    return 0;
fail:
    printf("# fixture %s: %s\n", name, err.msg);
    ocfl_plan_free(p1);
    return -1;
}

/* @path beneath @dirfd holds exactly the plan's inventory bytes. */
static int holds_plan_bytes(struct ifx *f, int dirfd, const char *path)
{
    char *buf = NULL;
    size_t len = 0;
    int ok;

    if (ocfl_io_read_file(dirfd, path, 1 << 24, &buf, &len, NULL) < 0)
        return 0;
    ok = len == f->plan->inventory_len && !memcmp(buf, f->plan->inventory, len);
    free(buf);
    return ok;
}

/* How many scratch/inventory-* files the state dir holds. */
static int inventory_files(struct ifx *f)
{
    char cmd[1200], line[64];
    FILE *p;
    int n = -1;

    snprintf(cmd, sizeof(cmd), "find '%s/state/scratch' -name 'inventory-*' | wc -l",
             f->root->path);
    p = popen(cmd, "r");
    if (p && fgets(line, sizeof(line), p))
        n = atoi(line);
    if (p)
        pclose(p);
    return n;
}

static enum journal_plan_state plan_state(struct ifx *f)
{
    struct journal_plan_info info;
    enum journal_plan_state s = JOURNAL_PLAN_FAILED;

    if (journal_plan_get(f->j, f->id, &info, NULL, NULL, NULL) == 0) {
        s = info.state;
        journal_plan_info_release(&info);
    }
    return s;
}

static const char *head_of(struct ifx *f, char *buf, size_t size)
{
    struct ocfl_object *obj = NULL;

    buf[0] = 0;
    if (ocfl_object_open(f->root->fd, f->opath, &obj, NULL) == 0)
        snprintf(buf, size, "%s", obj->inv->head);
    ocfl_object_close(obj);
    return buf;
}

/* Done: v2, both inventories the plan's bytes in two inodes, both sidecars right, valid,
 * no inventory file left in scratch. */
static void check_v2_done(struct ifx *f)
{
    struct ocfl_report rep = {0};
    struct stat vs, rs;
    char head[32], side[200];
    int objfd = ocfl_io_open(f->root->fd, f->opath, O_RDONLY | O_DIRECTORY, 0);
    char *text = NULL;

    CHECK_INT(plan_state(f), JOURNAL_PLAN_DONE);
    CHECK_STR(head_of(f, head, sizeof(head)), "v2");
    CHECK(objfd >= 0);
    if (objfd < 0)
        return;
    CHECK(holds_plan_bytes(f, objfd, "inventory.json"));
    CHECK(holds_plan_bytes(f, objfd, "v2/inventory.json"));
    CHECK_OK(fstatat(objfd, "inventory.json", &rs, 0));
    CHECK_OK(fstatat(objfd, "v2/inventory.json", &vs, 0));
    CHECK(rs.st_ino != vs.st_ino);
    CHECK_INT(vs.st_nlink, 1); /* the record's name is gone, the version keeps the inode */
    CHECK_INT(rs.st_nlink, 1);
    snprintf(side, sizeof(side), "%s  inventory.json\n", f->plan->inventory_digest);
    ocfl_io_read_file(objfd, "inventory.json.sha512", 4096, &text, NULL, NULL);
    CHECK_STR(text, side);
    free(text);
    text = NULL;
    ocfl_io_read_file(objfd, "v2/inventory.json.sha512", 4096, &text, NULL, NULL);
    CHECK_STR(text, side);
    free(text);
    CHECK_OK(ocfl_validate_object(f->root->fd, f->opath, NULL, &rep, NULL));
    CHECK_INT(rep.n_errors, 0);
    ocfl_report_release(&rep);
    CHECK_INT(inventory_files(f), 0);
    close(objfd);
}

/* Reverted: v1, no v2, no inventory file left. */
static void check_reverted(struct ifx *f)
{
    char head[32], p[700];

    CHECK_INT(plan_state(f), JOURNAL_PLAN_REVERTED);
    CHECK_STR(head_of(f, head, sizeof(head)), "v1");
    snprintf(p, sizeof(p), "%s/v2", f->opath);
    CHECK(faccessat(f->root->fd, p, F_OK, AT_SYMLINK_NOFOLLOW) < 0);
    CHECK_INT(inventory_files(f), 0);
}

/* Overwrite one byte of @path in place (same inode, same size). */
static void poke(int dirfd, const char *path)
{
    int fd = openat(dirfd, path, O_WRONLY);

    CHECK(fd >= 0 && pwrite(fd, "X", 1, 20) == 1);
    if (fd >= 0)
        close(fd);
}

/* Every step tried once: the journal's policy, and the recorded plans made to run under it
 * (as plans from before policies were recorded do). */
static void one_attempt(struct journal *j)
{
    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++)
        j->retry[k].max_attempts = 1;
    CHECK_OK(jdb_exec(journal_sqlite(j), "UPDATE plans SET retry_policy = NULL", NULL));
}

static void test_copies(void)
{
    struct ocfl_err err = {0};
    struct ifx f;
    int sfd;

    if (ifx_make(&f, "copies") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    sfd = journal_state_fd(f.j);
    /* both written before the row, each with the plan's bytes, two files */
    struct stat a, b;
    CHECK(holds_plan_bytes(&f, sfd, f.record));
    CHECK(holds_plan_bytes(&f, sfd, f.copy));
    CHECK(fstatat(sfd, f.record, &a, 0) == 0 && fstatat(sfd, f.copy, &b, 0) == 0 &&
          a.st_ino != b.st_ino);
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    check_v2_done(&f);
    ifx_free(&f);
}

/* The root copy altered in place before the run: not renamed into place; the bytes come
 * from the (checked) record. */
static void test_copy_altered(void)
{
    struct ocfl_err err = {0};
    struct ifx f;

    if (ifx_make(&f, "copyalt") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    poke(journal_state_fd(f.j), f.copy);
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    check_v2_done(&f);
    ifx_free(&f);
}

/* The root copy gone: the bytes are written. */
static void test_copy_missing(void)
{
    struct ocfl_err err = {0};
    struct ifx f;

    if (ifx_make(&f, "copygone") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    CHECK_OK(unlinkat(journal_state_fd(f.j), f.copy, 0));
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    check_v2_done(&f);
    ifx_free(&f);
}

/* The record altered in place (same size) in the process that wrote it: its times differ
 * from those recorded at the write, so it is digested, found wrong, and the plan reverts,
 * removing both files. */
static void test_record_altered(void)
{
    struct ocfl_err err = {0};
    struct ifx f;

    if (ifx_make(&f, "recalt") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    poke(journal_state_fd(f.j), f.record);
    one_attempt(f.j);
    CHECK_INT(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err), -EIO);
    CHECK(strstr(err.msg, "does not hold the plan's inventory") != NULL);
    check_reverted(&f);
    ifx_free(&f);
}

/* A persistent failure of the version inventory step: reverted, both files removed. */
static void test_revert_removes_both(void)
{
    struct ocfl_err err = {0};
    struct ifx f;

    if (ifx_make(&f, "revert") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    f.j->fail_step = (long)ocfl_plan_find_step(f.plan, OCFL_STEP_VERSION_INV);
    f.j->fail_times = 100;
    f.j->fail_code = -EIO;
    one_attempt(f.j);
    CHECK_INT(inventory_files(&f), 2);
    CHECK_INT(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err), -EIO);
    check_reverted(&f);
    ifx_free(&f);
}

/* The orphan collection keeps both files of an unfinished plan, and takes a root copy whose
 * plan has ended. */
static void test_gc(void)
{
    struct ocfl_err err = {0};
    char stray[JDB_INV_NAME_MAX + 32];
    struct ifx f;
    int sfd;

    if (ifx_make(&f, "gc") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    sfd = journal_state_fd(f.j);
    snprintf(stray, sizeof(stray), "scratch/inventory-%0128d.root.json", 0);
    CHECK_OK(ocfl_io_write_file_durable(sfd, stray, "{}", 2, &err));
    CHECK_INT(journal_scratch_gc(f.j, "inventory-", &err), 1);
    CHECK(faccessat(sfd, stray, F_OK, 0) < 0);
    CHECK(faccessat(sfd, f.record, F_OK, 0) == 0);
    CHECK(faccessat(sfd, f.copy, F_OK, 0) == 0);
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    check_v2_done(&f);
    ifx_free(&f);
}

/*
 * The caller's hint: a (deliberately wrong) digest with the inventory's stat is believed
 * when the file's times are 2 s older than the hint's moment (the run then sees an object
 * at neither the base nor the new version: a conflict), and not when they are recent (the
 * run digests the file and succeeds).
 */
static void test_hint(void)
{
    struct ocfl_err err = {0};
    char bogus[OCFL_DIGEST_HEX_MAX];
    struct ifx f;

    memset(bogus, '0', 128);
    bogus[128] = 0;
    if (ifx_make(&f, "hint-trusted") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    CHECK_INT(journal_hint_root_inventory(f.j, f.opath, &f.base->inventory_st, 0, "zz"), -EINVAL);
    CHECK_OK(journal_hint_root_inventory(f.j, f.opath, &f.base->inventory_st,
                                         realtime_ns() + 10000000000ull, bogus));
    CHECK_INT(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err), JOURNAL_CONFLICT);
    check_reverted(&f);
    ifx_free(&f);

    if (ifx_make(&f, "hint-racy") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    /* v1 was written just now: within 2 s of the stat, the hint is not believed */
    CHECK_OK(journal_hint_root_inventory(f.j, f.opath, &f.base->inventory_st, f.base_ns, bogus));
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    check_v2_done(&f);
    ifx_free(&f);

    if (ifx_make(&f, "hint-other") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    /* a hint about another object is not used; a right one is */
    CHECK_OK(journal_hint_root_inventory(f.j, "elsewhere", &f.base->inventory_st,
                                         realtime_ns() + 10000000000ull, bogus));
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    check_v2_done(&f);
    ifx_free(&f);

    if (ifx_make(&f, "hint-right") < 0) {
        CHECK(0);
        ifx_free(&f);
        return;
    }
    CHECK_OK(journal_hint_root_inventory(f.j, f.opath, &f.base->inventory_st,
                                         realtime_ns() + 10000000000ull, f.base->inventory_digest));
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    check_v2_done(&f);
    ifx_free(&f);
}

int main(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char cmd[600];

    snprintf(tmp, sizeof(tmp), "%s/test_invfiles.XXXXXX", base);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_copies();
    test_copy_altered();
    test_copy_missing();
    test_record_altered();
    test_revert_removes_both();
    test_gc();
    test_hint();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", tmp);
    return check_done();
}
