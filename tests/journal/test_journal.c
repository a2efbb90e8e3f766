/* test_journal.c: schema and migrations, the lock, retry backoff with a fake clock, step
 * idempotence, revert; the retry policy each plan records, per kind of step. */
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
#include "object.h"
#include "plan.h"
#include "root.h"
#include "run_int.h"

static char tmp[256];

static char *path_of(const char *fmt, const char *a)
{
    static char buf[4][1024];
    static int k;
    char *b = buf[k++ % 4];

    snprintf(b, sizeof(buf[0]), fmt, tmp, a);
    return b;
}

/* ---- schema ---- */

static int64_t pragma(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st;
    int64_t v = -1;

    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_migrations(void)
{
    struct ocfl_err err = {0};
    struct journal *j = NULL, *j2 = NULL;
    sqlite3 *db;
    char *state = path_of("%s/%s", "state-mig");
    char *dbp = path_of("%s/%s", "state-mig/ocflfs.db");

    /* a v0 database: ours, but without any table */
    mkdir(state, 0755);
    CHECK_INT(sqlite3_open(dbp, &db), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA application_id = %d", JOURNAL_APPLICATION_ID);
    sqlite3_exec(db, sql, NULL, NULL, NULL);
    CHECK_INT(pragma(db, "PRAGMA user_version"), 0);
    sqlite3_close(db);

    struct journal_options ro = {.flags = JOURNAL_READONLY};
    CHECK_INT(journal_open(state, &ro, &j, &err), -EPROTO); /* readers do not migrate */
    CHECK_OK(journal_open(state, NULL, &j, &err));
    if (!j)
        return;
    db = journal_sqlite(j);
    CHECK_INT(pragma(db, "PRAGMA user_version"), JOURNAL_SCHEMA_VERSION);
    CHECK_INT(pragma(db, "PRAGMA application_id"), JOURNAL_APPLICATION_ID);
    CHECK_INT(pragma(db, "PRAGMA synchronous"), 2); /* FULL */
    CHECK_INT(pragma(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
                         " ('plans', 'steps', 'objects')"),
              3);
    CHECK_OK(journal_migrate(db, &err)); /* again: nothing to do */
    CHECK_INT(pragma(db, "PRAGMA user_version"), JOURNAL_SCHEMA_VERSION);
    /* the mount's index table has the agreed columns */
    CHECK_INT(sqlite3_exec(db,
                           "INSERT INTO objects (id, path, head, inventory_digest, mtime_ns)"
                           " VALUES ('a', 'p', 'v1', 'd', 1)",
                           NULL, NULL, NULL),
              SQLITE_OK);

    /* one writer per state directory */
    CHECK_INT(journal_open(state, NULL, &j2, &err), -EBUSY);
    CHECK(strstr(err.msg, "state-mig") != NULL);
    CHECK(strstr(err.msg, "in use") != NULL);
    CHECK_OK(journal_open(state, &ro, &j2, &err)); /* readers need no lock */
    journal_close(j2);
    j2 = NULL;
    /* the holder is seen without the lock being taken (a writer starting meanwhile would
     * find it taken): held while open, free once closed */
    CHECK_INT(journal_lock_held(state), 1);
    journal_close(j);
    CHECK_INT(journal_lock_held(state), 0);
    CHECK_OK(journal_open(state, NULL, &j, &err)); /* released on close */
    journal_close(j);

    /* newer schema, foreign database */
    CHECK_INT(sqlite3_open(dbp, &db), SQLITE_OK);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    CHECK_INT(journal_migrate(db, &err), -EPROTO);
    sqlite3_exec(db, "PRAGMA user_version = 1; PRAGMA application_id = 42", NULL, NULL, NULL);
    CHECK_INT(journal_migrate(db, &err), -EMEDIUMTYPE);
    sqlite3_close(db);
}

/* ---- retry policy and a fake clock ---- */

struct fake_clock {
    uint64_t now;
    uint64_t slept[16];
    int n;
};

static uint64_t fake_now(void *ctx)
{
    return ((struct fake_clock *)ctx)->now;
}

static void fake_sleep(void *ctx, uint64_t ns)
{
    struct fake_clock *c = ctx;

    if (c->n < 16)
        c->slept[c->n++] = ns;
    c->now += ns;
}

static void test_backoff(void)
{
    struct journal_retry r;

    journal_retry_default(&r);
    CHECK_INT(r.initial_ms, 100);
    CHECK_INT(r.max_attempts, 5);
    CHECK_INT(journal_retry_delay_ms(&r, 1), 100);
    CHECK_INT(journal_retry_delay_ms(&r, 2), 200);
    CHECK_INT(journal_retry_delay_ms(&r, 4), 800);
    CHECK_INT(journal_retry_delay_ms(&r, 9), 25600);
    CHECK_INT(journal_retry_delay_ms(&r, 10), 30000);
    CHECK_INT(journal_retry_delay_ms(&r, 1000), 30000);
    CHECK(journal_retry_allowed(&r, -EIO));
    CHECK(!journal_retry_allowed(&r, JOURNAL_CONFLICT));
    CHECK(!journal_retry_allowed(&r, -EINVAL));
    r.coefficient = 3.0;
    r.initial_ms = 10;
    CHECK_INT(journal_retry_delay_ms(&r, 3), 90);
    r.n_non_retryable = 1;
    r.non_retryable[0] = -EIO;
    CHECK(!journal_retry_allowed(&r, -EIO));
    CHECK(journal_retry_allowed(&r, -EINVAL));
}

/* ---- a root, an object at v1, and a plan for v2 ---- */

struct fixture {
    struct ocfl_root *root;
    struct journal *j;
    struct ocfl_plan *plan;
    char *opath;
    int64_t id;
};

static void fixture_free(struct fixture *f)
{
    ocfl_plan_free(f->plan);
    free(f->opath);
    journal_close(f->j);
    ocfl_root_close(f->root);
    memset(f, 0, sizeof(*f));
}

static void digest_text(const char *text, char hex[OCFL_DIGEST_HEX_MAX])
{
    struct ocfl_hasher *h;

    ocfl_hasher_new(1u << OCFL_DIGEST_SHA512, &h, NULL);
    ocfl_hasher_update(h, text, strlen(text));
    ocfl_hasher_final(h, OCFL_DIGEST_SHA512, hex);
    ocfl_hasher_free(h);
}

/*
 * Make ROOT with object "obj" at v1 (a.txt, b.txt) through a journaled
 * plan, then stage v2 (a.txt changed, b.txt kept, c.txt new) and journal it.
 */
static int fixture_make(struct fixture *f, const char *name, const struct journal_options *o)
{
    struct ocfl_err err = {0};
    char *rootp = path_of("%s/%s", name), state[1100], da[129], db[129], dc[129], dn[129];
    struct ocfl_object *obj = NULL;
    int r;

    memset(f, 0, sizeof(*f));
    snprintf(state, sizeof(state), "%s/extensions/ocflfs", rootp);
    if (ocfl_root_create(rootp, NULL, NULL, NULL, &err) < 0 ||
        ocfl_root_open(rootp, &f->root, &err) < 0 || journal_open(state, o, &f->j, &err) < 0 ||
        ocfl_root_object_path(f->root, "obj", &f->opath, &err) < 0) {
        printf("# fixture: %s\n", err.msg);
        return -1;
    }
    int sfd = journal_state_fd(f->j);
    mkdirat(sfd, "scratch/s1", 0755);
    mkdirat(sfd, "scratch/s2", 0755);
    ocfl_io_write_file_durable(sfd, "scratch/s1/a", "alpha\n", 6, NULL);
    ocfl_io_write_file_durable(sfd, "scratch/s1/b", "beta\n", 5, NULL);
    ocfl_io_write_file_durable(sfd, "scratch/s2/a", "ALPHA\n", 6, NULL);
    ocfl_io_write_file_durable(sfd, "scratch/s2/c", "gamma\n", 6, NULL);
    digest_text("alpha\n", da);
    digest_text("beta\n", db);
    digest_text("ALPHA\n", dn);
    digest_text("gamma\n", dc);
    struct ocfl_plan_file v1[] = {{"a.txt", da, "scratch/s1/a", 6},
                                  {"b.txt", db, "scratch/s1/b", 5}};
    struct ocfl_plan_input in = {.id = "obj",
                                 .files = v1,
                                 .n_files = 2,
                                 .created = "2024-01-01T00:00:00Z",
                                 .message = "one",
                                 .release_dir = "scratch/s1"};
    int64_t id;
    if (ocfl_plan_build(&in, &f->plan, &err) < 0 ||
        journal_plan_add(f->j, f->plan, f->opath, &id, &err) < 0 ||
        journal_plan_run(f->j, f->root, id, NULL, NULL, &err) < 0 ||
        ocfl_object_open(f->root->fd, f->opath, &obj, &err) < 0) {
        printf("# fixture v1: %s\n", err.msg);
        return -1;
    }
    ocfl_plan_free(f->plan);
    f->plan = NULL;
    struct ocfl_plan_file v2[] = {
        {"a.txt", dn, "scratch/s2/a", 6}, {"b.txt", db, NULL, 5}, {"c.txt", dc, "scratch/s2/c", 6}};
    struct ocfl_plan_input in2 = {.base = obj->inv,
                                  .base_digest = obj->inventory_digest,
                                  .files = v2,
                                  .n_files = 3,
                                  .created = "2024-01-02T00:00:00Z",
                                  .message = "two",
                                  .release_dir = "scratch/s2"};
    r = ocfl_plan_build(&in2, &f->plan, &err);
    if (r >= 0)
        r = journal_plan_add(f->j, f->plan, f->opath, &f->id, &err);
    ocfl_object_close(obj);
    if (r < 0)
        printf("# fixture v2: %s\n", err.msg);
    return r;
}

/* The object's head, or "" when it cannot be opened. */
static const char *head_of(struct fixture *f, char *buf, size_t size)
{
    struct ocfl_object *obj = NULL;

    buf[0] = 0;
    if (ocfl_object_open(f->root->fd, f->opath, &obj, NULL) == 0)
        snprintf(buf, size, "%s", obj->inv->head);
    ocfl_object_close(obj);
    return buf;
}

static char *read_at(int dirfd, const char *path)
{
    char *buf = NULL;
    size_t len;

    if (ocfl_io_read_file(dirfd, path, 1 << 20, &buf, &len, NULL) < 0)
        return NULL;
    return buf;
}

static void check_v2(struct fixture *f)
{
    char head[32], p[2048];
    char *inv, *a, *c;

    CHECK_STR(head_of(f, head, sizeof(head)), "v2");
    snprintf(p, sizeof(p), "%s/inventory.json", f->opath);
    inv = read_at(f->root->fd, p);
    CHECK(inv && strlen(inv) == f->plan->inventory_len &&
          !memcmp(inv, f->plan->inventory, f->plan->inventory_len));
    snprintf(p, sizeof(p), "%s/v2/content/a.txt", f->opath);
    a = read_at(f->root->fd, p);
    snprintf(p, sizeof(p), "%s/v2/content/c.txt", f->opath);
    c = read_at(f->root->fd, p);
    CHECK_STR(a, "ALPHA\n");
    CHECK_STR(c, "gamma\n");
    CHECK(faccessat(journal_state_fd(f->j), "scratch/s2", F_OK, 0) < 0); /* released */
    free(inv);
    free(a);
    free(c);
}

static void test_retry_then_success(void)
{
    struct fake_clock clk = {.now = 1000};
    struct journal_clock jc = {fake_now, fake_sleep, &clk};
    struct journal_options o = {.clock = &jc, .threads = 2};
    struct ocfl_err err = {0};
    struct journal_plan_info info;
    struct journal_step_info *steps = NULL;
    size_t n = 0;
    struct fixture f;

    /* step 1 of the v2 plan (the first content step) fails twice with EIO
     * (the hook that OCFLFS_TEST_FAIL_STEP=1:2 sets, for this plan only) */
    int r = fixture_make(&f, "root-retry", &o);
    CHECK_OK(r);
    if (f.j) {
        f.j->fail_step = 1;
        f.j->fail_times = 2;
        f.j->fail_code = -EIO;
    }
    if (r < 0) {
        fixture_free(&f);
        return;
    }
    CHECK_INT(f.plan->steps[1].kind, OCFL_STEP_CONTENT);
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    CHECK_INT(clk.n, 2);
    CHECK_INT(clk.slept[0], 100000000);
    CHECK_INT(clk.slept[1], 200000000);
    CHECK_OK(journal_plan_get(f.j, f.id, &info, &steps, &n, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_DONE);
    CHECK_INT(n, f.plan->n_steps);
    if (n > 2) {
        CHECK_INT(steps[1].attempts, 3);
        CHECK_INT(steps[1].state, JOURNAL_STEP_DONE);
        CHECK_INT(steps[0].attempts, 1);
    }
    journal_plan_info_release(&info);
    journal_step_infos_free(steps, n);
    check_v2(&f);
    fixture_free(&f);
}

static void test_persistent_failure(void)
{
    struct fake_clock clk = {.now = 1000};
    struct journal_clock jc = {fake_now, fake_sleep, &clk};
    struct journal_options o = {.clock = &jc};
    struct ocfl_err err = {0};
    struct journal_plan_info info;
    char head[32];
    struct fixture f;
    char *a;

    /* step 3 (version inventory) fails forever: after 5 attempts the plan reverts */
    int r = fixture_make(&f, "root-fail", &o);
    CHECK_OK(r);
    if (f.j) {
        f.j->fail_step = 3;
        f.j->fail_times = 1000;
        f.j->fail_code = -EIO;
    }
    if (r < 0) {
        fixture_free(&f);
        return;
    }
    CHECK_INT(f.plan->steps[3].kind, OCFL_STEP_VERSION_INV);
    CHECK_INT(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err), -EIO);
    CHECK(strstr(err.msg, "reverted") != NULL);
    CHECK_INT(clk.n, 4);
    CHECK_INT(clk.slept[3], 800000000);
    CHECK_OK(journal_plan_get(f.j, f.id, &info, NULL, NULL, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_REVERTED);
    journal_plan_info_release(&info);
    CHECK_STR(head_of(&f, head, sizeof(head)), "v1");
    char p[2048];
    snprintf(p, sizeof(p), "%s/v2", f.opath);
    CHECK(faccessat(f.root->fd, p, F_OK, AT_SYMLINK_NOFOLLOW) < 0);
    /* the staged files are back where they were */
    a = read_at(journal_state_fd(f.j), "scratch/s2/a");
    CHECK_STR(a, "ALPHA\n");
    free(a);
    /* a finished plan does not run again */
    CHECK_INT(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err), -EALREADY);
    fixture_free(&f);
}

/* Every step run twice (as a replay after a crash would) gives the same object. */
static void test_idempotence(void)
{
    struct ocfl_err err = {0};
    struct fixture f;
    struct rplan rp = {0};
    struct run run;
    char head[32];
    int ok = 1;

    if (fixture_make(&f, "root-idem", NULL) < 0) {
        CHECK(0);
        fixture_free(&f);
        return;
    }
    /* a run over the plan, driven step by step, each step twice */
    rp.id = f.id;
    rp.object_id = f.plan->object_id;
    rp.object_path = f.opath;
    rp.base_digest = f.plan->base_digest;
    rp.inventory_digest = f.plan->inventory_digest;
    rp.version = f.plan->version_name;
    rp.alg = f.plan->digest_algorithm;
    rp.inventory = f.plan->inventory;
    rp.inventory_len = f.plan->inventory_len;
    rp.n_steps = f.plan->n_steps;
    rp.steps = calloc(rp.n_steps, sizeof(*rp.steps));
    for (size_t i = 0; rp.steps && i < rp.n_steps; i++) {
        rp.steps[i].kind = f.plan->steps[i].kind;
        rp.steps[i].source = f.plan->steps[i].source;
        rp.steps[i].dest = f.plan->steps[i].dest;
        rp.steps[i].digest = f.plan->steps[i].digest;
        rp.steps[i].size = f.plan->steps[i].size;
    }
    memset(&run, 0, sizeof(run));
    run.j = f.j;
    run.root = f.root;
    run.p = &rp;
    run.objfd = -1;
    run.vfd = -1;
    run.alg = OCFL_DIGEST_SHA512;
    for (size_t i = 0; rp.steps && i < rp.n_steps; i++)
        for (unsigned t = 1; t <= 2; t++)
            if (run_exec_step(&run, i, t, t - 1, &err) < 0) {
                printf("# step %zu attempt %u: %s\n", i, t, err.msg);
                ok = 0;
            }
    CHECK(ok);
    check_v2(&f);

    /* compensating twice after the switch restores v1 and the staged files */
    rp.steps[0].attempts = 1; /* version-dirs was ours */
    for (size_t i = 0; i < rp.n_steps; i++)
        rp.steps[i].attempts = 1;
    mkdirat(journal_state_fd(f.j), "scratch/s2", 0755);
    CHECK_OK(run_compensate(&run, &err));
    CHECK_OK(run_compensate(&run, &err));
    CHECK_STR(head_of(&f, head, sizeof(head)), "v1");
    char *a = read_at(journal_state_fd(f.j), "scratch/s2/a");
    CHECK_STR(a, "ALPHA\n");
    free(a);
    /* the version-dirs step again after an attempt that died before its mkdir: it makes the
     * version directory (the claim was that attempt's) */
    CHECK_OK(run_exec_step(&run, 0, 3, 2, &err));
    CHECK(run.objfd >= 0 && faccessat(run.objfd, "v2/content", F_OK, 0) == 0);
    if (run.objfd >= 0)
        close(run.objfd);
    if (run.vfd >= 0)
        close(run.vfd);
    free(rp.steps);
    fixture_free(&f);
}

/* ---- the policy a plan records, per kind of step ---- */

/* Every kind at the defaults, then @kind as given. */
static void policies(struct journal_retry r[JOURNAL_RETRY_KIND_COUNT], enum journal_retry_kind kind,
                     uint64_t initial, double coefficient, uint64_t max, unsigned attempts)
{
    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++)
        journal_retry_default(&r[k]);
    r[kind].initial_ms = initial;
    r[kind].coefficient = coefficient;
    r[kind].max_ms = max;
    r[kind].max_attempts = attempts;
}

/* Close the fixture's journal and open it again with @o (as a later process would). */
static int reopen(struct fixture *f, const char *name, const struct journal_options *o)
{
    struct ocfl_err err = {0};
    char state[1100];

    snprintf(state, sizeof(state), "%s/extensions/ocflfs", path_of("%s/%s", name));
    journal_close(f->j);
    f->j = NULL;
    if (journal_open(state, o, &f->j, &err) < 0) {
        printf("# reopen: %s\n", err.msg);
        return -1;
    }
    return 0;
}

/* Step @step of the fixture's plan fails with EIO on its first @times attempts; the clock's
 * record of waits starts afresh. */
static void fail_eio(struct fixture *f, struct fake_clock *clk, size_t step, unsigned times)
{
    f->j->fail_step = (long)step;
    f->j->fail_times = times;
    f->j->fail_code = -EIO;
    clk->n = 0;
}

static void test_policy_json(void)
{
    struct journal_retry a[JOURNAL_RETRY_KIND_COUNT], b[JOURNAL_RETRY_KIND_COUNT];
    char *text = NULL;

    policies(a, JOURNAL_RETRY_SWITCH, 7, 1.5, 90, 3);
    a[JOURNAL_RETRY_RELEASE].n_non_retryable = 2;
    a[JOURNAL_RETRY_RELEASE].non_retryable[0] = -EIO;
    a[JOURNAL_RETRY_RELEASE].non_retryable[1] = -ENOTSUP;
    CHECK_OK(journal_retry_to_json(a, &text));
    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++)
        memset(&b[k], 0, sizeof(b[k]));
    CHECK_OK(journal_retry_from_json(text, b));
    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++) {
        CHECK_INT(b[k].initial_ms, a[k].initial_ms);
        CHECK(b[k].coefficient == a[k].coefficient);
        CHECK_INT(b[k].max_ms, a[k].max_ms);
        CHECK_INT(b[k].max_attempts, a[k].max_attempts);
        CHECK_INT(b[k].n_non_retryable, a[k].n_non_retryable);
        CHECK(!memcmp(b[k].non_retryable, a[k].non_retryable, a[k].n_non_retryable * sizeof(int)));
    }
    free(text);
    CHECK_INT(journal_retry_from_json("{\"content\": {\"initial_interval_ms\": \"x\"}}", b),
              -EBADMSG);
    CHECK_INT(journal_retry_from_json("[", b), -EBADMSG);
    /* a recorded policy edited past the settings' bounds is refused, not run */
    static const char *const edited[][3] = {
        {"1", "-2.0", "10"},      {"1", "0.5", "10"},
        {"1", "1e300", "10"},     {"9223372036854775807", "2.0", "10"},
        {"1", "2.0", "86400001"},
    };
    for (size_t i = 0; i < sizeof(edited) / sizeof(edited[0]); i++) {
        char json[512];
        snprintf(json, sizeof(json),
                 "{\"switch\": {\"initial_interval_ms\": %s, \"backoff_coefficient\": %s, "
                 "\"maximum_interval_ms\": %s, \"maximum_attempts\": 3, \"non_retryable\": []}}",
                 edited[i][0], edited[i][1], edited[i][2]);
        b[JOURNAL_RETRY_SWITCH].initial_ms = 42;
        CHECK_INT(journal_retry_from_json(json, b), -EBADMSG);
        CHECK_INT(b[JOURNAL_RETRY_SWITCH].initial_ms, 42); /* left as it was */
    }
    CHECK_OK(journal_retry_from_json("{\"switch\": {\"initial_interval_ms\": 1, "
                                     "\"backoff_coefficient\": 100, \"maximum_interval_ms\": "
                                     "86400000, \"maximum_attempts\": 3, \"non_retryable\": []}}",
                                     b));
    CHECK_INT(journal_retry_kind_of(OCFL_STEP_CONTENT), JOURNAL_RETRY_CONTENT);
    CHECK_INT(journal_retry_kind_of(OCFL_STEP_VERSION_INV), JOURNAL_RETRY_INVENTORY);
    CHECK_INT(journal_retry_kind_of(OCFL_STEP_ROOT_SIDECAR), JOURNAL_RETRY_SWITCH);
    CHECK_INT(journal_retry_kind_of(OCFL_STEP_PURGE_DELETE), JOURNAL_RETRY_RELEASE);
}

