/* cmd_put.c: `ocflfs put`: parse the arguments, stage DIR, plan, journal, run, report. */
/*
 * DIR's tree becomes the object's next version: files not in DIR leave the
 * state.  Every file is read once: hashed and, unless its content is already
 * in the object, copied into STATE/scratch/put-PID-NS/ in the same pass (by
 * one worker per core; see put_stage.c).  Then the plan is built, journaled
 * and run; staged files are moved into the version by rename.
 *
 * Files unchanged since the last put of the same object (same inode, size,
 * mtime and ctime; see put_cache.h) are not read again unless --rehash is
 * given.  DIR is walked on a second thread while the object's inventory is
 * read and checked.
 *
 * When DIR equals the head state there is nothing to commit: no version is
 * written, "nothing to commit" is printed and the exit status is 0 (a script
 * that puts the same tree twice has not failed; `ocflfs log` shows nothing new).
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_settings.h"
#include "cli_util.h"
#include "cluster_hooks.h"
#include "identity.h"
#include "commands.h"
#include "digest.h"
#include "io.h"
#include "journal.h"
#include "object.h"
#include "plan.h"
#include "put_stage.h"
#include "staging.h"
#include "root.h"

static const char synopsis[] = "put ROOT ID [DIR] -m MSG [--merge] [--remove PATH]... [--user NAME "
                               "[--address URI]] [--state DIR] "
                               "[--rehash] [--cluster URL [--host NAME]]";

static void on_read(void *ctx, uint64_t done)
{
    cli_progress_update(ctx, "put: reading", done, 0);
}

static void on_progress(void *ctx, int64_t id, uint64_t done, uint64_t total)
{
    (void)id;
    cli_progress_update(ctx, "put: writing", done, total);
}

struct put_args {
    const char *root, *id, *dir, *message, *user, *address, *state;
    const char *cluster, *host; /* --cluster URL, --host NAME */
    int rehash;
    int merge;            /* --merge: DIR's files added or replaced, the rest of the head kept */
    const char **removes; /* --remove PATH (a file or a directory), any number: implies merge */
    size_t n_removes;
    const struct ocfl_settings *settings; /* the configuration files' */
};

static int parse(int argc, char **argv, struct put_args *a)
{
    static const struct option longopts[] = {
        {"message", required_argument, NULL, 'm'},
        {"user", required_argument, NULL, 'u'},
        {"address", required_argument, NULL, 'a'},
        {"state", required_argument, NULL, 's'},
        {"rehash", no_argument, NULL, 'r'},
        {"merge", no_argument, NULL, 'M'},
        {"remove", required_argument, NULL, 'R'},
        {"cluster", required_argument, NULL, 'C'},
        {"host", required_argument, NULL, 'H'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "m:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'm':
            a->message = optarg;
            break;
        case 'u':
            a->user = optarg;
            break;
        case 'a':
            a->address = optarg;
            break;
        case 's':
            a->state = optarg;
            break;
        case 'r':
            a->rehash = 1;
            break;
        case 'M':
            a->merge = 1;
            break;
        case 'R': {
            const char **v = realloc(a->removes, (a->n_removes + 1) * sizeof(*v));
            if (!v)
                return cli_usage(synopsis, "put: out of memory");
            a->removes = v;
            a->removes[a->n_removes++] = optarg;
            a->merge = 1;
            break;
        }
        case 'C':
            a->cluster = optarg;
            break;
        case 'H':
            a->host = optarg;
            break;
        case 'h':
            printf("usage: ocflfs %s\n", synopsis);
            return -1;
        default:
            return cli_usage(synopsis, "put: bad option");
        }
    }
    /* with --remove alone, DIR may be left out: nothing is added */
    if (argc - optind != 3 && !(argc - optind == 2 && a->n_removes))
        return cli_usage(synopsis, "put: expected ROOT ID DIR");
    if (!a->message)
        return cli_usage(synopsis, "put: a message is required (-m MSG)");
    if (a->address && !a->user)
        return cli_usage(synopsis, "put: --address needs --user");
    if (a->host && !a->cluster)
        return cli_usage(synopsis, "put: --host needs --cluster");
    a->root = argv[optind];
    a->id = argv[optind + 1];
    a->dir = argc - optind == 3 ? argv[optind + 2] : NULL;
    return 0;
}

/* Open the journal of ROOT (the state dir given, or ROOT/extensions/ocflfs). */
static int put_open_journal(const char *root, const char *state, unsigned flags,
                            const struct ocfl_settings *s, struct journal **ret,
                            struct ocfl_err *err)
{
    /* one writer (in cluster mode: one per object, by its lease) */
    struct journal_options o = {.flags = flags, .root = root, .holder = "put"};
    struct journal_retry retry[JOURNAL_RETRY_KIND_COUNT];
    char *dflt = NULL;
    int r;

