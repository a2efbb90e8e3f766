/* web_int.h: what the web view's files share: the server, a request, a response, HTML output. */
#ifndef OCFLFS_WEB_INT_H
#define OCFLFS_WEB_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <jansson.h>

#include "err.h"
#include "web.h"

struct MHD_Connection;
struct MHD_Daemon;
struct ocfl_root;
struct ocfl_object;
struct journal;

/* Bounds on what one response holds. */
#define WEB_PAGE_MAX     500         /* objects per page of the repository, files per tree page */
#define WEB_INLINE_MAX   (1 << 20)   /* text shown inline on a file's page */
#define WEB_TEXTDIFF_MAX (256 << 10) /* each side of a text diff */
#define WEB_EVENTS_MAX   8           /* event streams at once; more are 503 */
#define WEB_PER_IP_MAX   16          /* connections from one TCP peer address */

/* One object of the listing. */
struct web_entry {
    char *id, *path, *head; /* head NULL when unknown */
    int64_t mtime_ns;       /* the root inventory's, 0 when unknown */
    /* what a page found when it showed the object: the head's bytes and files (-1 until
     * then) and its head, valid while the root inventory has this inode and mtime */
    int64_t size, files;
    char *seen_head;
    uint64_t seen_ino;
    int64_t seen_ns;
};

/* The listing of the root's objects, sorted by id, rebuilt in the background (web_catalog.c). */
struct web_catalog {
    pthread_mutex_t lock;
    pthread_cond_t wake; /* a build is wanted, or stop */
    pthread_t thread;
    int thread_started, building, wanted;
    atomic_int stop;           /* read by a running walk without the lock */
    const char *source;        /* "index" or "walk"; "walking" while a walk runs */
    struct web_entry *entries; /* by id */
    size_t n;
    int64_t built_plan_mark; /* what the journal showed when built (web_catalog_mark) */
    double checked_at;       /* monotonic seconds of the last look at the journal */
    double built_ms;         /* how long the last build took */
    char error[1100];
};

struct web {
    char *root_path, *state_dir;
    char *state_rel; /* the state dir relative to the root, NULL when outside */
    struct ocfl_root *root;
    struct MHD_Daemon *mhd;
    int listen_fd, remote;
    atomic_int stopping; /* set by web_stop first: a waiting event stream ends */
    atomic_int n_events; /* event streams open (at most WEB_EVENTS_MAX) */
    char *unix_path;
    char url[300];
    struct web_catalog catalog;
};

/* A request: its path and its query arguments (raw: decoded by web_arg). */
struct web_req {
    struct web *w;
    struct MHD_Connection *c;
    const char *path;
};

/* A response, filled by a handler; the server turns it into HTTP. */
struct web_resp {
    unsigned status; /* 200 unless set */
    const char *type;
    char *body; /* malloc'd, or NULL */
    size_t len;
    char *disposition; /* Content-Disposition, malloc'd or NULL */
    int sandbox;       /* bytes of an object: CSP sandbox, never run as our page */
    /* a streamed body instead (a file, events): read by the server until it returns 0 (end)
     * or -1 (error: the connection is cut); @size is -1 when unknown */
    ssize_t (*read)(void *ctx, uint64_t pos, char *buf, size_t max);
    void (*free_ctx)(void *ctx);
    void *ctx;
    int64_t size;
};

/*
 * The query argument @key, decoded and checked (web_url_decode): 0 and a malloc'd *ret,
 * -ENOENT when absent, -EINVAL / -E2BIG when it is no acceptable value (message in @err).
 */
int web_arg(const struct web_req *q, const char *key, char **ret, struct ocfl_err *err);

/* A non-negative integer argument, @dflt when absent; -EINVAL when not one (<= @max). */
int web_arg_uint(const struct web_req *q, const char *key, uint64_t dflt, uint64_t max,
                 uint64_t *ret, struct ocfl_err *err);

/* HTTP status for a negative errno: 404 for -ENOENT, 400 for -EINVAL, ... */
unsigned web_status_of(int code);

/* A model: a JSON document for a request (what /api/NAME returns), or a negative errno. */
typedef int (*web_model_fn)(struct web *w, const struct web_req *q, json_t **ret,
                            struct ocfl_err *err);

/* Render @doc (the model's document) as HTML into @f. */
typedef void (*web_render_fn)(struct web *w, const struct web_req *q, json_t *doc, FILE *f);

