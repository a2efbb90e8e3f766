/* test_runner.c: batches of content steps: nested new directories, a batch resumed half
 * done, per-step attempts recorded among runs of done steps, batches cut short by time,
 * releases, more directories than fds kept open, a failed mkdir reverted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

#define NFILES 300

static char tmp[256];

struct fx {
    struct ocfl_root *root;
    struct journal *j;
    struct ocfl_plan *plan;
    char *opath;
    int64_t id;
    char logical[NFILES][64], source[NFILES][64], text[NFILES][32];
    char digest[NFILES][OCFL_DIGEST_HEX_MAX];
};

static void digest_text(const char *text, char hex[OCFL_DIGEST_HEX_MAX])
{
    struct ocfl_hasher *h;

    ocfl_hasher_new(1u << OCFL_DIGEST_SHA512, &h, NULL);
    ocfl_hasher_update(h, text, strlen(text));
    ocfl_hasher_final(h, OCFL_DIGEST_SHA512, hex);
    ocfl_hasher_free(h);
}

static void fx_free(struct fx *f)
{
    ocfl_plan_free(f->plan);
    free(f->opath);
    journal_close(f->j);
    ocfl_root_close(f->root);
    free(f);
}

/* A root and a journaled plan for new object "obj": NFILES files, top-level ones and ones in
 * nested directories (d3/e1/f0.txt ...), sources spread over three scratch directories. */
static struct fx *fx_make_dups(const char *name, unsigned threads, int dups)
{
    struct ocfl_err err = {0};
    struct journal_options o = {.threads = threads};
    struct ocfl_plan_file files[NFILES];
    char rootp[600], state[700];
    struct fx *f = calloc(1, sizeof(*f));

    if (!f)
        return NULL;
    snprintf(rootp, sizeof(rootp), "%s/%s", tmp, name);
    snprintf(state, sizeof(state), "%s/state", rootp);
    if (ocfl_root_create(rootp, NULL, NULL, NULL, &err) < 0 ||
        ocfl_root_open(rootp, &f->root, &err) < 0 || journal_open(state, &o, &f->j, &err) < 0 ||
        ocfl_root_object_path(f->root, "obj", &f->opath, &err) < 0)
        goto fail;
    int sfd = journal_state_fd(f->j);
    mkdirat(sfd, "scratch/s", 0755);
    for (int k = 0; k < 3; k++) {
        char d[32];
        snprintf(d, sizeof(d), "scratch/s/w%d", k);
        mkdirat(sfd, d, 0755);
    }
    for (int i = 0; i < NFILES; i++) {
        if (dups == 2) /* a directory per file: more directories than a batch keeps open */
            snprintf(f->logical[i], sizeof(f->logical[i]), "own/d%03d/f.txt", i);
        else if (i % 5 == 0)
            snprintf(f->logical[i], sizeof(f->logical[i]), "top%03d.txt", i);
        else
            snprintf(f->logical[i], sizeof(f->logical[i]), "d%d/e%d/f%03d.txt", i % 7, i % 3, i);
        snprintf(f->source[i], sizeof(f->source[i]), "scratch/s/w%d/%d", i % 3, i);
        snprintf(f->text[i], sizeof(f->text[i]), "file %d\n", dups == 1 ? i / 2 : i);
        digest_text(f->text[i], f->digest[i]);
        /* no fsync: durability is not what this test is about, and 1,200 fsyncs are slow */
        int fd = openat(sfd, f->source[i], O_WRONLY | O_CREAT | O_EXCL, 0644);
        ssize_t w = fd >= 0 ? write(fd, f->text[i], strlen(f->text[i])) : -1;
        if (fd >= 0)
            close(fd);
        if (w != (ssize_t)strlen(f->text[i])) {
            ocfl_err_set(&err, -EIO, "cannot write '%s'", f->source[i]);
            goto fail;
        }
        files[i] =
            (struct ocfl_plan_file){f->logical[i], f->digest[i], f->source[i], strlen(f->text[i])};
    }
    struct ocfl_plan_input in = {.id = "obj",
                                 .files = files,
                                 .n_files = NFILES,
                                 .created = "2024-01-01T00:00:00Z",
                                 .message = "many",
                                 .release_dir = "scratch/s"};
    if (ocfl_plan_build(&in, &f->plan, &err) < 0 ||
        journal_plan_add(f->j, f->plan, f->opath, &f->id, &err) < 0)
        goto fail;
    return f;
fail:
    printf("# fixture %s: %s\n", name, err.msg);
    fx_free(f);
    return NULL;
}

