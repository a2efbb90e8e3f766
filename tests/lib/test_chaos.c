/* test_chaos.c: fail the Nth allocation of every library operation, for every N; no crash, no leak.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "digest.h"
#include "failmalloc.h"
#include "inventory.h"
#include "io.h"
#include "layout.h"
#include "object.h"
#include "plan.h"
#include "report.h"
#include "root.h"
#include "settings.h"
#include "validate.h"

/*
 * Each operation runs once without failures (the baseline: its result and
 * a fingerprint of what it produced), then once for every N with
 * allocation N failing.  A run under failure must return -ENOMEM, or give
 * exactly the baseline's answer (a failure the code may absorb, such as an
 * index it can do without); it must free everything it allocated and close
 * every descriptor it opened.  A second pass makes every allocation from N
 * on fail ("sticky"), which walks the error paths of error paths.
 */

#define FP_SIZE 4096

struct op {
    const char *name;
    /* Run the operation; return its result and write its fingerprint. */
    int (*run)(void *ctx, char *fp);
    void *ctx;
    /* Whether (r, fp) is acceptable for a run where an allocation failed. */
    int (*accept)(int r, const char *fp, int r0, const char *fp0);
};

static char fixtures[1024], tmp[64];
static int slow; /* under valgrind: fewer N for the big operations */