    cli_settings_journal(s, retry, &o);
    if (!state) {
        if (asprintf(&dflt, "%s/extensions/ocflfs", root) < 0)
            return ocfl_err_set(err, -ENOMEM, "out of memory");
        state = dflt;
    }
    r = journal_open(state, &o, ret, err);
    free(dflt);
    return r;
}

static int refuse_unfinished(struct journal *j, const char *id, struct ocfl_err *err)
{
    struct journal_plan_info *v;
    size_t n;
    int r = journal_plans_list(j, 0, &v, &n, err);

    for (size_t i = 0; r == 0 && i < n; i++)
        if (!strcmp(v[i].object_id, id))
            r = ocfl_err_set(err, -EBUSY,
                             "object '%s' has an unfinished plan %lld; run 'ocflfs resume' or "
                             "'ocflfs cancel' first",
                             id, (long long)v[i].id);
    if (r >= 0)
        journal_plan_infos_free(v, n);
    return r;
}

/* A put over changes staged in a mount would leave them staged on a stale head: refuse. */
static int refuse_staged(struct journal *j, const char *id, struct ocfl_err *err)
{
    struct staging_object_info *v;
    size_t n;
    int r = staging_objects(j, &v, &n, err);

    for (size_t i = 0; r == 0 && i < n; i++)
        if (!strcmp(v[i].object_id, id))
            r = ocfl_err_set(err, -EBUSY,
                             "object '%s' has changes staged through a mount (%zu paths); commit "
                             "or discard them there first",
                             id, v[i].n_rows);
    if (r >= 0)
        staging_object_infos_free(v, n);
    return r;
}

/* The object where the layout puts @id, opened, when it is @id's: 1, or 0
 * (anything else: then the caller searches the slow way, which also reports
 * damage).  Saves reading the inventory twice (to find, then to open). */
static int open_by_layout(struct ocfl_root *root, const char *id, char **ret_path,
                          struct ocfl_object **ret_obj)
{
    char *mapped = NULL;

    if (!root->layout || ocfl_layout_map(root->layout, id, &mapped, NULL) < 0)
        return 0;
    if (ocfl_object_open(root->fd, mapped, ret_obj, NULL) >= 0) {
        if (!strcmp((*ret_obj)->inv->id, id)) {
            *ret_path = mapped;
            return 1;
        }
        ocfl_object_close(*ret_obj);
        *ret_obj = NULL;
    }
    free(mapped);
    return 0;
}

/* The digests of DIR's files, saved for the next put on a thread while the version is
 * planned and written (they hold whether or not it is).  A cache that cannot be saved costs
 * only the next put's time. */
static void *save_cache(void *arg)
{
    struct ocfl_err e = {0};

    if (put_stage_save_cache(arg, &e) < 0)
        fprintf(stderr, "ocflfs: warning: %s (the next put reads every file)\n", e.msg);
    return NULL;
}

/* The walk of DIR, on its own thread. */
struct scan {
    struct put_stage *p;
    struct ocfl_err err;
    int r;
};

static void *scan_main(void *arg)
{
    struct scan *sc = arg;

    sc->r = put_stage_scan(sc->p, &sc->err);
    return NULL;
}

/* Open the object @a->id of @root (NULL in *ret_obj for a new one, with its path to be) and
 * check its content is all there. */
static int open_object(struct ocfl_root *root, const char *id, char **ret_path,
                       struct ocfl_object **ret_obj, struct ocfl_err *err)
{
    int r = open_by_layout(root, id, ret_path, ret_obj);

    if (r == 0)
        r = ocfl_root_find_object(root, id, ret_path, err);
    if (r == -ENOENT) {
        ocfl_err_clear(err);
        return ocfl_root_object_path(root, id, ret_path, err);
    }
    if (r == 0)
        r = ocfl_object_open(root->fd, *ret_path, ret_obj, err);
    if (r >= 0) /* no new version over missing or symlinked content */
        r = ocfl_object_check_content(*ret_obj, err);
    return r;
}

/* Whether logical path @lp is one --remove names, or below one. */
static int removed(const struct put_args *a, const char *lp)
{
    for (size_t k = 0; k < a->n_removes; k++) {
        size_t n = strlen(a->removes[k]);
        if (!strncmp(lp, a->removes[k], n) && (lp[n] == '\0' || lp[n] == '/'))
            return 1;
    }
    return 0;
}

/* Whether @path is a file of @head, or a directory of it (a prefix of one). */
static int was_there(const struct ocfl_version *head, const char *path)
{
    size_t n = strlen(path);

    for (size_t i = 0; head && i < head->n_state; i++) {
        const char *lp = head->state[i].logical_path;
        if (!strncmp(lp, path, n) && (lp[n] == '\0' || lp[n] == '/'))
            return 1;
    }
    return 0;
}

