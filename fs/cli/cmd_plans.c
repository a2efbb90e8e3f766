/* cmd_plans.c: `ocflfs plans|plan|resume|cancel`: look at and drive the journal's update plans. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_settings.h"
#include "cli_util.h"
#include "cluster_hooks.h"
#include "commands.h"
#include "journal.h"
#include "plan_json.h"
#include "root.h"

struct args {
    const char *root, *plan, *state;
    const char *cluster, *host; /* --cluster URL, --host NAME */
    int json, all, failed, watch;
    double interval; /* --watch's, seconds */
};

static const struct option longopts[] = {
    {"json", no_argument, NULL, 'j'},          {"all", no_argument, NULL, 'a'},
    {"failed", no_argument, NULL, 'F'},        {"state", required_argument, NULL, 's'},
    {"watch", no_argument, NULL, 'w'},         {"interval", required_argument, NULL, 'i'},
    {"cluster", required_argument, NULL, 'C'}, {"host", required_argument, NULL, 'H'},
    {"help", no_argument, NULL, 'h'},          {0},
};

/* Parse options; @min..@max positional arguments (ROOT [PLAN]). */
static int parse(int argc, char **argv, const char *synopsis, int min, int max, struct args *a)
{
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            a->json = 1;
            break;
        case 'a':
            a->all = 1;
            break;
        case 'F':
            a->failed = 1;
            break;
        case 's':
            a->state = optarg;
            break;
        case 'w':
            a->watch = 1;
            break;
        case 'C':
            a->cluster = optarg;
            break;
        case 'H':
            a->host = optarg;
            break;
        case 'i': {
            char *end;
            a->interval = strtod(optarg, &end);
            if (end == optarg || *end || !(a->interval >= 0.05 && a->interval <= 3600))
                return cli_usage(synopsis,
                                 "--interval: '%s': not a number of seconds "
                                 "from 0.05 to 3600",
                                 optarg);
            break;
        }
        case 'h':
            printf("usage: ocflfs %s\n", synopsis);
            return -1;
        default:
            return cli_usage(synopsis, "%s: bad option", argv[0]);
        }
    }
    if (argc - optind < min || argc - optind > max)
        return cli_usage(synopsis, "%s: wrong number of arguments", argv[0]);
    if (a->host && !a->cluster)
        return cli_usage(synopsis, "%s: --host needs --cluster", argv[0]);
    a->root = argv[optind];
    a->plan = argc - optind > 1 ? argv[optind + 1] : NULL;
    return 0;
}

static int open_journal(const struct args *a, unsigned flags, struct journal **ret,
                        struct ocfl_err *err)
{
    struct journal_options o = {.flags = flags, .root = a->root, .holder = "resume or cancel"};
    struct journal_retry retry[JOURNAL_RETRY_KIND_COUNT];
    struct ocfl_settings *s = NULL;
    struct ocfl_root *root = NULL;
    char *dflt = NULL;
    int r;

    /* a path that is no storage root is an error, not a root without plans */
    if ((r = ocfl_root_open(a->root, &root, err)) < 0)
        return r == -ENOENT ? -ENODEV : r; /* -ENOENT from here means "no journal yet" */
    ocfl_root_close(root);
    /* the policy of plans recorded before policies were, and the content step threads */
    if ((r = cli_settings_load(a->root, a->state, &s, err)) < 0)
        return r;
    cli_settings_journal(s, retry, &o);
    ocfl_settings_free(s);
    if (!a->state && asprintf(&dflt, "%s/extensions/ocflfs", a->root) < 0)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    r = journal_open(a->state ? a->state : dflt, &o, ret, err);
    free(dflt);
    return r;
}

/* The journal to write: with --cluster, this host's (joined; its state dir under the root
 * unless --state), else open_journal's.  *ret_cluster stays NULL without --cluster. */
static int open_cluster_journal(const struct args *a, struct cluster **ret_cluster,
                                char **ret_state, struct journal **ret, struct ocfl_err *err)
{
    struct journal_options o = {
        .flags = JOURNAL_CLUSTER, .root = a->root, .holder = "resume or cancel"};
    int r;

    if (!a->cluster)
        return open_journal(a, 0, ret, err);
    r = cluster_hooks_join(a->cluster, a->host, a->root, a->state, ret_cluster, ret_state, err);
    if (r < 0)
        return r;
    if (cluster_taken_by(*ret_cluster))
        fprintf(stderr,
                "ocflfs: note: host '%s' was taken over by host '%s' while it was away: its "
                "unfinished plans were finished or reverted there\n",
                cluster_host(*ret_cluster), cluster_taken_by(*ret_cluster));
    r = journal_open(*ret_state, &o, ret, err);
    if (r >= 0)
        cluster_hooks_attach(*ret_cluster, *ret);
    return r;
}