static struct fx *fx_make(const char *name, unsigned threads)
{
    return fx_make_dups(name, threads, 0);
}

static char *read_at(int dirfd, const char *path)
{
    char *buf = NULL;

    if (ocfl_io_read_file(dirfd, path, 1 << 20, &buf, NULL, NULL) < 0)
        return NULL;
    return buf;
}

/* The object is valid, holds every file's bytes, and the journal says every step is done. */
static void check_finished(struct fx *f, unsigned want_attempts_max)
{
    struct ocfl_err err = {0};
    struct ocfl_report rep = {0};
    struct journal_plan_info info;
    struct journal_step_info *steps = NULL;
    size_t n = 0, bad = 0, ok_bytes = 1;
    char p[1200];

    CHECK_OK(ocfl_validate_object(f->root->fd, f->opath, NULL, &rep, &err));
    CHECK_INT(rep.n_errors, 0);
    ocfl_report_release(&rep);
    for (int i = 0; i < NFILES; i++) {
        snprintf(p, sizeof(p), "%s/v1/content/%s", f->opath, f->logical[i]);
        char *t = read_at(f->root->fd, p);
        if (!t || strcmp(t, f->text[i]))
            bad++;
        free(t);
    }
    CHECK_INT(bad, 0);
    CHECK(faccessat(journal_state_fd(f->j), "scratch/s", F_OK, 0) < 0); /* released */
    CHECK_OK(journal_plan_get(f->j, f->id, &info, &steps, &n, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_DONE);
    CHECK_INT(info.steps_done, f->plan->n_steps);
    CHECK_INT(info.bytes_done, info.bytes_total);
    bad = 0;
    for (size_t i = 0; i < n; i++) {
        if (steps[i].state != JOURNAL_STEP_DONE || steps[i].attempts < 1 ||
            steps[i].attempts > want_attempts_max)
            bad++;
        if (steps[i].kind == OCFL_STEP_CONTENT && steps[i].bytes_done != steps[i].size)
            ok_bytes = 0;
    }
    CHECK_INT(bad, 0);
    CHECK(ok_bytes);
    journal_plan_info_release(&info);
    journal_step_infos_free(steps, n);
}

/* Every step tried once: the journal's policy, and the recorded plans made to run under it
 * (as plans from before policies were recorded do). */
static void one_attempt(struct journal *j)
{
    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++)
        j->retry[k].max_attempts = 1;
    CHECK_OK(jdb_exec(journal_sqlite(j), "UPDATE plans SET retry_policy = NULL", NULL));
}

static void test_nested(void)
{
    struct ocfl_err err = {0};
    struct fx *f = fx_make("nested", 2);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_OK(journal_plan_run(f->j, f->root, f->id, NULL, NULL, &err));
    check_finished(f, 1);
    fx_free(f);
}

static void test_many_dirs(void)
{
    struct ocfl_err err = {0};
    struct fx *f = fx_make_dups("manydirs", 2, 2);

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_OK(journal_plan_run(f->j, f->root, f->id, NULL, NULL, &err));
    check_finished(f, 1);
    fx_free(f);
}

/*
 * What a run killed in the middle of its first content batch leaves: the object declared, the
 * first half of the content steps moved by hand (none recorded), with a wrong file at the
 * second one's destination when @junk; steps 0 and 1 recorded done.  Returns the object fd.
 */
static int simulate_killed_batch(struct fx *f, int junk)
{
    struct ocfl_err err = {0};
    int sfd = journal_state_fd(f->j), objfd;
    size_t first = ocfl_plan_find_step(f->plan, OCFL_STEP_CONTENT);
    size_t idx[2] = {0, 1};

    CHECK_OK(ocfl_io_mkdirs(f->root->fd, f->opath, 0755, &err));
    objfd = ocfl_io_open(f->root->fd, f->opath, O_RDONLY | O_DIRECTORY, 0);
    CHECK(objfd >= 0);
    ocfl_io_write_file_durable(objfd, "0=ocfl_object_1.1", "ocfl_object_1.1\n", 16, NULL);
    for (size_t i = first; i < f->plan->n_steps && i < first + NFILES / 2; i++) {
        const struct ocfl_plan_step *s = &f->plan->steps[i];
        char dir[256], *slash;
        snprintf(dir, sizeof(dir), "%s", s->dest);
        if ((slash = strrchr(dir, '/')))
            *slash = 0;
        ocfl_io_mkdirs(objfd, dir, 0755, NULL);
        if (junk && i == first + 1) /* a wrong file at the dest, the source still there */
            ocfl_io_write_file_durable(objfd, s->dest, "junk", 4, NULL);
        else
            CHECK_OK(ocfl_io_rename(sfd, s->source, objfd, s->dest, &err));
    }
    CHECK_OK(jdb_steps_done(f->j, f->id, idx, NULL, NULL, 2));
    return objfd;
}

