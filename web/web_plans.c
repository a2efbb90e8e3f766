/* web_plans.c: the journal's update plans (as `plans --json`, `plan --json`), a plan's page,
 * and its progress as server-sent events. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <microhttpd.h>

#include "journal.h"
#include "plan_json.h"
#include "web_int.h"

static int64_t step_summary(json_t *doc, const char **ret_error);

/* "attempts" and "step_error" over the steps of plan @id, into @doc. */
static void add_step_summary(struct journal *j, int64_t id, json_t *doc)
{
    struct journal_plan_info p;
    struct journal_step_info *s = NULL;
    size_t n = 0;
    int64_t attempts = 0;
    const char *error = "";

    if (journal_plan_get(j, id, &p, &s, &n, NULL) < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        attempts += s[i].attempts;
        if (s[i].state != JOURNAL_STEP_DONE && s[i].last_error)
            error = s[i].last_error;
    }
    json_object_set_new(doc, "attempts", json_integer((json_int_t)attempts));
    json_object_set_new(doc, "step_error", json_string(error));
    journal_plan_info_release(&p);
    journal_step_infos_free(s, n);
}

int web_model_plans(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err)
{
    struct journal *j = NULL;
    struct journal_plan_info *v = NULL;
    size_t n = 0;
    uint64_t all;
    int gone = 0, r = web_arg_uint(q, "all", 1, 1, &all, err);
    json_t *arr;

    if (r < 0)
        return r;
    r = web_journal(w, &j, &gone, err);
    if (r == -ENOENT)
        r = 0; /* no journal yet: no plans */
    else if (r >= 0)
        r = journal_plans_list(j, (int)all, &v, &n, err);
    if (r < 0) {
        journal_close(j);
        return r;
    }
    arr = json_array();
    /* oldest first, as `plans --json`; the newest WEB_PAGE_MAX of them */
    for (size_t i = n > WEB_PAGE_MAX ? n - WEB_PAGE_MAX : 0; arr && i < n; i++) {
        json_t *doc = journal_plan_json(&v[i], gone);
        /* one that did not simply go through: its attempts and the last error of a step */
        if (doc && v[i].state != JOURNAL_PLAN_DONE)
            add_step_summary(j, v[i].id, doc);
        json_array_append_new(arr, doc);
    }
    journal_close(j);
    journal_plan_infos_free(v, n);
    if (!arr || !(*ret = json_pack("{s:o, s:I}", "plans", arr, "total", (json_int_t)n)))
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    return 0;
}

static int plan_arg(const struct web_req *q, int64_t *id, struct ocfl_err *err)
{
    uint64_t v;
    int r = web_arg_uint(q, "id", 0, INT64_MAX, &v, err);

    if (r >= 0 && v == 0)
        r = ocfl_err_set(err, -EINVAL, "which plan? (argument 'id', a plan number)");
    *id = (int64_t)v;
    return r;
}

/* plan --json's document of plan @id: 0, -ENOENT. */
static int plan_doc(struct web *w, int64_t id, int with_steps, json_t **ret, struct ocfl_err *err)
{
    struct journal *j = NULL;
    struct journal_plan_info p;
    struct journal_step_info *s = NULL;
    size_t n = 0;
    int gone = 0, r = web_journal(w, &j, &gone, err);
    json_t *doc, *arr;

    if (r == -ENOENT)
        r = ocfl_err_set(err, -ENOENT, "no plan %lld (no journal yet)", (long long)id);
    if (r >= 0)
        r = journal_plan_get(j, id, &p, with_steps ? &s : NULL, &n, err);
    journal_close(j);
    if (r < 0)
        return r;
    doc = journal_plan_json(&p, gone);
    if (doc && with_steps) {
        arr = json_array();
        for (size_t i = 0; arr && i < n; i++)
            json_array_append_new(arr, journal_step_json(&s[i]));
        json_object_set_new(doc, "step_list", arr);
        journal_plan_json_add_retry(doc, &p);
    }
    journal_plan_info_release(&p);
    journal_step_infos_free(s, n);
    if (!doc)
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    *ret = doc;
    return 0;
}