static int plan_id(const char *s, int64_t *ret)
{
    char *end;
    long long v = strtoll(s, &end, 10);

    if (!*s || *end || v <= 0)
        return -EINVAL;
    *ret = v;
    return 0;
}

/* Set once the journal is open: nobody holds its lock, so a "running" plan's process died. */
static int holder_gone;

/* A plan's state as it is: "interrupted" for one recorded as running whose process died. */
static const char *state_name(const struct journal_plan_info *p)
{
    return journal_plan_shown_state(p, holder_gone);
}

static void note_holder(const struct args *a)
{
    char *dflt = NULL;

    if (!a->state && asprintf(&dflt, "%s/extensions/ocflfs", a->root) < 0)
        return;
    holder_gone = journal_lock_held(a->state ? a->state : dflt) == 0;
    free(dflt);
}

static json_t *plan_json(const struct journal_plan_info *p)
{
    return journal_plan_json(p, holder_gone);
}

static json_t *step_json(const struct journal_step_info *s)
{
    return journal_step_json(s);
}

static int print_json(json_t *doc)
{
    char *text = doc ? json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

    json_decref(doc);
    if (!text) {
        cli_error("cannot format JSON: out of memory");
        return EXIT_FAIL;
    }
    puts(text);
    free(text);
    return EXIT_OK;
}

static void print_plan_line_to(FILE *f, const struct journal_plan_info *p)
{
    fprintf(f, "%-6lld %-11s %-6s %zu/%zu steps  %llu/%llu bytes  %s  %s%s\n", (long long)p->id,
            state_name(p), p->purge ? "purge" : p->version, p->steps_done, p->n_steps,
            (unsigned long long)p->bytes_done, (unsigned long long)p->bytes_total, p->created,
            p->object_id, p->purge ? " (removed for good)" : "");
    if (p->last_error)
        fprintf(f, "       error: %s\n", p->last_error);
}

static void print_plan_line(const struct journal_plan_info *p)
{
    print_plan_line_to(stdout, p);
}

static const char plans_synopsis[] = "plans ROOT [--json] [--all | --failed | --watch [--interval "
                                     "S]] [--state DIR] [--cluster URL]";

/* What needs someone: a plan that failed, or one whose process died (interrupted). */
static int needs_attention(const struct journal_plan_info *p)
{
    return p->state == JOURNAL_PLAN_FAILED ||
           (holder_gone && (p->state == JOURNAL_PLAN_RUNNING || p->state == JOURNAL_PLAN_PENDING ||
                            p->state == JOURNAL_PLAN_REVERTING));
}

static int watch(const struct args *a);

/* plans --cluster: every host's plans, as the cluster's table has them, with the age of
 * each host's heartbeat. */
static int cluster_plans_show(const struct args *a)
{
    struct ocfl_err err = {0};
    struct ocfl_root *root = NULL;
    struct cluster *c = NULL;
    struct cluster_plan_info *v = NULL;
    size_t n = 0;
    int r = ocfl_root_open(a->root, &root, &err);

    ocfl_root_close(root);
    if (r >= 0)
        r = cluster_connect(a->cluster, &c, &err);
    if (r >= 0)
        r = cluster_plans(c, a->all, &v, &n, &err);
    cluster_close(c);
    if (r < 0)
        return cli_fail(&err);
    if (a->json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(
                arr, json_pack("{s:s, s:I, s:s, s:s, s:s, s:I, s:I, s:f}", "host", v[i].host, "id",
                               (json_int_t)v[i].plan, "object_id", v[i].object_id, "version",
                               v[i].version, "state", v[i].state, "bytes_done",
                               (json_int_t)v[i].bytes_done, "bytes_total",
                               (json_int_t)v[i].bytes_total, "heartbeat_age", v[i].heartbeat_age));
        cluster_plan_infos_free(v, n);
        return print_json(json_pack("{s:o}", "plans", arr));
    }
    if (!n)
        printf(a->all ? "no plans on any host\n" : "no unfinished plans on any host\n");
    for (size_t i = 0; i < n; i++)
        printf("%-16s %-6lld %-11s %-6s %llu/%llu bytes  heartbeat %.1fs ago  %s\n", v[i].host,
               (long long)v[i].plan, v[i].state, v[i].version, (unsigned long long)v[i].bytes_done,
               (unsigned long long)v[i].bytes_total, v[i].heartbeat_age, v[i].object_id);
    cluster_plan_infos_free(v, n);
    return EXIT_OK;
}