/* Half of the content moved before (a killed run), one dest left with wrong bytes while its
 * source is still there, one new directory already made: the run finishes it all. */
static void test_half_done(void)
{
    struct ocfl_err err = {0};
    struct fx *f = fx_make("half", 1);
    int objfd;

    CHECK(f != NULL);
    if (!f)
        return;
    objfd = simulate_killed_batch(f, 1);
    /* one new directory already made beyond those */
    CHECK_OK(ocfl_io_mkdirs(objfd, "v1/content/d1/e1", 0755, &err));
    CHECK_OK(journal_plan_run(f->j, f->root, f->id, NULL, NULL, &err));
    check_finished(f, 1);
    if (objfd >= 0)
        close(objfd);
    fx_free(f);
}

/* A cancel after a run killed in the middle of a batch (files moved, no step recorded):
 * every moved file goes back to its source, the new object is removed. */
static void test_cancel_half_done(void)
{
    struct ocfl_err err = {0};
    struct fx *f = fx_make("cancel", 1);
    struct journal_plan_info info;
    struct stat st;
    size_t missing = 0;
    int objfd, sfd;

    CHECK(f != NULL);
    if (!f)
        return;
    sfd = journal_state_fd(f->j);
    objfd = simulate_killed_batch(f, 0);
    CHECK_OK(journal_plan_cancel(f->j, f->root, f->id, &err));
    CHECK_OK(journal_plan_get(f->j, f->id, &info, NULL, NULL, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_CANCELLED);
    journal_plan_info_release(&info);
    CHECK(fstatat(f->root->fd, f->opath, &st, 0) < 0);
    for (int i = 0; i < NFILES; i++) {
        char *t = read_at(sfd, f->source[i]);
        if (!t || strcmp(t, f->text[i]))
            missing++;
        free(t);
    }
    CHECK_INT(missing, 0);
    if (objfd >= 0)
        close(objfd);
    fx_free(f);
}

/* Attempts are recorded per step even when runs of steps are recorded done together. */
static void test_attempts(void)
{
    struct ocfl_err err = {0};
    struct fx *f = fx_make("attempts", 2);
    struct journal_step_info *steps = NULL;
    struct journal_plan_info info;
    size_t n = 0, k;

    CHECK(f != NULL);
    if (!f)
        return;
    k = ocfl_plan_find_step(f->plan, OCFL_STEP_CONTENT) + 10;
    f->j->fail_step = (long)k;
    f->j->fail_times = 2;
    f->j->fail_code = -EIO;
    f->j->test_retry_ms = 1;
    CHECK_OK(journal_plan_run(f->j, f->root, f->id, NULL, NULL, &err));
    check_finished(f, 3);
    CHECK_OK(journal_plan_get(f->j, f->id, &info, &steps, &n, &err));
    if (n > k + 1) {
        CHECK_INT(steps[k - 1].attempts, 1);
        CHECK_INT(steps[k].attempts, 3);
        CHECK_INT(steps[k + 1].attempts, 1);
        CHECK(steps[k].last_error == NULL);
    }
    journal_plan_info_release(&info);
    journal_step_infos_free(steps, n);
    fx_free(f);
}

/* Pairs of equal files: one of each stored, the other's source released; the releases are
 * recorded done, each once. */
static void test_releases(void)
{
    struct ocfl_err err = {0};
    struct ocfl_report rep = {0};
    struct fx *f = fx_make_dups("releases", 2, 1);
    struct journal_step_info *steps = NULL;
    struct journal_plan_info info;
    size_t n = 0, releases = 0, bad = 0;

    CHECK(f != NULL);
    if (!f)
        return;
    CHECK_OK(journal_plan_run(f->j, f->root, f->id, NULL, NULL, &err));
    CHECK_OK(ocfl_validate_object(f->root->fd, f->opath, NULL, &rep, &err));
    CHECK_INT(rep.n_errors, 0);
    ocfl_report_release(&rep);
    CHECK(faccessat(journal_state_fd(f->j), "scratch/s", F_OK, 0) < 0);
    CHECK_OK(journal_plan_get(f->j, f->id, &info, &steps, &n, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_DONE);
    CHECK(info.last_error == NULL);
    for (size_t i = 0; i < n; i++) {
        if (steps[i].kind == OCFL_STEP_RELEASE)
            releases++;
        if (steps[i].state != JOURNAL_STEP_DONE || steps[i].attempts != 1) {
            if (!bad)
                printf("# step %zu (%s): %s, %u attempts\n", i, ocfl_step_kind_name(steps[i].kind),
                       journal_step_state_name(steps[i].state), steps[i].attempts);
            bad++;
        }
    }
    CHECK_INT(releases, NFILES / 2 + 1); /* one per duplicate, and the staging directory */
    CHECK_INT(bad, 0);
    journal_plan_info_release(&info);
    journal_step_infos_free(steps, n);
    fx_free(f);
}

/* A clock that moves 0.3 s each time it is read: every batch ends after a step or two. */
static uint64_t fast_now(void *ctx)
{
    uint64_t *t = ctx;

    return *t += 300000000ull;
}

static void no_sleep(void *ctx, uint64_t ns)
{
    (void)ctx;
    (void)ns;
}

static void test_short_batches(void)
{
    struct ocfl_err err = {0};
    struct fx *f = fx_make("short", 2);
    uint64_t t = 0;

    CHECK(f != NULL);
    if (!f)
        return;
    f->j->clock = (struct journal_clock){fast_now, no_sleep, &t};
    CHECK_OK(journal_plan_run(f->j, f->root, f->id, NULL, NULL, &err));
    check_finished(f, 1);
    CHECK(t > 300000000ull * NFILES / 2); /* many batches, each reading the clock */
    fx_free(f);
}

static int fail_mkdir_e1(void *ctx, enum ocfl_io_op op, const char *path)
{
    (void)ctx;
    return op == OCFL_IO_MKDIR && !strcmp(path, "e1") ? -EIO : 0;
}

/* A directory that cannot be made fails the plan; the revert puts every source back. */
static void test_mkdir_fails(void)
{
    struct ocfl_err err = {0};
    struct fx *f = fx_make("mkdirfail", 2);
    struct journal_plan_info info;
    struct stat st;
    size_t missing = 0;

    CHECK(f != NULL);
    if (!f)
        return;
    one_attempt(f->j);
    ocfl_io_set_fault(fail_mkdir_e1, NULL);
    CHECK_INT(journal_plan_run(f->j, f->root, f->id, NULL, NULL, &err), -EIO);
    ocfl_io_set_fault(NULL, NULL);
    CHECK(strstr(err.msg, "e1") != NULL);
    CHECK_OK(journal_plan_get(f->j, f->id, &info, NULL, NULL, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_REVERTED);
    journal_plan_info_release(&info);
    CHECK(fstatat(f->root->fd, f->opath, &st, 0) < 0); /* the new object is gone */
    for (int i = 0; i < NFILES; i++) {
        char *t = read_at(journal_state_fd(f->j), f->source[i]);
        if (!t || strcmp(t, f->text[i]))
            missing++;
        free(t);
    }
    CHECK_INT(missing, 0);
    fx_free(f);
}

static void test_mkdir_nosync(void)
{
    struct ocfl_err err = {0};
    char d[600];
    int fd;

    snprintf(d, sizeof(d), "%s/mk", tmp);
    mkdir(d, 0755);
    fd = open(d, O_RDONLY | O_DIRECTORY);
    CHECK(fd >= 0);
    CHECK_INT(ocfl_io_mkdir_nosync(fd, "a", 0755, &err), 1);
    CHECK_INT(ocfl_io_mkdir_nosync(fd, "a", 0755, &err), 0);
    CHECK_INT(ocfl_io_mkdir_nosync(fd, "a/b", 0755, &err), -EINVAL);
    CHECK_INT(ocfl_io_mkdir_nosync(fd, "..", 0755, &err), -EXDEV);
    CHECK_INT(ocfl_io_mkdir_nosync(fd, "zz/b", 0755, &err), -EINVAL);
    ocfl_io_set_fault(fail_mkdir_e1, NULL);
    CHECK_INT(ocfl_io_mkdir_nosync(fd, "e1", 0755, &err), -EIO);
    ocfl_io_set_fault(NULL, NULL);
    CHECK(faccessat(fd, "e1", F_OK, 0) < 0);
    if (fd >= 0)
        close(fd);
}

int main(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char cmd[600];

    snprintf(tmp, sizeof(tmp), "%s/test_runner.XXXXXX", base);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_mkdir_nosync();
    test_nested();
    test_many_dirs();
    test_half_done();
    test_cancel_half_done();
    test_attempts();
    test_short_batches();
    test_releases();
    test_mkdir_fails();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", tmp);
    return check_done();
}