/*
 * A plan recorded under one policy and resumed by a process with another (the configuration
 * changed meanwhile) keeps its own: its retries wait what it was recorded with.
 */
static void test_policy_kept_on_resume(void)
{
    struct fake_clock clk = {.now = 1000};
    struct journal_clock jc = {fake_now, fake_sleep, &clk};
    struct journal_retry a[JOURNAL_RETRY_KIND_COUNT], b[JOURNAL_RETRY_KIND_COUNT];
    struct journal_options oa = {.clock = &jc, .retry = a}, ob = {.clock = &jc, .retry = b};
    struct ocfl_err err = {0};
    struct journal_plan_info info;
    struct journal_step_info *steps = NULL;
    size_t n = 0;
    struct fixture f;

    policies(a, JOURNAL_RETRY_CONTENT, 7, 3.0, 50, 4);
    policies(b, JOURNAL_RETRY_CONTENT, 1000, 2.0, 30000, 1); /* would fail at once */
    if (fixture_make(&f, "root-policy", &oa) < 0 || reopen(&f, "root-policy", &ob) < 0) {
        CHECK(0);
        fixture_free(&f);
        return;
    }
    CHECK_OK(journal_plan_get(f.j, f.id, &info, NULL, NULL, &err));
    CHECK(info.retry_recorded);
    CHECK_INT(info.retry[JOURNAL_RETRY_CONTENT].initial_ms, 7);
    CHECK_INT(info.retry[JOURNAL_RETRY_CONTENT].max_attempts, 4);
    journal_plan_info_release(&info);
    /* the first content step fails three times: retried after 7, 21 and 50 (not 63) ms */
    fail_eio(&f, &clk, 1, 3);
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    CHECK_INT(clk.n, 3);
    CHECK_INT(clk.slept[0], 7000000);
    CHECK_INT(clk.slept[1], 21000000);
    CHECK_INT(clk.slept[2], 50000000);
    CHECK_OK(journal_plan_get(f.j, f.id, &info, &steps, &n, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_DONE);
    if (n > 1)
        CHECK_INT(steps[1].attempts, 4);
    journal_plan_info_release(&info);
    journal_step_infos_free(steps, n);
    check_v2(&f);
    fixture_free(&f);
}

/* Each kind of step follows its own policy: the switch's here, the others' untouched. */
static void test_policy_per_kind(void)
{
    struct fake_clock clk = {.now = 1000};
    struct journal_clock jc = {fake_now, fake_sleep, &clk};
    struct journal_retry r[JOURNAL_RETRY_KIND_COUNT];
    struct journal_options o = {.clock = &jc, .retry = r};
    struct ocfl_err err = {0};
    struct fixture f;

    policies(r, JOURNAL_RETRY_SWITCH, 3, 1.0, 30000, 3);
    if (fixture_make(&f, "root-kind", &o) < 0) {
        CHECK(0);
        fixture_free(&f);
        return;
    }
    fail_eio(&f, &clk, ocfl_plan_find_step(f.plan, OCFL_STEP_ROOT_INV), 2);
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    CHECK_INT(clk.n, 2);
    CHECK_INT(clk.slept[0], 3000000);
    CHECK_INT(clk.slept[1], 3000000);
    check_v2(&f);
    fixture_free(&f);

    /* a content step under the same settings keeps the default policy (100 ms first) */
    if (fixture_make(&f, "root-kind2", &o) < 0) {
        CHECK(0);
        fixture_free(&f);
        return;
    }
    fail_eio(&f, &clk, 1, 1);
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    CHECK_INT(clk.n, 1);
    CHECK_INT(clk.slept[0], 100000000);
    fixture_free(&f);
}

/* An errno the policy names non-retryable is not retried: the plan is reverted at once. */
static void test_policy_non_retryable(void)
{
    struct fake_clock clk = {.now = 1000};
    struct journal_clock jc = {fake_now, fake_sleep, &clk};
    struct journal_retry r[JOURNAL_RETRY_KIND_COUNT];
    struct journal_options o = {.clock = &jc, .retry = r};
    struct ocfl_err err = {0};
    struct journal_plan_info info;
    struct fixture f;
    char head[64];

    policies(r, JOURNAL_RETRY_CONTENT, 100, 2.0, 30000, 5);
    r[JOURNAL_RETRY_CONTENT].n_non_retryable = 1;
    r[JOURNAL_RETRY_CONTENT].non_retryable[0] = -EIO;
    if (fixture_make(&f, "root-nonretry", &o) < 0) {
        CHECK(0);
        fixture_free(&f);
        return;
    }
    fail_eio(&f, &clk, 1, 1);
    CHECK_INT(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err), -EIO);
    CHECK_INT(clk.n, 0);
    CHECK_OK(journal_plan_get(f.j, f.id, &info, NULL, NULL, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_REVERTED);
    journal_plan_info_release(&info);
    CHECK_STR(head_of(&f, head, sizeof(head)), "v1");
    fixture_free(&f);
}

/* A fake clock whose sleeps, after 50 of them, stop the fixture's injected fault: a plan that
 * would retry a conflict for ever ends (and its test fails) instead of hanging. */
struct bounded_clock {
    struct fake_clock clk;
    struct fixture *f;
    unsigned sleeps;
};

static void bounded_sleep(void *ctx, uint64_t ns)
{
    struct bounded_clock *b = ctx;

    fake_sleep(&b->clk, ns);
    if (++b->sleeps >= 50)
        b->f->j->fail_step = -1;
}

static uint64_t bounded_now(void *ctx)
{
    return ((struct bounded_clock *)ctx)->clk.now;
}

/* A conflict is never retried, not even under a list without ESTALE: the plan is reverted. */
static void test_policy_conflict_not_retried(void)
{
    struct fixture f;
    struct bounded_clock bc = {.clk = {.now = 1000}, .f = &f};
    struct journal_clock jc = {bounded_now, bounded_sleep, &bc};
    struct journal_retry r[JOURNAL_RETRY_KIND_COUNT];
    struct journal_options o = {.clock = &jc, .retry = r};
    struct ocfl_err err = {0};
    struct journal_plan_info info;
    char head[64];

    policies(r, JOURNAL_RETRY_SWITCH, 1, 1.0, 30000, 5);
    r[JOURNAL_RETRY_SWITCH].n_non_retryable = 1;
    r[JOURNAL_RETRY_SWITCH].non_retryable[0] = -EIO;
    CHECK(!journal_retry_allowed(&r[JOURNAL_RETRY_SWITCH], JOURNAL_CONFLICT));
    CHECK(!journal_retry_allowed(&r[JOURNAL_RETRY_SWITCH], -ECANCELED));
    if (fixture_make(&f, "root-conflict", &o) < 0) {
        CHECK(0);
        fixture_free(&f);
        return;
    }
    f.j->fail_step = (long)ocfl_plan_find_step(f.plan, OCFL_STEP_ROOT_INV);
    f.j->fail_times = 1000;
    f.j->fail_code = JOURNAL_CONFLICT;
    bc.clk.n = 0;
    CHECK_INT(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err), JOURNAL_CONFLICT);
    CHECK_INT(bc.sleeps, 0);
    CHECK_OK(journal_plan_get(f.j, f.id, &info, NULL, NULL, &err));
    CHECK_INT(info.state, JOURNAL_PLAN_REVERTED);
    journal_plan_info_release(&info);
    CHECK_STR(head_of(&f, head, sizeof(head)), "v1");
    fixture_free(&f);
}