int cmd_plans(int argc, char **argv)
{
    struct args a = {0};
    struct ocfl_err err = {0};
    struct journal *j = NULL;
    struct journal_plan_info *v = NULL;
    size_t n = 0;
    int r = parse(argc, argv, plans_synopsis, 1, 1, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    if (a.watch && (a.json || a.all || a.failed))
        return cli_usage(plans_synopsis, "plans: --watch goes with no --json, --all or --failed");
    if (a.watch)
        return watch(&a);
    if (a.cluster)
        return cluster_plans_show(&a);
    r = open_journal(&a, JOURNAL_READONLY, &j, &err);
    note_holder(&a);
    if (r == -ENOENT) {
        n = 0; /* no journal yet: no plans */
    } else if (r < 0 || (r = journal_plans_list(j, a.all || a.failed, &v, &n, &err)) < 0) {
        journal_close(j);
        return cli_fail(&err);
    }
    journal_close(j);
    if (a.failed) { /* only those, and exit 1 when there are any: for monitoring */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            if (needs_attention(&v[i])) {
                struct journal_plan_info t = v[k];
                v[k++] = v[i];
                v[i] = t;
            }
        }
        for (size_t i = k; i < n; i++)
            journal_plan_info_release(&v[i]);
        n = k;
    }
    if (a.json) {
        json_t *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, plan_json(&v[i]));
        journal_plan_infos_free(v, n);
        r = print_json(json_pack("{s:o}", "plans", arr));
        return r == EXIT_OK && a.failed && n ? EXIT_FAIL : r;
    }
    if (!n)
        printf(a.failed ? "no failed or interrupted plans\n"
               : a.all  ? "no plans\n"
                        : "no unfinished plans\n");
    for (size_t i = 0; i < n; i++) {
        print_plan_line(&v[i]);
        if (needs_attention(&v[i]))
            printf("       what to do: ocflfs resume %s %lld (finish it), or ocflfs cancel %s "
                   "%lld (revert it, before its switch)\n",
                   a.root, (long long)v[i].id, a.root, (long long)v[i].id);
    }
    journal_plan_infos_free(v, n);
    return a.failed && n ? EXIT_FAIL : EXIT_OK;
}

/* --watch: the unfinished plans, and those seen unfinished since it began, each with a
 * progress bar; on a terminal the screen is redrawn every interval, elsewhere a new block is
 * printed when something changed.  Until SIGINT or SIGTERM (then exit 0). */
static volatile sig_atomic_t watch_stop;

static void on_stop(int sig)
{
    (void)sig;
    watch_stop = 1;
}

static void print_bar(FILE *f, const struct journal_plan_info *p)
{
    /* bytes when the plan moves content, else steps */
    double frac = p->bytes_total ? (double)p->bytes_done / (double)p->bytes_total
                  : p->n_steps   ? (double)p->steps_done / (double)p->n_steps
                                 : 1;
    int fill = (int)(frac * 40 + 0.5);

    fprintf(f, "       [%.*s%.*s] %3d%%\n", fill, "########################################",
            40 - fill, "........................................", (int)(frac * 100));
}

/* One screen: 0, or an error (the journal or the root could not be read). */
static int watch_screen(const struct args *a, int64_t **seen, size_t *n_seen, char **text,
                        struct ocfl_err *err)
{
    struct journal *j = NULL;
    struct journal_plan_info *v = NULL;
    size_t n = 0, len = 0;
    FILE *f = open_memstream(text, &len);
    int r = f ? open_journal(a, JOURNAL_READONLY, &j, err) : -ENOMEM;

    note_holder(a);
    if (r == -ENOENT)
        r = 0; /* no journal yet: no plans yet */
    else if (r >= 0)
        r = journal_plans_list(j, 0, &v, &n, err);
    for (size_t i = 0; r >= 0 && i < n; i++) {
        size_t k = 0;
        while (k < *n_seen && (*seen)[k] != v[i].id)
            k++;
        if (k == *n_seen) {
            int64_t *m = realloc(*seen, (*n_seen + 1) * sizeof(**seen));
            if (!m) {
                r = -ENOMEM;
                break;
            }
            *seen = m;
            m[(*n_seen)++] = v[i].id;
        }
    }
    /* every plan seen unfinished, in the order first seen: finished ones keep their line */
    for (size_t k = 0; r >= 0 && k < *n_seen; k++) {
        struct journal_plan_info p, *q = NULL;
        for (size_t i = 0; i < n && !q; i++)
            if (v[i].id == (*seen)[k])
                q = &v[i];
        if (!q && j && journal_plan_get(j, (*seen)[k], &p, NULL, NULL, NULL) == 0)
            q = &p;
        if (!q)
            continue;
        print_plan_line_to(f, q);
        print_bar(f, q);
        if (q == &p)
            journal_plan_info_release(&p);
    }
    if (r >= 0 && !*n_seen)
        fprintf(f, "no unfinished plans\n");
    journal_plan_infos_free(v, n);
    journal_close(j);
    if (f)
        fclose(f);
    if (r == -ENOMEM)
        ocfl_err_set(err, r, "out of memory");
    return r;
}