/* Steps on one page of a plan (a plan of 20,000 steps would be megabytes of HTML). */
#define PLAN_STEPS_PAGE 1000
#define PLAN_STEPS_MAX  10000

int web_model_plan(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err)
{
    int64_t id;
    uint64_t offset = 0, limit = PLAN_STEPS_PAGE;
    const char *step_error;
    json_t *doc = NULL, *all, *page;
    int r = plan_arg(q, &id, err);

    if (r < 0 || (r = web_arg_uint(q, "offset", 0, INT64_MAX, &offset, err)) < 0 ||
        (r = web_arg_uint(q, "limit", PLAN_STEPS_PAGE, PLAN_STEPS_MAX, &limit, err)) < 0 ||
        (r = plan_doc(w, id, 1, &doc, err)) < 0)
        return r;
    /* attempts and the last error over all steps, then the page of them */
    json_object_set_new(doc, "attempts", json_integer(step_summary(doc, &step_error)));
    json_object_set_new(doc, "step_error", json_string(step_error));
    all = json_object_get(doc, "step_list");
    if (!(page = json_array())) {
        json_decref(doc);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    for (size_t i = (size_t)offset; i < json_array_size(all) && i - offset < limit; i++)
        json_array_append(page, json_array_get(all, i));
    json_object_set_new(doc, "step_list", page);
    json_object_set_new(doc, "step_offset", json_integer((json_int_t)offset));
    json_object_set_new(doc, "step_limit", json_integer((json_int_t)limit));
    *ret = doc;
    return 0;
}

/* Over the steps of @doc: the attempts made, and the last error of a step not done. */
static int64_t step_summary(json_t *doc, const char **ret_error)
{
    json_t *st;
    size_t i;
    int64_t attempts = 0;

    *ret_error = "";
    json_array_foreach(json_object_get(doc, "step_list"), i, st)
    {
        attempts += web_jint(st, "attempts");
        if (strcmp(web_jstr(st, "state"), "done") && *web_jstr(st, "last_error"))
            *ret_error = web_jstr(st, "last_error");
    }
    return attempts;
}

static int unfinished(const char *state)
{
    return !strcmp(state, "running") || !strcmp(state, "pending") || !strcmp(state, "reverting");
}

static void state_cell(FILE *f, const char *state, const char *elem_id)
{
    fprintf(f, "<span class=\"state-");
    web_esc(f, state);
    fputs("\"", f);
    if (elem_id)
        fprintf(f, " id=\"%s\"", elem_id);
    fputs(">", f);
    web_esc(f, state);
    fputs("</span>", f);
}

static void who(FILE *f, json_t *p)
{
    json_t *u = json_object_get(p, "user");

    if (!json_is_object(u))
        return;
    web_esc(f, web_jstr(u, "name"));
    if (*web_jstr(u, "address")) {
        fputs(" &lt;", f);
        web_esc(f, web_jstr(u, "address"));
        fputs("&gt;", f);
    }
}

static int64_t duration(json_t *p)
{
    int64_t s = web_jint(p, "started_ns"), e = web_jint(p, "finished_ns");

    if (!s)
        return -1;
    if (!e) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        e = (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
    }
    return e - s;
}

void web_render_plans(struct web *w, const struct web_req *q, json_t *doc, FILE *f)
{
    json_t *arr = json_object_get(doc, "plans"), *p;
    size_t i;

    (void)w, (void)q;
    web_html_begin(f, "plans", "plans");
    fprintf(f,
            "<h1>Update plans</h1>\n<p><span id=\"plans-total\">%lld</span> plans in the "
            "journal, newest first.</p>\n",
            (long long)web_jint(doc, "total"));
    fputs("<table id=\"plans\"><thead><tr><th>plan</th><th>state</th><th>object</th>"
          "<th>version</th><th>steps</th><th>bytes</th><th>attempts, last error</th>"
          "<th>took</th><th>who</th><th>created</th></tr></thead><tbody>\n",
          f);
    for (i = json_array_size(arr); i-- > 0;) { /* newest first */
        p = json_array_get(arr, i);
        long long id = (long long)web_jint(p, "id");
        fprintf(f,
                "<tr data-plan=\"%lld\"><td><a class=\"plan\" href=\"/plan?id=%lld\">%lld</a>"
                "</td><td>",
                id, id, id);
        state_cell(f, web_jstr(p, "state"), NULL);
        fputs("</td><td><a href=\"/object?id=", f);
        web_qenc(f, web_jstr(p, "object_id"));
        fputs("\">", f);
        web_esc(f, web_jstr(p, "object_id"));
        fputs("</a></td><td>", f);
        web_esc(f, !strcmp(web_jstr(p, "kind"), "purge") ? "purge" : web_jstr(p, "version"));
        fprintf(f,
                "</td><td class=\"num steps\">%lld/%lld</td><td class=\"num bytes\" "
                "data-done=\"%lld\" data-total=\"%lld\">",
                (long long)web_jint(p, "steps_done"), (long long)web_jint(p, "steps"),
                (long long)web_jint(p, "bytes_done"), (long long)web_jint(p, "bytes_total"));
        web_bytes(f, web_jint(p, "bytes_done"));
        fputs(" / ", f);
        web_bytes(f, web_jint(p, "bytes_total"));
        fputs("</td><td>", f);
        if (json_object_get(p, "attempts"))
            fprintf(f, "<span class=\"attempts\">%lld</span> ", (long long)web_jint(p, "attempts"));
        fputs("<span class=\"error\">", f);
        web_esc(f,
                *web_jstr(p, "last_error") ? web_jstr(p, "last_error") : web_jstr(p, "step_error"));
        fputs("</span></td><td>", f);
        web_duration_ns(f, duration(p));
        fputs("</td><td>", f);
        who(f, p);
        fputs("</td><td>", f);
        web_esc(f, web_jstr(p, "created"));
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    web_html_end(f);
}

/* What `resume` and `cancel` would do with a plan that needs someone. */
static void what_to_do(FILE *f, struct web *w, json_t *p)
{
    const char *state = web_jstr(p, "state");
    long long id = (long long)web_jint(p, "id");
    int past_switch = 0;
    json_t *s;
    size_t i;

    if (!strcmp(state, "reverted") || !strcmp(state, "cancelled")) {
        fputs("<div class=\"what\" id=\"what-to-do\"><p>", f);
        fputs(!strcmp(state, "cancelled") ? "Cancelled and reverted"
                                          : "It failed (see the error) and was reverted",
              f);
        fputs(": the object is at its old head and what was staged is staged again. Nothing is "
              "left to resume or cancel.</p></div>\n",
              f);
        return;
    }
    if (strcmp(state, "failed") && strcmp(state, "interrupted"))
        return;
    json_array_foreach(json_object_get(p, "step_list"), i, s)
    {
        const char *k = web_jstr(s, "kind");
        if ((!strcmp(k, "root-inventory") || !strcmp(k, "purge-move")) &&
            strcmp(web_jstr(s, "state"), "pending"))
            past_switch = 1;
    }
    fputs("<div class=\"what\" id=\"what-to-do\"><h2>What to do</h2>\n<p>", f);
    if (!strcmp(state, "interrupted"))
        fputs("The process running this plan died. ", f);
    else
        fputs("This plan could not finish, and could not be reverted either. ", f);
    fprintf(f, "<code>ocflfs resume ");
    web_esc(f, w->root_path);
    fprintf(f,
            " %lld</code> runs it again from its first unfinished step (and reverts it if it "
            "fails again). ",
            id);
    if (past_switch)
        fputs("It is past its switch point (the root inventory was being replaced): "
              "<code>cancel</code> would refuse it; only <code>resume</code> finishes it.",
              f);
    else {
        fprintf(f, "<code>ocflfs cancel ");
        web_esc(f, w->root_path);
        fprintf(f,
                " %lld</code> reverts it instead: the object stays at its old head and the "
                "staged changes go back to staging.",
                id);
    }
    fputs("</p></div>\n", f);
}

/* Which steps the page shows, and links to the pages before and after. */
static void page_links(FILE *f, json_t *doc)
{
    long long id = (long long)web_jint(doc, "id"), total = (long long)web_jint(doc, "steps"),
              off = (long long)web_jint(doc, "step_offset"),
              lim = (long long)web_jint(doc, "step_limit");
    long long shown = (long long)json_array_size(json_object_get(doc, "step_list"));

    if (off == 0 && shown >= total)
        return;
    fprintf(f, "<p id=\"steps-page\">Steps %lld to %lld of %lld", shown ? off + 1 : off,
            off + shown, total);
    if (off > 0)
        fprintf(f, " <a href=\"/plan?id=%lld&amp;offset=%lld\" rel=\"prev\">previous</a>", id,
                off > lim ? off - lim : 0);
    if (off + shown < total)
        fprintf(f, " <a href=\"/plan?id=%lld&amp;offset=%lld\" rel=\"next\">next</a>", id,
                off + lim);
    fputs("</p>\n", f);
}

void web_render_plan(struct web *w, const struct web_req *q, json_t *doc, FILE *f)
{
    long long id = (long long)web_jint(doc, "id");
    const char *state = web_jstr(doc, "state");
    json_t *s;
    size_t i;

    (void)q;
    web_html_begin(f, "plan", "plans");
    fprintf(f, "<h1>Plan %lld: ", id);
    web_esc(f, !strcmp(web_jstr(doc, "kind"), "purge") ? "purge of" : web_jstr(doc, "version"));
    fputs(" of <a href=\"/object?id=", f);
    web_qenc(f, web_jstr(doc, "object_id"));
    fputs("\">", f);
    web_esc(f, web_jstr(doc, "object_id"));
    fputs("</a></h1>\n", f);
    fprintf(f, "<div id=\"progress\"%s data-plan=\"%lld\" data-updates=\"0\">\n",
            unfinished(state) ? " data-live=\"1\"" : "", id);
    fputs("<p>State ", f);
    state_cell(f, state, "p-state");
    fprintf(f,
            "; steps <span id=\"p-steps-done\">%lld</span>/<span id=\"p-steps\">%lld</span>; "
            "bytes <span id=\"p-bytes-done\">%lld</span>/<span id=\"p-bytes-total\">%lld</span>"
            "</p>\n<progress id=\"p-bar\" max=\"%lld\" value=\"%lld\"></progress>\n",
            (long long)web_jint(doc, "steps_done"), (long long)web_jint(doc, "steps"),
            (long long)web_jint(doc, "bytes_done"), (long long)web_jint(doc, "bytes_total"),
            (long long)(web_jint(doc, "bytes_total")
                            ? web_jint(doc, "bytes_total")
                            : web_jint(doc, "steps") + !web_jint(doc, "steps")),
            (long long)(web_jint(doc, "bytes_total") ? web_jint(doc, "bytes_done")
                                                     : web_jint(doc, "steps_done")));
    const char *step_error = web_jstr(doc, "step_error");
    int64_t attempts = web_jint(doc, "attempts");
    fprintf(f,
            "<p>Attempts <span id=\"p-attempts\">%lld</span>; a step's last error: "
            "<span class=\"error\" id=\"p-step-error\">",
            (long long)attempts);
    web_esc(f, step_error);
    fputs("</span></p>\n<p class=\"error\" id=\"p-last-error\">", f);
    web_esc(f, web_jstr(doc, "last_error"));
    fputs("</p>\n", f);
    if (unfinished(state))
        fputs("<noscript><p>Live updates need JavaScript: reload to see the progress.</p>"
              "</noscript>\n",
              f);
    fputs("</div>\n", f);
    what_to_do(f, w, doc);
    fputs("<table><tr><th>message</th><td>", f);
    web_esc(f, web_jstr(doc, "message"));
    fputs("</td></tr><tr><th>who</th><td>", f);
    who(f, doc);
    fputs("</td></tr><tr><th>created</th><td>", f);
    web_esc(f, web_jstr(doc, "created"));
    fputs("</td></tr><tr><th>started</th><td>", f);
    web_time_ns(f, web_jint(doc, "started_ns"));
    fputs("</td></tr><tr><th>finished</th><td>", f);
    web_time_ns(f, web_jint(doc, "finished_ns"));
    fputs("</td></tr><tr><th>took</th><td>", f);
    web_duration_ns(f, duration(doc));
    fputs("</td></tr><tr><th>object path</th><td><code>", f);
    web_esc(f, web_jstr(doc, "object_path"));
    fputs("</code></td></tr></table>\n<h2>Steps</h2>\n<table id=\"steps\"><thead><tr><th>#</th>"
          "<th>kind</th><th>state</th><th>attempts</th><th>bytes</th><th>what</th>"
          "<th>last error</th></tr></thead><tbody>\n",
          f);
    json_array_foreach(json_object_get(doc, "step_list"), i, s)
    {
        fprintf(f, "<tr id=\"step-%lld\"><td class=\"num\">%lld</td><td>",
                (long long)web_jint(s, "index"), (long long)web_jint(s, "index"));
        web_esc(f, web_jstr(s, "kind"));
        fputs("</td><td>", f);
        state_cell(f, web_jstr(s, "state"), NULL);
        fprintf(f,
                "</td><td class=\"num attempts\">%lld</td><td class=\"num bytes\">%lld/%lld"
                "</td><td><code>",
                (long long)web_jint(s, "attempts"), (long long)web_jint(s, "bytes_done"),
                (long long)web_jint(s, "size"));
        web_esc(f, *web_jstr(s, "dest") ? web_jstr(s, "dest") : web_jstr(s, "source"));
        fputs("</code></td><td class=\"error step-error\">", f);
        web_esc(f, web_jstr(s, "last_error"));
        fputs("</td></tr>\n", f);
    }
    fputs("</tbody></table>\n", f);
    page_links(f, doc);
    web_html_end(f);
}

/* Server-sent events: "event: progress" with the plan's document (as /api/plan, its steps
 * when there are at most EVENT_STEPS_MAX, and "attempts" and "step_error" summed up over
 * them) whenever it
 * changed, looked at every 200 ms (the plan's row; its steps when the row changed, or every
 * 5 s); at most WEB_EVENTS_MAX streams at once; a comment line every 15 s keeps proxies from
 * closing the stream; the stream ends once the plan is finished.  Each stream holds its own
 * connection's thread only, and no journal between looks. */
#define EVENT_STEPS_MAX 1000

struct events {
    struct web *w;
    int64_t id;
    char *last, *last_sum; /* the last event's document, and the plan's row then */
    int done;
    unsigned quiet_ticks;
    int fd;        /* the connection's socket, -1 when unknown */
    char *pending; /* what is still to be sent of the last event */
    size_t off, len;
};

/* Wait one tick (200 ms) in slices of 20 ms: -1 at once when the server stops or the client
 * has gone (@fd, the connection's socket, hung up: a quiet stream would hold its place until
 * its next write otherwise). */
static int tick_wait(struct web *w, int fd)
{
    for (int i = 0; i < 10; i++) {
        struct pollfd p = {.fd = fd, .events = POLLRDHUP};
        if (atomic_load(&w->stopping))
            return -1;
        if (fd >= 0 && poll(&p, 1, 20) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)))
            return -1;
        if (fd < 0) {
            struct timespec slice = {0, 20 * 1000 * 1000};
            nanosleep(&slice, NULL);
        }
    }
    return atomic_load(&w->stopping) ? -1 : 0;
}