static void fp_add(char *fp, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fp_add(char *fp, const char *fmt, ...)
{
    size_t len = strlen(fp);
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(fp + len, FP_SIZE - len, fmt, ap);
    va_end(ap);
}

/* FNV-1a: a fingerprint of bytes without allocating. */
static uint64_t fnv(const void *buf, size_t len)
{
    const unsigned char *p = buf;
    uint64_t h = 1469598103934665603ull;

    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

static int accept_enomem(int r, const char *fp, int r0, const char *fp0)
{
    return r == -ENOMEM || (r == r0 && !strcmp(fp, fp0));
}

/* Reports: counts before '|', codes after.  Under failure a report may
 * have lost findings (oom=1) but never its counts: a finding that could
 * not be recorded is counted, and counted again when added again (there
 * is no record to see the duplicate in), so counts may only grow. */
static void fp_report(char *fp, const struct ocfl_report *rep)
{
    fp_add(fp, "%zu %zu|", rep->n_errors, rep->n_warnings);
    for (size_t i = 0; i < rep->n; i++)
        fp_add(fp, "%s:%s ", rep->items[i].code, rep->items[i].path);
    if (rep->oom)
        fp_add(fp, "oom");
}

static int accept_report(int r, const char *fp, int r0, const char *fp0)
{
    unsigned long e, w, e0, w0;

    if (accept_enomem(r, fp, r0, fp0))
        return 1;
    if (r != r0 || !strstr(fp, "oom") || sscanf(fp, "%lu %lu", &e, &w) != 2 ||
        sscanf(fp0, "%lu %lu", &e0, &w0) != 2)
        return 0;
    return e >= e0 && w >= w0;
}

static unsigned long n_runs;

static void torture(const struct op *op, unsigned long cap)
{
    char fp0[FP_SIZE] = "", fp[FP_SIZE];
    size_t live0 = failmalloc_live();
    int fds0 = failmalloc_open_fds(), r0, bad = 0;
    unsigned long total, step = 1, first_bad = 0, tried = 0, absorbed = 0;

    failmalloc_arm(0, 0);
    r0 = op->run(op->ctx, fp0);
    total = failmalloc_disarm();
    CHECK_AT_(failmalloc_live() == live0 && failmalloc_open_fds() == fds0, op->name,
              "baseline leaks %zu blocks, %d fds", failmalloc_live() - live0,
              failmalloc_open_fds() - fds0);
    if (cap && total > cap)
        step = total / cap + 1;
    for (int sticky = 0; sticky <= 1; sticky++) {
        for (unsigned long n = 1; n <= total + 1;
             n += (n < total && n + step > total) ? total - n : step) {
            int r, ok;

            fp[0] = '\0';
            failmalloc_arm(n, sticky);
            r = op->run(op->ctx, fp);
            failmalloc_disarm();
            tried++;
            n_runs++;
            if (failmalloc_failed() == 0) /* past the last allocation */
                ok = r == r0 && !strcmp(fp, fp0);
            else {
                ok = op->accept(r, fp, r0, fp0);
                absorbed += r >= 0 && ok;
            }
            if (!ok && bad < 3)
                printf("# %s: allocation %lu%s failing: returned %d (%s), want -ENOMEM%s\n"
                       "#   got  %.300s\n#   want %.300s\n",
                       op->name, n, sticky ? " and later" : "", r, r < 0 ? strerror(-r) : "ok",
                       r0 < 0 ? " or the baseline" : " or the baseline result", fp, fp0);
            if (failmalloc_live() != live0) {
                printf("# %s: allocation %lu%s failing: %zu blocks leaked\n", op->name, n,
                       sticky ? " and later" : "", failmalloc_live() - live0);
                ok = 0;
                live0 = failmalloc_live(); /* report each leak once */
            }
            if (failmalloc_open_fds() != fds0) {
                printf("# %s: allocation %lu%s failing: %d fds leaked\n", op->name, n,
                       sticky ? " and later" : "", failmalloc_open_fds() - fds0);
                ok = 0;
                fds0 = failmalloc_open_fds();
            }
            if (!ok && !bad++)
                first_bad = n;
        }
    }
    printf("# %s: %lu allocations, %lu runs, %lu failures absorbed with the right result\n",
           op->name, total, tried, absorbed);
    CHECK_AT_(r0 >= 0 || op->accept == accept_report, op->name, "baseline returned %d", r0);
    CHECK_AT_(bad == 0, op->name, "%d bad runs, the first with allocation %lu failing", bad,
              first_bad);
}

/* ---- inventories ---- */

struct buf {
    char *data;
    size_t len;
};

static void read_fixture(const char *rel, struct buf *b)
{
    char path[PATH_MAX];
    int dfd;

    snprintf(path, sizeof(path), "%s/%s", fixtures, rel);
    dfd = open(path, O_RDONLY | O_DIRECTORY);
    b->data = NULL;
    if (dfd < 0 || ocfl_io_read_file(dfd, "inventory.json", 1 << 24, &b->data, &b->len, NULL) < 0) {
        printf("# cannot read %s/inventory.json\n", path);
        exit(2);
    }
    close(dfd);
}

static int run_parse_serialize(void *ctx, char *fp)
{
    const struct buf *b = ctx;
    struct ocfl_inventory *inv = NULL, *dup;
    char *out = NULL;
    size_t len = 0;
    int r;

    r = ocfl_inventory_parse(b->data, b->len, &inv, NULL);
    if (r < 0)
        return r;
    dup = ocfl_inventory_dup(inv);
    if (!dup) {
        ocfl_inventory_free(inv);
        return -ENOMEM;
    }
    r = ocfl_inventory_serialize(dup, &out, &len, NULL);
    if (r == 0)
        fp_add(fp, "%zu %016llx %s", len, (unsigned long long)fnv(out, len),
               ocfl_inventory_content_digest(dup, "v1/content/foo/bar.xml"));
    free(out);
    ocfl_inventory_free(dup);
    ocfl_inventory_free(inv);
    return r;
}

static int run_check(void *ctx, char *fp)
{
    const struct buf *b = ctx;
    struct ocfl_report rep;
    struct ocfl_inventory *partial = NULL;
    int r;

    ocfl_report_init(&rep);
    r = ocfl_inventory_check(b->data, b->len, "inventory.json", OCFL_SPEC_UNKNOWN, &rep, &partial);
    fp_report(fp, &rep);
    if (partial)
        fp_add(fp, " partial:%zu", partial->n_versions);
    ocfl_inventory_free(partial);
    ocfl_report_release(&rep);
    return r;
}

/* ---- layouts ---- */

struct layout_ctx {
    const char *name, *config;
};

static int run_layout(void *ctx, char *fp)
{
    const struct layout_ctx *c = ctx;
    static const char *const ids[] = {"ark:/12345/bcd987", "urn:ocfl:obj:abc-123", "info:x:ÅÄ"};
    struct ocfl_layout *l = NULL;
    char *config = NULL;
    int r;

    r = ocfl_layout_new(c->name, c->config, &l, NULL);
    if (r < 0)
        return r;
    for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
        char *path = NULL;
        int m = ocfl_layout_map(l, ids[i], &path, NULL);
        if (m == -ENOMEM) {
            r = m;
            goto out;
        }
        fp_add(fp, "%d:%s ", m, path ? path : "-");
        free(path);
    }
    r = ocfl_layout_config_json(l, &config, NULL);
    if (r == 0)
        fp_add(fp, "config %016llx", (unsigned long long)fnv(config, strlen(config)));
out:
    free(config);
    ocfl_layout_free(l);
    return r;
}

/* ---- storage roots and objects ---- */

/* Settings: text read, values read back, one key set in a file (the same value each run). */
static int run_settings(void *ctx, char *fp)
{
    static const char text[] = "[retry.content]\ninitial_interval = 2s\n"
                               "non_retryable = EIO ENOSPC\n[user]\nname = \"A B\"\n"
                               "[threads]\nhashing = 3\n";
    struct ocfl_settings *s = NULL;
    char path[128];
    int codes[8], r;

    (void)ctx;
    r = ocfl_settings_new(&s);
    if (r >= 0)
        r = ocfl_settings_load_text(s, text, "chaos.conf", OCFL_SETTINGS_USER, NULL);
    if (r >= 0) {
        fp_add(fp, "%llu %u %s %d",
               (unsigned long long)ocfl_settings_ms(s, "retry.content.initial_interval"),
               ocfl_settings_count(s, "threads.hashing"),
               ocfl_settings_get(s, "user.name", NULL, NULL),
               ocfl_settings_errnos(s, "retry.content.non_retryable", codes, 8));
        snprintf(path, sizeof(path), "%s/settings/chaos.conf", tmp);
        r = ocfl_settings_write(path, "threads.content", "2", OCFL_SETTINGS_USER, NULL);
    }
    ocfl_settings_free(s);
    return r;
}

static int run_root(void *ctx, char *fp)
{
    const char *path = ctx;
    struct ocfl_root *root = NULL;
    char *where = NULL, *found = NULL;
    int r;

    r = ocfl_root_open(path, &root, NULL);
    if (r < 0)
        return r;
    fp_add(fp, "%s %s ", root->layout_name ? root->layout_name : "-", root->digest_algorithm);
    r = ocfl_root_object_path(root, "ark:/12345/bcd987", &where, NULL);
    if (r == 0)
        r = ocfl_root_find_object(root, "ark:/12345/bcd987", &found, NULL);
    if (r == 0)
        fp_add(fp, "%s %s", where, found);
    free(where);
    free(found);
    ocfl_root_close(root);
    return r;
}

static int walk_count(void *ctx, const char *object_path)
{
    (void)object_path;
    ++*(int *)ctx;
    return 0;
}

static int run_root_walk(void *ctx, char *fp)
{
    const char *path = ctx;
    struct ocfl_root *root = NULL;
    int r, n = 0;

    r = ocfl_root_open(path, &root, NULL);
    if (r < 0)
        return r;
    r = ocfl_root_walk(root, walk_count, &n, NULL);
    fp_add(fp, "%d objects", n);
    ocfl_root_close(root);
    return r;
}

static int run_object(void *ctx, char *fp)
{
    const char *name = ctx;
    struct ocfl_object *obj = NULL;
    const char *digest = NULL, *content = NULL;
    int dfd = open(fixtures, O_RDONLY | O_DIRECTORY | O_CLOEXEC), r;

    if (dfd < 0)
        return -errno;
    r = ocfl_object_open(dfd, name, &obj, NULL);
    close(dfd);
    if (r < 0)
        return r;
    r = ocfl_object_resolve(obj, 0, "foo/bar.xml", &digest, &content, NULL);
    fp_add(fp, "%s %zu %s", obj->inventory_digest, obj->inv->n_versions, r == 0 ? content : "-");
    ocfl_object_close(obj);
    return r;
}

/* ---- update plans ---- */

static int run_plan(void *ctx, char *fp)
{
    const struct ocfl_inventory *base = ctx;
    const struct ocfl_version *head = base ? ocfl_inventory_head(base) : NULL;
    struct ocfl_plan_file files[8];
    struct ocfl_plan_input in = {.base = base,
                                 .base_digest = base ? "feed" : NULL,
                                 .id = "urn:x:new",
                                 .created = "2024-05-06T07:08:09Z",
                                 .message = "chaos",
                                 .user_name = "C",
                                 .user_address = "mailto:c@x",
                                 .release_dir = "stage"};
    static char d1[129], d2[129];
    struct ocfl_plan *plan = NULL;
    size_t n = 0;
    int r;

    memset(d1, 'a', 128);
    memset(d2, 'b', 128);
    for (size_t i = 0; head && i < head->n_state && n < 4; i++)
        files[n++] =
            (struct ocfl_plan_file){head->state[i].logical_path, head->state[i].digest, NULL, 0};
    files[n++] = (struct ocfl_plan_file){"new/one.txt", d1, "stage/1", 11};
    files[n++] = (struct ocfl_plan_file){"new/two.txt", d2, "stage/2", 22};
    files[n++] = (struct ocfl_plan_file){"again.txt", d1, "stage/3", 11};
    in.files = files;
    in.n_files = n;
    r = ocfl_plan_build(&in, &plan, NULL);
    if (r < 0)
        return r;
    fp_add(fp, "%s %zu %016llx %zu steps:", plan->version_name, plan->inventory_len,
           (unsigned long long)fnv(plan->inventory, plan->inventory_len), plan->n_steps);
    for (size_t i = 0; i < plan->n_steps; i++)
        fp_add(fp, " %d:%s", plan->steps[i].kind, plan->steps[i].dest ? plan->steps[i].dest : "-");
    ocfl_plan_free(plan);
    return r;
}

/* ---- the validator ---- */

struct validate_ctx {
    const char *path;
    int digests;
};

static int run_validate(void *ctx, char *fp)
{
    const struct validate_ctx *c = ctx;
    struct ocfl_validate_opts opts;
    struct ocfl_report rep;
    int r;

    ocfl_validate_opts_init(&opts);
    opts.check_digests = c->digests;
    opts.threads = 1;
    ocfl_report_init(&rep);
    r = ocfl_validate_object(AT_FDCWD, c->path, &opts, &rep, NULL);
    fp_report(fp, &rep);
    ocfl_report_release(&rep);
    return r;
}

/* ---- reports ---- */

static int run_report(void *ctx, char *fp)
{
    struct ocfl_report rep;

    (void)ctx;
    ocfl_report_init(&rep);
    for (int i = 0; i < 40; i++) {
        char code[8], path[32];
        snprintf(code, sizeof(code), "%c%03d", i % 3 ? 'E' : 'W', 1 + i % 20);
        snprintf(path, sizeof(path), "v%d/inventory.json", i % 2);
        ocfl_report_add(&rep, code, path, "finding %d about '%s'", i, path);
    }
    ocfl_report_add(&rep, "E040", "", "head is wrong");
    fp_report(fp, &rep);
    ocfl_report_release(&rep);
    return 0;
}

/* The harness itself: a failed allocation, a leaked block and a leaked fd are seen. */
static void test_harness(void)
{
    size_t live = failmalloc_live();
    int fds = failmalloc_open_fds();
    char *p, *q;

    failmalloc_arm(2, 0);
    p = malloc(16);
    q = strdup("x");
    CHECK(p != NULL && q == NULL);
    CHECK_INT(failmalloc_failed(), 1);
    CHECK_INT(failmalloc_disarm(), 2);
    CHECK_INT(failmalloc_live(), live + 1);
    free(p);
    CHECK_INT(failmalloc_live(), live);
    p = realloc(NULL, 8);
    p = realloc(p, 4096);
    CHECK_INT(failmalloc_live(), live + 1);
    free(p);
    CHECK_INT(failmalloc_live(), live);
    int fd = dup(1);
    CHECK_INT(failmalloc_open_fds(), fds + 1);
    close(fd);
    CHECK_INT(failmalloc_open_fds(), fds);
}

/* Make the digests OpenSSL will need, so its one-time set-up (which, once
 * failed, stays failed) is done before anything is made to fail. */
static void warm_up(void)
{
    unsigned algs = 0;
    struct ocfl_hasher *h = NULL;
    char hex[OCFL_DIGEST_HEX_MAX];

    for (int a = OCFL_DIGEST_MD5; a < OCFL_DIGEST_COUNT_; a++)
        algs |= 1u << a;
    if (ocfl_hasher_new(algs, &h, NULL) < 0) {
        printf("# cannot make a hasher\n");
        exit(2);
    }
    ocfl_hasher_update(h, "x", 1);
    ocfl_hasher_final(h, OCFL_DIGEST_SHA512, hex);
    ocfl_hasher_free(h);
}

int main(void)
{
    const char *shared = getenv("OCFL_SHARED"), *cap_env = getenv("OCFL_CHAOS_CAP");
    unsigned long cap = slow ? 150 : 0;
    struct buf full, bad;
    struct ocfl_inventory *base = NULL;
    char rootdir[256], objpath[PATH_MAX], goodpath[PATH_MAX], badpath[PATH_MAX];
    static const struct layout_ctx layouts[] = {
        {"0002-flat-direct-storage-layout", NULL},
        {"0003-hash-and-id-n-tuple-storage-layout", NULL},
        {"0003-hash-and-id-n-tuple-storage-layout",
         "{\"extensionName\": \"0003-hash-and-id-n-tuple-storage-layout\", "
         "\"digestAlgorithm\": \"md5\", \"tupleSize\": 2, \"numberOfTuples\": 15}"},
        {"0004-hashed-n-tuple-storage-layout", NULL},
        {"0004-hashed-n-tuple-storage-layout",
         "{\"extensionName\": \"0004-hashed-n-tuple-storage-layout\", \"digestAlgorithm\": "
         "\"md5\", \"tupleSize\": 2, \"numberOfTuples\": 15, \"shortObjectRoot\": true}"},
        {"0006-flat-omit-prefix-storage-layout",
         "{\"extensionName\": \"0006-flat-omit-prefix-storage-layout\", \"delimiter\": \":\"}"},
        {"0007-n-tuple-omit-prefix-storage-layout", NULL},
        {"0007-n-tuple-omit-prefix-storage-layout",
         "{\"extensionName\": \"0007-n-tuple-omit-prefix-storage-layout\", \"delimiter\": \":\", "
         "\"tupleSize\": 4, \"numberOfTuples\": 2, \"zeroPadding\": \"right\", "
         "\"reverseObjectRoot\": true}"},
    };
    struct validate_ctx v_nodig, v_dig, v_bad;

    if (failmalloc_init() < 0)
        printf("# OpenSSL allocated before failmalloc_init: its allocations are not failed\n");
    if (!shared) {
        printf("# OCFL_SHARED is not set\n");
        return 2;
    }
    /* valgrind makes every run ~20 times slower: sample the big operations */
    if (getenv("OCFL_CHAOS_SLOW") ||
        (getenv("LD_PRELOAD") && strstr(getenv("LD_PRELOAD"), "vgpreload")))
        slow = 1;
    cap = slow ? 150 : 0;
    if (cap_env)
        cap = strtoul(cap_env, NULL, 10);
    snprintf(fixtures, sizeof(fixtures), "%s/ocfl/fixtures/1.1/good-objects", shared);
    warm_up();
    setvbuf(stdout, NULL, _IOLBF, 0);
    test_harness();

    read_fixture("spec-ex-full", &full);
    read_fixture("../bad-objects/E049_E050_E054_bad_version_block_values", &bad);
    CHECK_OK(ocfl_inventory_parse(full.data, full.len, &base, NULL));

    strcpy(tmp, "/tmp/ocfl-chaos-XXXXXX");
    if (!mkdtemp(tmp))
        return 2;
    snprintf(rootdir, sizeof(rootdir), "%s/root", tmp);
    CHECK_OK(ocfl_root_create(rootdir, NULL, NULL, NULL, NULL));
    {
        struct ocfl_root *root = NULL;
        char *where = NULL;
        CHECK_OK(ocfl_root_open(rootdir, &root, NULL));
        CHECK_OK(ocfl_root_object_path(root, "ark:/12345/bcd987", &where, NULL));
        snprintf(objpath, sizeof(objpath), "%s/%s", rootdir, where ? where : "x");
        sh("mkdir -p '%s' && rmdir '%s' && cp -r '%s/spec-ex-full' '%s' && "
           "cp -r '%s/minimal_one_version_one_file' '%s/oddly-placed'",
           objpath, objpath, fixtures, objpath, fixtures, rootdir);
        free(where);
        ocfl_root_close(root);
    }
    snprintf(goodpath, sizeof(goodpath), "%s/spec-ex-full", fixtures);
    v_nodig = (struct validate_ctx){goodpath, 0};
    v_dig = (struct validate_ctx){goodpath, 1};
    snprintf(badpath, sizeof(badpath), "%s/../bad-objects/E092_content_file_digest_mismatch",
             fixtures);
    v_bad = (struct validate_ctx){badpath, 1};

    const struct op ops[] = {
        {"report_add", run_report, NULL, accept_report},
        {"settings load+get+write", run_settings, NULL, accept_enomem},
        {"inventory_parse+dup+serialize spec-ex-full", run_parse_serialize, &full, accept_enomem},
        {"inventory_check E049_E050_E054", run_check, &bad, accept_report},
        {"root_open+object_path+find_object", run_root, rootdir, accept_enomem},
        {"root_open+walk", run_root_walk, rootdir, accept_enomem},
        {"object_open spec-ex-full", run_object, "spec-ex-full", accept_enomem},
        {"plan_build new object", run_plan, NULL, accept_enomem},
        {"plan_build v4 of spec-ex-full", run_plan, base, accept_enomem},
        {"validate_object spec-ex-full no digests", run_validate, &v_nodig, accept_report},
        {"validate_object spec-ex-full digests", run_validate, &v_dig, accept_report},
        {"validate_object E092 digests", run_validate, &v_bad, accept_report},
    };
    for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
        char name[128];
        struct op op = {name, run_layout, (void *)&layouts[i], accept_enomem};
        snprintf(name, sizeof(name), "layout %.4s%s", layouts[i].name,
                 layouts[i].config ? " (config)" : "");
        torture(&op, 0);
    }
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
        torture(&ops[i], ops[i].run == run_report ? 0 : cap);
    printf("# %lu runs in all\n", n_runs);

    ocfl_inventory_free(base);
    free(full.data);
    free(bad.data);
    sh("rm -rf '%s'", tmp);
    return check_done();
}