static int watch(const struct args *a)
{
    struct sigaction sa = {.sa_handler = on_stop};
    struct ocfl_err err = {0};
    double interval = a->interval > 0 ? a->interval : 1;
    struct timespec ts = {(time_t)interval, (long)((interval - (double)(time_t)interval) * 1e9)};
    int tty = isatty(STDOUT_FILENO), r = 0;
    int64_t *seen = NULL;
    size_t n_seen = 0;
    char *last = NULL;

    struct ocfl_root *root = NULL;
    /* what is no storage root fails at once; later errors are shown and looked at again */
    if (ocfl_root_open(a->root, &root, &err) < 0)
        return cli_fail(&err);
    ocfl_root_close(root);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: the sleep ends at once */
    sigaction(SIGTERM, &sa, NULL);
    while (!watch_stop) {
        char *text = NULL, stamp[32];
        time_t now = time(NULL);
        struct tm tm;
        r = watch_screen(a, &seen, &n_seen, &text, &err);
        if (r == -ENOMEM || (r < 0 && !text)) {
            free(text);
            break;
        }
        if (r < 0) { /* a journal being made or migrated: said, and looked at again */
            char *t = NULL;
            if (asprintf(&t, "%scannot read the journal now: %s\n", text, err.msg) < 0)
                t = NULL;
            free(text);
            text = t;
            ocfl_err_clear(&err);
            r = 0;
            if (!text)
                break;
        }
        strftime(stamp, sizeof(stamp), "%H:%M:%S", localtime_r(&now, &tm));
        if (tty)
            printf("\033[H\033[2Jocflfs plans %s  at %s, every %gs (Ctrl-C ends)\n\n%s", a->root,
                   stamp, interval, text);
        else if (!last || strcmp(last, text))
            printf("-- %s\n%s", stamp, text);
        fflush(stdout);
        free(last);
        last = text;
        nanosleep(&ts, NULL);
    }
    free(last);
    free(seen);
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}

static const char plan_synopsis[] = "plan ROOT PLAN [--json] [--state DIR]";

static void print_retry(const struct journal_plan_info *p)
{
    printf("  retry policy (%s):\n",
           p->retry_recorded ? "recorded with the plan" : "the settings': none recorded");
    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++) {
        const struct journal_retry *r = &p->retry[k];
        printf("    %-9s %llums, backoff %g, at most %llums, %u attempts; never retried:",
               journal_retry_kind_name(k), (unsigned long long)r->initial_ms, r->coefficient,
               (unsigned long long)r->max_ms, r->max_attempts);
        for (unsigned i = 0; i < r->n_non_retryable; i++) {
            const char *name = ocfl_errno_name(r->non_retryable[i]);
            if (name)
                printf(" %s", name);
            else
                printf(" %d", -r->non_retryable[i]);
        }
        printf("%s\n", r->n_non_retryable ? "" : " none");
    }
}

int cmd_plan(int argc, char **argv)
{
    struct args a = {0};
    struct ocfl_err err = {0};
    struct journal *j = NULL;
    struct journal_plan_info p;
    struct journal_step_info *s = NULL;
    size_t n = 0;
    int64_t id;
    int r = parse(argc, argv, plan_synopsis, 2, 2, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    if (plan_id(a.plan, &id) < 0)
        return cli_usage(plan_synopsis, "plan: '%s': not a plan number", a.plan);
    r = open_journal(&a, JOURNAL_READONLY, &j, &err);
    note_holder(&a);
    if (r >= 0)
        r = journal_plan_get(j, id, &p, &s, &n, &err);
    journal_close(j);
    if (r < 0)
        return cli_fail(&err);
    if (a.json) {
        json_t *doc = plan_json(&p), *arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, step_json(&s[i]));
        if (doc)
            json_object_set_new(doc, "step_list", arr);
        journal_plan_json_add_retry(doc, &p);
        journal_plan_info_release(&p);
        journal_step_infos_free(s, n);
        return print_json(doc);
    }
    print_plan_line(&p);
    for (size_t i = 0; i < n; i++) {
        printf("  %3zu %-17s %-8s attempts %u", s[i].idx, ocfl_step_kind_name(s[i].kind),
               journal_step_state_name(s[i].state), s[i].attempts);
        if (s[i].dest)
            printf("  %s", s[i].dest);
        else if (s[i].source)
            printf("  %s", s[i].source);
        if (s[i].kind == OCFL_STEP_CONTENT)
            printf("  (%llu/%llu bytes)", (unsigned long long)s[i].bytes_done,
                   (unsigned long long)s[i].size);
        printf("\n");
        if (s[i].last_error)
            printf("      error: %s\n", s[i].last_error);
    }
    print_retry(&p);
    journal_plan_info_release(&p);
    journal_step_infos_free(s, n);
    return EXIT_OK;
}