static int cmp_lp(const void *key, const void *e)
{
    return strcmp((const char *)key, ((const struct put_entry *)e)->logical_path);
}

/* Whether DIR has a file at logical path @lp (p->e is sorted by path). */
static int in_dir(const struct put_stage *p, const char *lp)
{
    return p->n && bsearch(lp, p->e, p->n, sizeof(*p->e), cmp_lp) != NULL;
}

static int do_put(struct put_args *a, struct ocfl_err *err)
{
    struct ocfl_root *root = NULL;
    struct ocfl_object *obj = NULL;
    struct journal *j = NULL;
    struct ocfl_plan *plan = NULL;
    struct ocfl_plan_file *files = NULL;
    struct cli_progress prog;
    struct put_stage p = {.dir = a->dir,
                          .id = a->id,
                          .rehash = a->rehash,
                          .threads = ocfl_settings_count(a->settings, "threads.hashing"),
                          .progress = on_read,
                          .progress_ctx = &prog};
    struct scan sc = {.p = &p};
    pthread_t scanner, saver;
    int scanning = 0, saving = 0;
    char *opath = NULL, created[64];
    int64_t id;
    int r;

    struct cluster *cl = NULL;
    char *host_state = NULL;
    int leased = 0;

    cli_progress_init(&prog);
    r = cli_root_open(a->root, &root, err);
    if (r < 0)
        goto out;
    /* cluster mode: this host's own state dir, and the object's lease before its head is
     * read, so that the plan's base is the head no other host is changing */
    if (a->cluster) {
        r = cluster_hooks_join(a->cluster, a->host, a->root, a->state, &cl, &host_state, err);
        if (r < 0)
            goto out;
        if (cluster_taken_by(cl))
            fprintf(stderr,
                    "ocflfs: note: host '%s' was taken over by host '%s' while it was away: "
                    "its unfinished plans were finished or reverted there\n",
                    cluster_host(cl), cluster_taken_by(cl));
    }
    r = put_open_journal(a->root, cl ? host_state : a->state, cl ? JOURNAL_CLUSTER : 0,
                         a->settings, &j, err);
    if (r < 0)
        goto out;
    if (cl) {
        cluster_hooks_attach(cl, j);
        r = cluster_lease_take(cl, a->id, err);
        if (r < 0)
            goto out;
        leased = 1;
    }
    r = refuse_unfinished(j, a->id, err);
    if (r >= 0)
        r = refuse_staged(j, a->id, err);
    if (r >= 0)
        r = journal_scratch_gc(j, "put-", err);
    if (r >= 0)
        r = journal_scratch_gc(j, "inventory-", err);
    if (r < 0)
        goto out;
    /* Walk DIR (and stat it for the put cache) while the inventory is parsed. */
    p.state_fd = journal_state_fd(j);
    scanning = pthread_create(&scanner, NULL, scan_main, &sc) == 0;
    if (!scanning)
        scan_main(&sc);
    uint64_t opened_ns = journal_now_ns(j);
    r = open_object(root, a->id, &opath, &obj, err);
    if (scanning)
        pthread_join(scanner, NULL);
    if (r >= 0 && sc.r < 0) {
        r = sc.r;
        if (err)
            *err = sc.err;
    }
    if (r < 0)
        goto out;
    p.base = obj ? obj->inv : NULL;
    /* The run checks the root inventory is still the base: it need not digest it again. */
    if (obj && obj->inventory_st.st_ino)
        journal_hint_root_inventory(j, opath, &obj->inventory_st, opened_ns, obj->inventory_digest);
    p.alg = ocfl_digest_alg_from_name(
        obj ? obj->inv->digest_algorithm
            : (root->digest_algorithm ? root->digest_algorithm : "sha512"));
    if (asprintf(&p.stage, "scratch/put-%ld-%lld", (long)getpid(), (long long)journal_now_ns(j)) <
        0) {
        p.stage = NULL;
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto out;
    }
    if (mkdirat(p.state_fd, p.stage, 0755) < 0) {
        r = ocfl_err_sys(err, -errno, "cannot create '%s/%s'", journal_state_dir(j), p.stage);
        goto out;
    }
    r = put_stage_read(&p, err); /* every staged file durable before the plan refers to it */
    if (r < 0)
        goto unstage;
    saving = pthread_create(&saver, NULL, save_cache, &p) == 0;
    if (!saving)
        save_cache(&p);

    const struct ocfl_version *head = a->merge && p.base ? ocfl_inventory_head(p.base) : NULL;
    size_t n_files = 0;
    files = calloc(p.n + (head ? head->n_state : 0) + 1, sizeof(*files));
    if (!files) {
        r = ocfl_err_set(err, -ENOMEM, "out of memory");
        goto unstage;
    }
    for (size_t i = 0; i < p.n; i++) {
        if (removed(a, p.e[i].logical_path))
            continue;
        files[n_files].logical_path = p.e[i].logical_path;
        files[n_files].digest = p.e[i].digest;
        files[n_files].source = p.e[i].source;
        files[n_files++].size = p.e[i].size;
    }
    /* --merge: what DIR does not have stays as the head has it (its content is the object's) */
    for (size_t i = 0; head && i < head->n_state; i++) {
        const char *lp = head->state[i].logical_path;
        if (removed(a, lp) || in_dir(&p, lp))
            continue;
        files[n_files].logical_path = lp;
        files[n_files++].digest = head->state[i].digest;
    }
    for (size_t k = 0; k < a->n_removes; k++)
        if (!was_there(head, a->removes[k])) {
            r = ocfl_err_set(err, -ENOENT, "--remove '%s': '%s' has no such file or directory",
                             a->removes[k], a->id);
            goto unstage;
        }
    cli_created_now(created, sizeof(created));
    struct ocfl_plan_input in = {
        .base = p.base,
        .base_digest = obj ? obj->inventory_digest : NULL,
        .id = a->id,
        .digest_algorithm = ocfl_digest_alg_name(p.alg),
        .spec = obj ? OCFL_SPEC_UNKNOWN : (root->spec ? root->spec : OCFL_SPEC_1_1),
        .files = files,
        .n_files = n_files,
        .created = created,
        .message = a->message,
        .user_name = a->user,
        .user_address = a->address,
        .release_dir = p.stage,
    };
    r = ocfl_plan_build(&in, &plan, err);
    if (r < 0)
        goto unstage;
    if (ocfl_plan_is_empty(plan)) {
        printf("nothing to commit: '%s' at %s already has this content\n", a->id, obj->inv->head);
        goto unstage;
    }
    r = journal_plan_add(j, plan, opath, &id, err);
    if (r < 0)
        goto unstage;
    r = journal_plan_run(j, root, id, on_progress, &prog, err);
    cli_progress_done(&prog);
    if (r >= 0) {
        printf("%s: %s written (plan %lld; %zu added, %zu modified, %zu removed", a->id,
               plan->version_name, (long long)id, plan->n_added, plan->n_modified, plan->n_removed);
        if (p.cached)
            printf("; %zu files unchanged since the last put, not read", p.cached);
        printf(")\n");
    }
    goto out;
unstage:
    cli_progress_done(&prog);
    if (p.stage)
        ocfl_io_remove_tree(p.state_fd, p.stage, NULL);
out:
    if (saving)
        pthread_join(saver, NULL);
    free(files);
    ocfl_plan_free(plan);
    put_stage_release(&p);
    free(opath);
    ocfl_object_close(obj);
    /* a plan stopped by its fence stays unfinished: the lease is not given back for it */
    if (leased && r != JOURNAL_FENCED)
        cluster_lease_drop(cl, a->id);
    journal_close(j);
    cluster_close(cl);
    free(host_state);
    ocfl_root_close(root);
    return r;
}