/* The plan without its steps, as text: what is compared before the steps are loaded. */
static char *plan_summary(struct web *w, int64_t id)
{
    json_t *doc = NULL;
    char *text;

    if (plan_doc(w, id, 0, &doc, NULL) < 0)
        return NULL;
    text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(doc);
    return text;
}

static ssize_t events_read(void *ctx, uint64_t pos, char *buf, size_t max)
{
    struct events *e = ctx;

    (void)pos;
    for (;;) {
        if (e->pending && e->off < e->len) {
            size_t n = e->len - e->off < max ? e->len - e->off : max;
            memcpy(buf, e->pending + e->off, n);
            e->off += n;
            return (ssize_t)n;
        }
        free(e->pending);
        e->pending = NULL;
        if (e->done)
            return 0;
        if (atomic_load(&e->w->stopping))
            return -1;
        /* the steps (all of them) are read only when the plan's own row changed, or every
         * 5 s (a step's retry need not change it): a quiet stream costs one row a tick */
        char *sum = plan_summary(e->w, e->id);
        if (!sum)
            return -1;
        if (e->last && e->last_sum && !strcmp(sum, e->last_sum) && e->quiet_ticks % 25 != 24) {
            free(sum);
            e->quiet_ticks++;
            if (tick_wait(e->w, e->fd) < 0)
                return -1;
            continue;
        }
        free(e->last_sum);
        e->last_sum = sum;
        json_t *doc = NULL;
        if (plan_doc(e->w, e->id, 1, &doc, NULL) < 0)
            return -1;
        const char *step_error;
        json_object_set_new(doc, "attempts", json_integer(step_summary(doc, &step_error)));
        json_object_set_new(doc, "step_error", json_string(step_error));
        if (json_array_size(json_object_get(doc, "step_list")) > EVENT_STEPS_MAX)
            json_object_del(doc, "step_list"); /* each event stays small */
        char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII);
        e->done = !unfinished(web_jstr(doc, "state"));
        json_decref(doc);
        if (!text)
            return -1;
        if (!e->last || strcmp(e->last, text)) {
            free(e->last);
            e->last = text;
            e->quiet_ticks = 0;
            if (asprintf(&e->pending, "event: progress\ndata: %s\n\n", text) < 0)
                return -1;
        } else {
            free(text);
            if (++e->quiet_ticks >= 75) {
                e->quiet_ticks = 0;
                if (!(e->pending = strdup(": still here\n\n")))
                    return -1;
            } else {
                if (tick_wait(e->w, e->fd) < 0)
                    return -1;
                continue;
            }
        }
        e->off = 0;
        e->len = strlen(e->pending);
    }
}