/*
 * A journal of schema 8 (plans without a policy) opens, is migrated, and its unfinished plan
 * runs under the policy of the process that resumes it.
 */
static void test_policy_old_journal(void)
{
    struct fake_clock clk = {.now = 1000};
    struct journal_clock jc = {fake_now, fake_sleep, &clk};
    struct journal_retry r[JOURNAL_RETRY_KIND_COUNT];
    struct journal_options o = {.clock = &jc}, o2 = {.clock = &jc, .retry = r};
    struct ocfl_err err = {0};
    struct journal_plan_info info;
    struct fixture f;

    if (fixture_make(&f, "root-v8", &o) < 0) {
        CHECK(0);
        fixture_free(&f);
        return;
    }
    /* what an ocflfs of schema 8 left: no retry_policy column */
    CHECK_INT(sqlite3_exec(journal_sqlite(f.j),
                           "ALTER TABLE plans DROP COLUMN retry_policy; PRAGMA user_version = 8",
                           NULL, NULL, NULL),
              SQLITE_OK);
    policies(r, JOURNAL_RETRY_CONTENT, 5, 2.0, 30000, 2);
    if (reopen(&f, "root-v8", &o2) < 0) {
        CHECK(0);
        fixture_free(&f);
        return;
    }
    CHECK_INT(pragma(journal_sqlite(f.j), "PRAGMA user_version"), JOURNAL_SCHEMA_VERSION);
    CHECK_OK(journal_plan_get(f.j, f.id, &info, NULL, NULL, &err));
    CHECK(!info.retry_recorded);
    CHECK_INT(info.retry[JOURNAL_RETRY_CONTENT].initial_ms, 5);
    journal_plan_info_release(&info);
    fail_eio(&f, &clk, 1, 1);
    CHECK_OK(journal_plan_run(f.j, f.root, f.id, NULL, NULL, &err));
    CHECK_INT(clk.n, 1);
    CHECK_INT(clk.slept[0], 5000000);
    check_v2(&f);
    fixture_free(&f);
}

int main(void)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char cmd[600];

    snprintf(tmp, sizeof(tmp), "%s/test_journal.XXXXXX", base);
    if (!mkdtemp(tmp)) {
        perror("mkdtemp");
        return 1;
    }
    test_migrations();
    test_backoff();
    test_retry_then_success();
    test_persistent_failure();
    test_idempotence();
    test_policy_json();
    test_policy_kept_on_resume();
    test_policy_per_kind();
    test_policy_non_retryable();
    test_policy_conflict_not_retried();
    test_policy_old_journal();
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    if (system(cmd) != 0)
        printf("# cannot remove %s\n", tmp);
    return check_done();
}