int cmd_put(int argc, char **argv)
{
    struct put_args a = {0};
    struct ocfl_err err = {0};
    struct identity me = {0};
    struct ocfl_settings *settings = NULL;
    int r = parse(argc, argv, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    if (cli_settings_load(a.root, a.state, &settings, &err) < 0) {
        free(a.removes);
        return cli_fail(&err);
    }
    a.settings = settings;
    /* without --user, the version names the user.name of the settings, else the user who
     * runs put, as passwd has them */
    cli_settings_identity(settings, &a.user, &a.address);
    if (cli_user_or_me(&a.user, &me, &err) < 0) {
        ocfl_settings_free(settings);
        free(a.removes);
        return cli_fail(&err);
    }
    if (ocfl_version_meta_check(a.message, a.user, a.address, &err) < 0) {
        identity_release(&me);
        ocfl_settings_free(settings);
        free(a.removes);
        return cli_usage(synopsis, "put: %s", err.msg);
    }
    /* --remove without DIR: an empty one, nothing added */
    char empty[] = "/tmp/ocflfs-put-XXXXXX";
    if (!a.dir && !(a.dir = mkdtemp(empty))) {
        identity_release(&me);
        ocfl_settings_free(settings);
        free(a.removes);
        cli_error("put: cannot make an empty directory: %s", strerror(errno));
        return EXIT_FAIL;
    }
    r = do_put(&a, &err);
    if (a.dir == empty)
        rmdir(empty);
    identity_release(&me);
    ocfl_settings_free(settings);
    free(a.removes);
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}