static void events_free(void *ctx)
{
    struct events *e = ctx;

    atomic_fetch_sub(&e->w->n_events, 1);
    free(e->last);
    free(e->last_sum);
    free(e->pending);
    free(e);
}

int web_events(struct web *w, const struct web_req *q, struct web_resp *r, struct ocfl_err *err)
{
    const union MHD_ConnectionInfo *ci;
    struct events *e;
    json_t *doc = NULL;
    int64_t id;
    uint64_t v;
    int rc = web_arg_uint(q, "plan", 0, INT64_MAX, &v, err);

    if (rc < 0)
        return rc;
    if (!(id = (int64_t)v))
        return ocfl_err_set(err, -EINVAL, "which plan? (argument 'plan')");
    if ((rc = plan_doc(w, id, 0, &doc, err)) < 0) /* no such plan: 404, not an empty stream */
        return rc;
    json_decref(doc);
    if (atomic_fetch_add(&w->n_events, 1) >= WEB_EVENTS_MAX) {
        atomic_fetch_sub(&w->n_events, 1);
        return ocfl_err_set(err, -EBUSY, "too many event streams (%d): try again later",
                            WEB_EVENTS_MAX);
    }
    if (!(e = calloc(1, sizeof(*e)))) {
        atomic_fetch_sub(&w->n_events, 1);
        return ocfl_err_set(err, -ENOMEM, "out of memory");
    }
    e->w = w;
    e->id = id;
    ci = MHD_get_connection_info(q->c, MHD_CONNECTION_INFO_CONNECTION_FD);
    e->fd = ci ? ci->connect_fd : -1;
    r->type = "text/event-stream";
    r->size = -1;
    r->read = events_read;
    r->free_ctx = events_free;
    r->ctx = e;
    return 0;
}
