/* test_staging.c: the staging index: merged view, scratch files, rename/rmdir codes, persistence,
 * and commits into a real object (new object, then v2), with a failing plan. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sqlite3.h>
#include <unistd.h>

#include "check.h"
#include "commit.h"
#include "io.h"
#include "journal.h"
#include "object.h"
#include "report.h"
#include "root.h"
#include "staging.h"
#include "validate.h"

static char tmp[256], rootdir[300], state[300];

static int kind_of(struct journal *j, const char *oid, const struct ocfl_inventory *inv,
                   const char *p)
{
    struct staging_entry e;
    if (staging_lookup(j, oid, inv, p, &e, NULL) < 0)
        return -1;
    return (int)e.kind;
}

static void write_all(int fd, const char *s)
{
    CHECK_INT((int)write(fd, s, strlen(s)), (int)strlen(s));
}

static int fail_renames(void *ctx, enum ocfl_io_op op, const char *path)
{
    (void)ctx;
    (void)path;
    return op == OCFL_IO_RENAME ? -EIO : 0;
}

static char *read_content(struct ocfl_object *o, const char *lp)
{
    const char *dig, *cp;
    static char buf[256];
    if (ocfl_object_resolve(o, 0, lp, &dig, &cp, NULL) < 0)
        return NULL;
    int fd = ocfl_object_open_content(o, cp, NULL);
    ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
    if (fd >= 0)
        close(fd);
    if (n < 0)
        return NULL;
    buf[n] = 0;
    return buf;
}

int main(void)
{
    struct ocfl_err err = {0};
    struct journal *j = NULL;
    struct ocfl_root *root = NULL;
    struct ocfl_object *o = NULL;
    struct staging_dirent *d = NULL;
    size_t nd = 0;
    int fd;
    char *json = NULL;
    int64_t plan = 0;
    const char *oid = "ark:/1/obj";
    struct journal_retry retry[JOURNAL_RETRY_KIND_COUNT];

    snprintf(tmp, sizeof(tmp), "/tmp/test_staging.XXXXXX");
    CHECK(mkdtemp(tmp) != NULL);
    snprintf(rootdir, sizeof(rootdir), "%s/root", tmp);
    snprintf(state, sizeof(state), "%s/state", tmp);
    CHECK_OK(ocfl_root_create(rootdir, NULL, NULL, NULL, &err));
    CHECK_OK(ocfl_root_open(rootdir, &root, &err));
    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++) {
        journal_retry_default(&retry[k]);
        retry[k].max_attempts = 1;
    }
    struct journal_options jo = {.retry = retry};
    CHECK_OK(journal_open(state, &jo, &j, &err));

    /* a new object: nothing staged in it yet */
    CHECK_OK(staging_object_new(j, oid, 0755, -1, -1, &err));
    CHECK_INT(staging_object_new(j, oid, 0755, -1, -1, NULL), -EEXIST);
    CHECK_OK(staging_mkdir(j, oid, NULL, "docs", 0755, -1, -1, &err));
    CHECK_OK(staging_create(j, oid, NULL, "docs/a.txt", 0644, -1, -1, &fd, NULL, &err));
    write_all(fd, "hello\n");
    close(fd);
    CHECK_OK(staging_set_written(j, oid, "docs/a.txt", 6, 0, NULL, &err));
    CHECK_OK(staging_create(j, oid, NULL, "b.txt", 0644, -1, -1, &fd, NULL, &err));
    write_all(fd, "bee\n");
    close(fd);
    CHECK_OK(staging_set_written(j, oid, "b.txt", 4, 0, NULL, &err));
    CHECK_OK(staging_mkdir(j, oid, NULL, "empty", 0755, -1, -1, &err));
    CHECK_INT(staging_create(j, oid, NULL, "b.txt", 0644, -1, -1, NULL, NULL, NULL), -EEXIST);
    CHECK_INT(staging_create(j, oid, NULL, "nodir/x", 0644, -1, -1, NULL, NULL, NULL), -ENOENT);
    CHECK_INT(staging_create(j, oid, NULL, "b.txt/x", 0644, -1, -1, NULL, NULL, NULL), -ENOTDIR);
    CHECK_INT(staging_create(j, oid, NULL, "bad\xff", 0644, -1, -1, NULL, NULL, NULL), -EILSEQ);
    CHECK_INT(staging_rmdir(j, oid, NULL, "docs", NULL), -ENOTEMPTY);
    CHECK_INT(kind_of(j, oid, NULL, "docs"), STAGING_DIR);
    CHECK_INT(kind_of(j, oid, NULL, "docs/a.txt"), STAGING_FILE);
    CHECK_OK(staging_list(j, oid, NULL, "", &d, &nd, &err));
    CHECK_INT((int)nd, 3);
    if (nd == 3) {
        CHECK_STR(d[0].name, "b.txt");
        CHECK_STR(d[1].name, "docs");
        CHECK_STR(d[2].name, "empty");
    }
    staging_dirents_free(d, nd);

    /* scratch numbers: new ones for each create, in a block that a reopen never hands out
     * again (staging_write.c reserves them 1,024 at a time) */
    struct staging_entry e1, e2, e3;
    long long n1 = -1, n2 = -1, n3 = -1;
    CHECK_OK(staging_create(j, oid, NULL, "n1", 0644, -1, -1, NULL, &e1, &err));
    CHECK_OK(staging_create(j, oid, NULL, "n2", 0644, -1, -1, NULL, &e2, &err));
    CHECK(strrchr(e1.scratch, 'f') && sscanf(strrchr(e1.scratch, 'f'), "f%lld", &n1) == 1);
    CHECK(strrchr(e2.scratch, 'f') && sscanf(strrchr(e2.scratch, 'f'), "f%lld", &n2) == 1);
    CHECK(n2 == n1 + 1);

    /* persistence across close/open */
    journal_close(j);
    j = NULL;
    CHECK_OK(journal_open(state, &jo, &j, &err));
    CHECK_INT(kind_of(j, oid, NULL, "docs/a.txt"), STAGING_FILE);
    CHECK_INT(kind_of(j, oid, NULL, "n2"), STAGING_FILE);
    CHECK_OK(staging_create(j, oid, NULL, "n3", 0644, -1, -1, NULL, &e3, &err));
    CHECK(strrchr(e3.scratch, 'f') && sscanf(strrchr(e3.scratch, 'f'), "f%lld", &n3) == 1);
    CHECK(n3 > n2 && n3 > 1024); /* after the first block, which the first journal took */
    CHECK(faccessat(journal_state_fd(j), e3.scratch, F_OK, 0) == 0);
    CHECK(faccessat(journal_state_fd(j), e2.scratch, F_OK, 0) == 0);
    CHECK_OK(staging_unlink(j, oid, NULL, "n1", &err));
    CHECK_OK(staging_unlink(j, oid, NULL, "n2", &err));
    CHECK_OK(staging_unlink(j, oid, NULL, "n3", &err));

    /* a reservation whose transaction rolls back is forgotten: otherwise a create would take
     * a number after it that no committed row reserved, and a reopened journal would hand it
     * out again (here: r3 onto r1's live file) */
    journal_close(j);
    j = NULL;
    CHECK_OK(journal_open(state, &jo, &j, &err));
    sqlite3_stmt *q = NULL;
    long long next = -1, x1 = -1, x2 = -1, x3 = -1;
    CHECK(sqlite3_prepare_v2(journal_sqlite(j),
                             "SELECT seq FROM sqlite_sequence WHERE name='staging_seq'", -1, &q,
                             NULL) == SQLITE_OK);
    CHECK(sqlite3_step(q) == SQLITE_ROW);
    next = (long long)sqlite3_column_int64(q, 0) + 1; /* the next reservation's first */
    sqlite3_finalize(q);
    char sdir[64], blocker[128];
    snprintf(sdir, sizeof(sdir), "scratch/s%lld", next >> 12);
    snprintf(blocker, sizeof(blocker), "%s/f%lld", sdir, next);
    CHECK(mkdirat(journal_state_fd(j), sdir, 0700) == 0 || errno == EEXIST);
    int bfd = openat(journal_state_fd(j), blocker, O_CREAT | O_EXCL | O_WRONLY, 0600);
    CHECK(bfd >= 0);
    close(bfd);
    struct ocfl_err rerr = {0};
    CHECK_INT(staging_create(j, oid, NULL, "r1", 0644, -1, -1, NULL, &e1, &rerr), -EEXIST);
    CHECK_INT(kind_of(j, oid, NULL, "r1"), STAGING_NONE);
    CHECK(unlinkat(journal_state_fd(j), blocker, 0) == 0);
    CHECK_OK(staging_create(j, oid, NULL, "r1", 0644, -1, -1, NULL, &e1, &err));
    CHECK(sscanf(strrchr(e1.scratch, 'f'), "f%lld", &x1) == 1);
    journal_close(j);
    j = NULL;
    CHECK_OK(journal_open(state, &jo, &j, &err));
    CHECK_OK(staging_create(j, oid, NULL, "r2", 0644, -1, -1, NULL, &e2, &err));
    CHECK_OK(staging_create(j, oid, NULL, "r3", 0644, -1, -1, NULL, &e3, &err));
    CHECK(sscanf(strrchr(e2.scratch, 'f'), "f%lld", &x2) == 1);
    CHECK(sscanf(strrchr(e3.scratch, 'f'), "f%lld", &x3) == 1);
    CHECK(x2 != x1 && x3 != x1 && x3 != x2);
    CHECK(strcmp(e1.scratch, e2.scratch) && strcmp(e1.scratch, e3.scratch));
    CHECK_OK(staging_unlink(j, oid, NULL, "r1", &err));
    CHECK_OK(staging_unlink(j, oid, NULL, "r2", &err));
    CHECK_OK(staging_unlink(j, oid, NULL, "r3", &err));

    /* first commit writes v1; the empty directory is dropped */
    CHECK_OK(journal_commit_object(
        j, root,
        &(struct journal_commit_in){
            .object_id = oid, .message = "first", .user_name = "Ann", .user_address = "mailto:a@x"},
        &plan, &json, &err));
    CHECK(json && strstr(json, "\"v1\"") && strstr(json, "\"empty\""));
    free(json);
    json = NULL;
    char *opath = NULL;
    CHECK_OK(ocfl_root_find_object(root, oid, &opath, &err));
    CHECK_OK(ocfl_object_open(root->fd, opath, &o, &err));
    CHECK_INT((int)ocfl_inventory_head(o->inv)->n_state, 2);
    CHECK_STR(read_content(o, "docs/a.txt"), "hello\n");
    CHECK_INT(journal_commit_object(j, root,
                                    &(struct journal_commit_in){
                                        .object_id = oid, .message = "none", .user_name = "Ann"},
                                    NULL, NULL, NULL),
              -ENODATA);

    /* edits over the head: copy-up, rename a committed dir, unlink, rename over targets */
    const struct ocfl_inventory *inv = o->inv;
    struct staging_entry e;
    CHECK_OK(staging_lookup(j, oid, inv, "b.txt", &e, &err));
    CHECK(e.kind == STAGING_FILE && !e.staged && e.digest[0]);
    const char *dig, *cp;
    CHECK_OK(ocfl_object_resolve(o, 0, "b.txt", &dig, &cp, &err));
    int src = ocfl_object_open_content(o, cp, &err);
    CHECK_OK(
        staging_copy_up(j, oid, inv, "b.txt", &(struct staging_source){src, -1}, &fd, &e, &err));
    close(src);
    char buf[32] = {0};
    CHECK_INT((int)pread(fd, buf, sizeof(buf), 0), 4);
    CHECK_STR(buf, "bee\n");
    CHECK(staging_entry_writable(&e));
    CHECK_INT((int)pwrite(fd, "BEE\n", 4, 0), 4);
    close(fd);
    CHECK_OK(staging_set_written(j, oid, "b.txt", 4, 0, NULL, &err));
    CHECK_OK(staging_rename(j, oid, inv, "docs", "papers", &err));
    CHECK_INT(kind_of(j, oid, inv, "docs"), STAGING_NONE);
    CHECK_INT(kind_of(j, oid, inv, "papers/a.txt"), STAGING_FILE);
    CHECK_OK(staging_mkdir(j, oid, inv, "d2", 0755, -1, -1, &err));
    CHECK_OK(staging_create(j, oid, inv, "d2/f", 0644, -1, -1, NULL, NULL, &err));
    CHECK_INT(staging_rename(j, oid, inv, "papers", "d2/f", NULL), -ENOTDIR);
    CHECK_INT(staging_rename(j, oid, inv, "b.txt", "d2", NULL), -EISDIR);
    CHECK_INT(staging_rename(j, oid, inv, "papers", "d2", NULL), -ENOTEMPTY);
    CHECK_INT(staging_rename(j, oid, inv, "papers", "papers/x", NULL), -EINVAL);
    CHECK_OK(staging_unlink(j, oid, inv, "d2/f", &err));
    CHECK_OK(staging_rmdir(j, oid, inv, "d2", &err));
    CHECK_INT(kind_of(j, oid, inv, "d2"), STAGING_NONE);
    CHECK_OK(staging_status_json(j, oid, inv, &json, &err));
    CHECK(json && strstr(json, "\"from\": \"docs/a.txt\"") && strstr(json, "papers/a.txt"));
    free(json);
    json = NULL;

    /* a plan that fails: staged changes intact, object at v1 */
    ocfl_io_set_fault(fail_renames, NULL);
    CHECK(journal_commit_object(
              j, root,
              &(struct journal_commit_in){.object_id = oid, .message = "fails", .user_name = "Ann"},
              NULL, NULL, NULL) < 0);
    ocfl_io_set_fault(NULL, NULL);
    CHECK_INT(kind_of(j, oid, inv, "papers/a.txt"), STAGING_FILE);
    CHECK_OK(staging_lookup(j, oid, inv, "b.txt", &e, &err));
    CHECK(staging_entry_writable(&e));
    CHECK_OK(staging_recover(j, &err));

    /* now it works: v2 */
    CHECK_OK(journal_commit_object(
        j, root,
        &(struct journal_commit_in){.object_id = oid, .message = "second", .user_name = "Ann"},
        &plan, &json, &err));
    CHECK(json && strstr(json, "\"v2\""));
    free(json);
    ocfl_object_close(o);
    o = NULL;
    CHECK_OK(ocfl_object_open(root->fd, opath, &o, &err));
    CHECK_STR(o->inv->head, "v2");
    CHECK_INT((int)ocfl_inventory_head(o->inv)->n_state, 2);
    CHECK_STR(read_content(o, "b.txt"), "BEE\n");
    CHECK_STR(read_content(o, "papers/a.txt"), "hello\n");
    struct ocfl_report rep = {0};
    CHECK_OK(ocfl_validate_object(root->fd, opath, NULL, &rep, &err));
    CHECK_INT((int)rep.n_errors, 0);
    for (size_t i = 0; i < rep.n && rep.n_errors; i++)
        printf("# %s %s\n", rep.items[i].code, rep.items[i].path);
    ocfl_report_release(&rep);

    free(opath);
    ocfl_object_close(o);
    journal_close(j);
    ocfl_root_close(root);
    {
        int dfd = open("/tmp", O_RDONLY | O_DIRECTORY);
        ocfl_io_remove_tree(dfd, tmp + 5, NULL);
        close(dfd);
    }
    return check_done();
}