/* The models and their pages (web_repo.c, web_object.c, web_diff.c, web_plans.c). */
int web_model_objects(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err);
void web_render_objects(struct web *w, const struct web_req *q, json_t *doc, FILE *f);
int web_model_log(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err);
int web_model_show(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err);
int web_model_object(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err);
void web_render_object(struct web *w, const struct web_req *q, json_t *doc, FILE *f);
void web_render_history(struct web *w, const struct web_req *q, json_t *doc, FILE *f);
int web_model_file(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err);
void web_render_file(struct web *w, const struct web_req *q, json_t *doc, FILE *f);
int web_model_diff(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err);
void web_render_diff(struct web *w, const struct web_req *q, json_t *doc, FILE *f);
int web_model_plans(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err);
void web_render_plans(struct web *w, const struct web_req *q, json_t *doc, FILE *f);
int web_model_plan(struct web *w, const struct web_req *q, json_t **ret, struct ocfl_err *err);
void web_render_plan(struct web *w, const struct web_req *q, json_t *doc, FILE *f);

/* Whether @len bytes look like text: UTF-8 without NUL (web_file.c). */
int web_looks_text(const char *buf, size_t len);

/* The content of @digest in @obj, at most @max bytes, checked against the digest: 0 and a
 * malloc'd NUL-terminated *ret, -EFBIG when larger, -EIO when damaged (web_file.c). */
int web_read_content(const struct ocfl_object *obj, const char *digest, size_t max, char **ret,
                     size_t *ret_len, struct ocfl_err *err);

/* GET /raw: a file's committed bytes, streamed and checked against its digest (web_file.c). */
int web_raw(struct web *w, const struct web_req *q, struct web_resp *r, struct ocfl_err *err);

/* GET /api/events?plan=N: server-sent events with the plan's progress (web_plans.c). */
int web_events(struct web *w, const struct web_req *q, struct web_resp *r, struct ocfl_err *err);

/* The script and the style sheet (web_assets.c). */
extern const char web_app_js[];
extern const char web_style_css[];

/*
 * The object named by the argument "id": looked up through the root's layout (an id the
 * layout cannot map is no object: never a walk of the root), or without a layout in the
 * listing (web_catalog_path), its path checked (web_object_path_ok) and its inventory's id compared
 * with the one asked for. 0 and *ret (ocfl_object_close), or -ENOENT, -EINVAL with a message.
 */
int web_open_object(struct web *w, const struct web_req *q, struct ocfl_object **ret, char **ret_id,
                    struct ocfl_err *err);

/* The version argument @key of @obj ("v3", "3", "v003"; absent: @dflt, 0 = the head):
 * its number, or -ENOENT / -EINVAL with a message. */
int web_version_arg(const struct web_req *q, const char *key, const struct ocfl_object *obj,
                    unsigned dflt, unsigned *ret, struct ocfl_err *err);

/* Open the journal read-only: 0 and *ret, -ENOENT when there is none yet. *ret_gone: 1 when
 * nobody holds its lock (a "running" plan is interrupted). */
int web_journal(struct web *w, struct journal **ret, int *ret_gone, struct ocfl_err *err);

/* HTML output (web_html.c). */
void web_html_begin(FILE *f, const char *title, const char *section);
void web_html_end(FILE *f);
void web_esc(FILE *f, const char *s);             /* text or an attribute value, escaped */
void web_qenc(FILE *f, const char *s);            /* a query value, percent-encoded */
void web_bytes(FILE *f, int64_t n);               /* "1.5 MiB" */
void web_time_ns(FILE *f, int64_t ns);            /* RFC 3339 in UTC, or "-" for 0 */
void web_duration_ns(FILE *f, int64_t ns);        /* "1.2 s", "3 min 4 s" */
const char *web_jstr(json_t *o, const char *key); /* a string member, or "" */
int64_t web_jint(json_t *o, const char *key);     /* an integer member, or 0 */

/* The listing (web_catalog.c). */
int web_catalog_start(struct web *w, struct ocfl_err *err);
void web_catalog_stop(struct web *w);
/* Look at the journal (at most once a second): when a plan ended since the listing was
 * built, build it again in the background. */
void web_catalog_refresh(struct web *w);
/* The path of the object @id as the listing has it: 0 and a malloc'd *ret, -ENOENT when the
 * listing has no such id (yet: a walk may still be running), -ENOMEM. */
int web_catalog_path(struct web *w, const char *id, char **ret);

#endif