static void on_progress(void *ctx, int64_t id, uint64_t done, uint64_t total)
{
    (void)id;
    cli_progress_update(ctx, "resume", done, total);
}

static const char resume_synopsis[] =
    "resume ROOT [PLAN] [--state DIR] [--cluster URL [--host NAME]]";

int cmd_resume(int argc, char **argv)
{
    struct args a = {0};
    struct ocfl_err err = {0};
    struct ocfl_root *root = NULL;
    struct journal *j = NULL;
    struct cli_progress prog;
    struct cluster *cl = NULL;
    char *host_state = NULL;
    size_t failed = 0;
    int64_t id = 0;
    int r = parse(argc, argv, resume_synopsis, 1, 2, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    if (a.plan && plan_id(a.plan, &id) < 0)
        return cli_usage(resume_synopsis, "resume: '%s': not a plan number", a.plan);
    cli_progress_init(&prog);
    r = ocfl_root_open(a.root, &root, &err);
    if (r >= 0)
        r = open_cluster_journal(&a, &cl, &host_state, &j, &err);
    if (r >= 0 && cl) {
        /* under the leases of the plans' objects */
        r = cluster_hooks_recover(cl, j, root, id, on_progress, &prog, &failed, &err);
        if (r >= 0 && id)
            printf("plan %lld done\n", (long long)id);
        else if (r >= 0)
            printf("%d plan%s resumed and done\n", r, r == 1 ? "" : "s");
    } else if (r >= 0) {
        if (id) {
            r = journal_plan_run(j, root, id, on_progress, &prog, &err);
            if (r >= 0)
                printf("plan %lld done\n", (long long)id);
        } else {
            r = journal_recover(j, root, on_progress, &prog, &failed, &err);
            if (r >= 0)
                printf("%d plan%s resumed and done\n", r, r == 1 ? "" : "s");
            /* what puts killed while staging left behind (never journaled) */
            if (r >= 0)
                r = journal_scratch_gc(j, "put-", &err);
            if (r >= 0) /* and inventory files of plans never recorded */
                r = journal_scratch_gc(j, "inventory-", &err);
        }
    }
    cli_progress_done(&prog);
    journal_close(j);
    cluster_close(cl);
    free(host_state);
    ocfl_root_close(root);
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}

static const char cancel_synopsis[] =
    "cancel ROOT PLAN [--state DIR] [--cluster URL [--host NAME]]";

int cmd_cancel(int argc, char **argv)
{
    struct args a = {0};
    struct ocfl_err err = {0};
    struct ocfl_root *root = NULL;
    struct journal *j = NULL;
    struct cluster *cl = NULL;
    char *host_state = NULL;
    int64_t id;
    int r = parse(argc, argv, cancel_synopsis, 2, 2, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    if (plan_id(a.plan, &id) < 0)
        return cli_usage(cancel_synopsis, "cancel: '%s': not a plan number", a.plan);
    r = ocfl_root_open(a.root, &root, &err);
    if (r >= 0)
        r = open_cluster_journal(&a, &cl, &host_state, &j, &err);
    /* in cluster mode the revert writes the object under its lease */
    struct journal_plan_info p = {0};
    int leased = 0;
    if (r >= 0 && cl && (r = journal_plan_get(j, id, &p, NULL, NULL, &err)) >= 0) {
        r = cluster_lease_take(cl, p.object_id, &err);
        leased = r >= 0;
    }
    if (r >= 0)
        r = journal_plan_cancel(j, root, id, &err);
    if (r >= 0)
        printf("plan %lld cancelled and reverted\n", (long long)id);
    if (leased)
        cluster_lease_drop(cl, p.object_id);
    if (cl)
        journal_plan_info_release(&p);
    journal_close(j);
    cluster_close(cl);
    free(host_state);
    ocfl_root_close(root);
    return r < 0 ? cli_fail(&err) : EXIT_OK;
}
