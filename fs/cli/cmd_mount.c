/* cmd_mount.c: `ocflfs mount`: options, daemon, journal lock, the FUSE session and its loop. */
#define FUSE_USE_VERSION 314

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <fuse_lowlevel.h>

#include "cli_settings.h"
#include "cli_util.h"
#include "cluster_hooks.h"
#include "commands.h"
#include "journal.h"
#include "mount.h"
#include "mount_write.h"
#include "staging.h"
#include "web.h"

static const char synopsis[] =
    "mount ROOT MOUNTPOINT [-f] [--state DIR] [--user NAME [--address URI]] [--user-map FILE]"
    " [--address-template T] [--log FILE] [--fresh-state] [--cluster URL [--host NAME]]"
    " [-o OPTS]";

#define TTL_COMMITTED 86400.0    /* versions/ never change */
#define TTL_HEAD      5.0        /* the head may be changed by another tool */
#define REFRESH_AGE   30.0       /* listing the root walks it again after this many seconds */
#define CACHE_OBJECTS 256        /* loaded inventories kept */
#define CACHE_WEIGHT  (4u << 20) /* ... and at most this many state + manifest entries */
#define IDLE_NODES    1024       /* inodes kept after the kernel forgot them (or never had) */

struct mount_args {
    const char *root, *mountpoint, *state;
    int foreground;
    char *fuse_opts, *ctl;
    double refresh;             /* -o refresh=SECONDS, or -1 for REFRESH_AGE */
    long cache;                 /* -o cache=OBJECTS, or 0 for CACHE_OBJECTS */
    int nopassthrough;          /* -o nopassthrough: no kernel passthrough reads */
    int write_passthrough;      /* -o write_passthrough: new files written by the kernel */
    const char *user, *address; /* the mounting user's name and address in versions */
    int fresh_state;            /* --fresh-state: start a new journal beside orphaned scratch */
    char *user_map;             /* --user-map / -o user_map=FILE: login -> name, address */
    char *address_template;     /* --address-template / -o address_template=T */
    char *commit_group;         /* -o commit_group=GROUP: who may commit and discard */
    int named_users;            /* -o named_users: any caller's request may name a user */
    int allow_other;            /* -o allow_other (with default_permissions added) */
    int default_permissions;    /* -o default_permissions given */
    int nonempty;               /* -o nonempty: mount over a directory that has files */
    char *user_opt, *address_opt, *state_opt; /* -o committer=, committer_address=, state= */
    char *log;                                /* --log / -o log=FILE */
    char *cli_opts;                           /* the command line's -o lists, joined by commas */
    struct ocfl_settings *settings;           /* the configuration files' */
    char *http;           /* -o http=ADDR: the read-only web view (web.h) listens there */
    char *cluster, *host; /* --cluster / -o cluster=URL, --host / host= */
};

/* Replace *@slot by a copy of @value: 0 or -ENOMEM. */
static int set_str(char **slot, const char *value)
{
    char *c = strdup(value);

    if (!c)
        return -ENOMEM;
    free(*slot);
    *slot = c;
    return 0;
}

/*
 * Take ocflfs's own options out of a -o list (ctl=NAME, refresh=SECONDS, cache=OBJECTS,
 * nopassthrough, user_map=FILE, address_template=T, commit_group=GROUP, named_users,
 * http=ADDR); the
 * rest goes to FUSE.  allow_other always brings default_permissions: a mount other users
 * reach has the kernel check every access against the modes it shows.  An option with a
 * backslash is refused.  0 or -EINVAL.
 */
static int split_opts(const char *opts, struct mount_args *a)
{
    /* several -o lists add up */
    size_t had = a->fuse_opts ? strlen(a->fuse_opts) : 0;
    char *copy = strdup(opts), *save = NULL, *tok,
         *out = calloc(1, had + 1 + strlen(opts) + sizeof(",default_permissions"));
    int rc = 0;

    if (!copy || !out) {
        rc = -ENOMEM;
        goto out;
    }
    if (had)
        strcpy(out, a->fuse_opts);
    for (tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        /* fuse_opt_parse un-escapes "\X" and "\NNN": the names compared here would not be
         * what FUSE sees (allow\_other without default_permissions) */
        if (strchr(tok, '\\')) {
            rc = -EINVAL;
            goto out;
        }
        if (!strcmp(tok, "nopassthrough")) {
            a->nopassthrough = 1;
            continue;
        }
        if (!strcmp(tok, "write_passthrough")) {
            a->write_passthrough = 1;
            continue;
        }
        if (!strcmp(tok, "named_users")) {
            a->named_users = 1;
            continue;
        }
        if (!strcmp(tok, "nonempty")) { /* FUSE 3 dropped it: ocflfs's own check */
            a->nonempty = 1;
            continue;
        }
        if (!strcmp(tok, "fresh_state")) {
            a->fresh_state = 1;
            continue;
        }
        /* --user, --address, --state as -o, for fstab and mount -t ("user" is mount(8)'s) */
        if (!strncmp(tok, "committer=", 10) || !strncmp(tok, "committer_address=", 18) ||
            !strncmp(tok, "state=", 6)) {
            const char *v = strchr(tok, '=') + 1;
            char **slot = tok[0] == 's'   ? &a->state_opt
                          : tok[9] == '=' ? &a->user_opt
                                          : &a->address_opt;
            if (!*v || (rc = set_str(slot, v)) < 0) {
                rc = rc < 0 ? rc : -EINVAL;
                goto out;
            }
            if (tok[0] == 's')
                a->state = a->state_opt;
            else if (tok[9] == '=')
                a->user = a->user_opt;
            else
                a->address = a->address_opt;
            continue;
        }
        if (!strncmp(tok, "user_map=", 9) || !strncmp(tok, "address_template=", 17) ||
            !strncmp(tok, "commit_group=", 13) || !strncmp(tok, "log=", 4) ||
            !strncmp(tok, "http=", 5) || !strncmp(tok, "cluster=", 8) ||
            !strncmp(tok, "host=", 5)) {
            const char *v = strchr(tok, '=') + 1;
            char **slot = tok[0] == 'u'                    ? &a->user_map
                          : tok[0] == 'a'                  ? &a->address_template
                          : tok[0] == 'l'                  ? &a->log
                          : tok[0] == 'h' && tok[1] == 't' ? &a->http
                          : tok[0] == 'h'                  ? &a->host
                          : tok[1] == 'l'                  ? &a->cluster
                                                           : &a->commit_group;
            if (!*v || (rc = set_str(slot, v)) < 0) {
                rc = rc < 0 ? rc : -EINVAL;
                goto out;
            }
            continue;
        }
        if (!strncmp(tok, "cache=", 6)) {
            char *end;
            long v = strtol(tok + 6, &end, 10);
            if (end == tok + 6 || *end || v < 1 || v > 1000000) {
                rc = -EINVAL;
                goto out;
            }
            a->cache = v;
            continue;
        }
        if (!strncmp(tok, "refresh=", 8)) {
            char *end;
            double v = strtod(tok + 8, &end);
            if (end == tok + 8 || *end || v < 0 || v > 1e9) {
                rc = -EINVAL;
                goto out;
            }
            a->refresh = v;
            continue;
        }
        if (!strncmp(tok, "ctl=", 4)) {
            const char *name = tok + 4;
            if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, "..") ||
                strlen(name) > 255) {
                rc = -EINVAL;
                goto out;
            }
            if ((rc = set_str(&a->ctl, name)) < 0)
                goto out;
            continue;
        }
        if (!strcmp(tok, "allow_other"))
            a->allow_other = 1;
        if (!strcmp(tok, "default_permissions"))
            a->default_permissions = 1;
        if (*out)
            strcat(out, ",");
        strcat(out, tok);
    }
    if (a->allow_other && !a->default_permissions) {
        strcat(out, *out ? ",default_permissions" : "default_permissions");
        a->default_permissions = 1;
    }
    free(a->fuse_opts);
    a->fuse_opts = out;
    out = NULL;
out:
    free(copy);
    free(out);
    return rc;
}

/* Tell the waiting parent how the start went (0 = mounted), once. */
static void notify_parent(int *fd, unsigned char status)
{
    if (*fd < 0)
        return;
    if (write(*fd, &status, 1) != 1) {
        /* the parent is gone; nothing to tell */
    }
    close(*fd);
    *fd = -1;
}

/*
 * Tell a service manager that the mount serves (systemd's Type=notify protocol: a datagram
 * "READY=1" to the socket $NOTIFY_SOCKET names; "@" starts an abstract name).  Nothing
 * when no manager asked.
 */
static void notify_ready(void)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len;
    int fd;

    if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
        return;
    memcpy(sa.sun_path, path, strlen(path));
    if (path[0] == '@')
        sa.sun_path[0] = '\0';
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return;
    if (sendto(fd, "READY=1", 7, MSG_NOSIGNAL, (struct sockaddr *)&sa, len) < 0) {
        /* the manager went away: nothing to tell */
    }
    close(fd);
}

/* Fork; the parent waits for the child's word and exits with it. */
static int daemonize_start(int *ret_fd)
{
    int p[2];
    pid_t pid;

    if (pipe(p) < 0)
        return -errno;
    pid = fork();
    if (pid < 0)
        return -errno;
    if (pid > 0) {
        unsigned char status = EXIT_FAIL;
        close(p[1]);
        while (read(p[0], &status, 1) < 0 && errno == EINTR)
            ;
        _exit(status);
    }
    close(p[0]);
    setsid();
    *ret_fd = p[1];
    return 0;
}

static void daemonize_finish(int *fd)
{
    int nul = open("/dev/null", O_RDWR | O_CLOEXEC);

    if (chdir("/") < 0) {
        /* not fatal: every path in use is held by a descriptor */
    }
    notify_parent(fd, 0);
    if (nul >= 0) {
        dup2(nul, STDIN_FILENO);
        dup2(nul, STDOUT_FILENO);
        dup2(nul, STDERR_FILENO);
        close(nul);
    }
}

static int parse_args(int argc, char **argv, struct mount_args *a)
{
    static const struct option longopts[] = {
        {"state", required_argument, NULL, 's'},
        {"user", required_argument, NULL, 'u'},
        {"address", required_argument, NULL, 'a'},
        {"foreground", no_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {"fresh-state", no_argument, NULL, 'F'},
        {"user-map", required_argument, NULL, 'M'},
        {"address-template", required_argument, NULL, 'T'},
        {"log", required_argument, NULL, 'L'},
        {"cluster", required_argument, NULL, 'C'},
        {"host", required_argument, NULL, 'H'},
        {0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "fo:h", longopts, NULL)) != -1) {
        switch (c) {
        case 'f':
            a->foreground = 1;
            break;
        case 'F':
            a->fresh_state = 1;
            break;
        case 's':
            a->state = optarg;
            break;
        case 'u':
            a->user = optarg;
            break;
        case 'a':
            a->address = optarg;
            break;
        case 'M':
        case 'T':
        case 'L':
        case 'C':
        case 'H':
            if (set_str(c == 'M'   ? &a->user_map
                        : c == 'T' ? &a->address_template
                        : c == 'C' ? &a->cluster
                        : c == 'H' ? &a->host
                                   : &a->log,
                        optarg) < 0)
                return cli_usage(synopsis, "out of memory");
            break;
        case 'o': {
            /* applied once the settings are read: the defaults of mount.options go first */
            char *joined = NULL;
            if (asprintf(&joined, "%s%s%s", a->cli_opts ? a->cli_opts : "", a->cli_opts ? "," : "",
                         optarg) < 0)
                return cli_usage(synopsis, "out of memory");
            free(a->cli_opts);
            a->cli_opts = joined;
            break;
        }
        case 'h':
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK + 100;
        default:
            return cli_usage(synopsis, "unknown option");
        }
    }
    if (argc - optind != 2)
        return cli_usage(synopsis, "expected ROOT and MOUNTPOINT");
    if (a->host && !a->cluster)
        return cli_usage(synopsis, "--host (-o host=) needs --cluster (-o cluster=)");
    a->root = argv[optind];
    a->mountpoint = argv[optind + 1];
    return -1;
}

/*
 * Who signs the versions: the mounting user as --user and --address say (else as passwd
 * and the template say), every other caller as the user map or passwd says; who may commit
 * (-o commit_group).  Checked before anything is mounted: an exit status.
 */
static int mount_identities(const struct mount_args *a, struct mount *m, struct identity *me)
{
    struct ocfl_err err = {0};

    if (a->address && !a->user)
        return cli_usage(synopsis, "--address needs --user");
    if (a->address && !ocfl_is_uri(a->address))
        return cli_usage(synopsis,
                         "--address '%s' is not a URI (RFC 3986: a scheme and a colon, as in "
                         "mailto:name@example.org)",
                         a->address);
    if (a->user && !*a->user)
        return cli_usage(synopsis, "--user: a name is needed");
    if (a->address_template && identity_template_check(a->address_template, &err) < 0)
        return cli_usage(synopsis, "%s", err.msg);
    if (a->user_map && identity_map_load(a->user_map, &m->user_map, &err) < 0) {
        cli_error("mount: %s", err.msg);
        return EXIT_FAIL;
    }
    if (a->commit_group) {
        struct group *g = getgrnam(a->commit_group);
        if (!g) {
            cli_error("mount: commit_group '%s': no such group", a->commit_group);
            return EXIT_FAIL;
        }
        m->commit_group = a->commit_group;
        m->commit_gid = g->gr_gid;
    }
    m->address_template = a->address_template;
    m->named_users = a->named_users;
    m->shared = a->allow_other;
    if (a->user) {
        m->user_name = a->user;
        m->user_address = a->address;
    } else if (identity_of(m->user_map, a->address_template, m->uid, me, &err) == 0) {
        m->user_name = me->name;
        m->user_address = me->address;
    } else {
        cli_error("mount: %s", err.msg);
        return EXIT_FAIL;
    }
    return EXIT_OK;
}

/* The takeover thread's lines, into the mount's log. */
static void takeover_log(void *ctx, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    mount_log(ctx, "%s", buf);
}

/* Everything after the fork: returns the exit status. */
static int run(struct mount_args *a, int *notify_fd)
{
    struct mount m = {.ctl_name = a->ctl ? a->ctl : ".ocfl",
                      .foreground = a->foreground,
                      .cdir_fd = -1,
                      .log_fd = -1};
    struct ocfl_err err = {0};
    struct fuse_session *se = NULL;
    struct fuse_loop_config *cfg = NULL;
    struct fuse_args fargs = FUSE_ARGS_INIT(0, NULL);
    char *state = NULL, *opts = NULL, *root_abs = NULL, *host_state = NULL;
    struct cluster_takeover *takeover = NULL;
    struct identity me = {0};
    int status = EXIT_FAIL, rc, mounted = 0, lock_ok = 0, started = 0;
    struct web *web = NULL;

    m.passthrough_off = a->nopassthrough;
    m.write_passthrough = a->write_passthrough;
    m.uid = getuid();
    m.gid = getgid();
    if ((rc = mount_identities(a, &m, &me)) != EXIT_OK)
        return rc;
    clock_gettime(CLOCK_REALTIME, &m.started);
    m.ttl_committed = TTL_COMMITTED;
    m.ttl_head = TTL_HEAD;
    m.refresh_age = a->refresh >= 0 ? a->refresh : REFRESH_AGE;
    if (!a->foreground)
        openlog("ocflfs", LOG_PID, LOG_DAEMON);
    if (pthread_mutex_init(&m.lock, NULL) != 0)
        return EXIT_FAIL;
    lock_ok = 1;
    if (mount_objects_init(&m.objs, a->cache ? (size_t)a->cache : CACHE_OBJECTS, CACHE_WEIGHT) <
            0 ||
        mount_nodes_init(&m.nodes, IDLE_NODES) < 0) {
        cli_error("mount: out of memory");
        goto out;
    }
    /* the root directory is inode 1 */
    if (!mount_node_get(&m.nodes, MK_ROOT, NULL, 0, "")) {
        cli_error("mount: out of memory");
        goto out;
    }

    /* absolute paths: the daemon leaves its working directory */
    root_abs = realpath(a->root, NULL);
    if (!root_abs) {
        cli_error("cannot open '%s': %s", a->root, strerror(errno));
        goto out;
    }
    rc = ocfl_root_open(root_abs, &m.root, &err);
    if (rc < 0) {
        cli_fail(&err);
        goto out;
    }
    if (a->state && a->state[0] != '/') {
        char *cwd = getcwd(NULL, 0);
        if (!cwd || asprintf(&state, "%s/%s", cwd, a->state) < 0)
            state = NULL;
        free(cwd);
        if (!state) {
            cli_error("mount: out of memory");
            goto out;
        }
    } else if (a->state) {
        state = strdup(a->state);
        if (!state) {
            cli_error("mount: out of memory");
            goto out;
        }
    }
    /* cluster mode: joined after the fork (libpq's connections and the heartbeat thread do
     * not cross it); the state dir is this host's, under the root, unless --state (then
     * that one, absolute, is what the others read in ocflfs_hosts) */
    if (a->cluster) {
        rc =
            cluster_hooks_join(a->cluster, a->host, root_abs, state, &m.cluster, &host_state, &err);
        if (rc < 0) {
            cli_error("mount '%s': %s", a->root, err.msg);
            goto out;
        }
    }
    if (state) {
        /* given: host_state is a copy of it */
    } else if (host_state) {
        state = host_state;
        host_state = NULL;
    } else if (asprintf(&state, "%s/extensions/ocflfs", root_abs) < 0) {
        state = NULL;
    }
    if (!state) {
        cli_error("mount: out of memory");
        goto out;
    }
    /* the log: --log FILE; daemonized where no syslog socket listens, a file in the state
     * dir, so that no message is lost */
    if (a->log || (!a->foreground && access("/dev/log", W_OK) < 0)) {
        char *lp = NULL;
        if (!a->log)
            mkdir(state, 0700); /* the journal makes it below anyway; EEXIST is fine */
        if (a->log ? !(lp = strdup(a->log)) : asprintf(&lp, "%s/ocflfs.log", state) < 0)
            lp = NULL;
        m.log_fd = lp ? open(lp, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600) : -1;
        if (m.log_fd < 0) {
            cli_error("mount: cannot open the log '%s': %s", lp ? lp : "?", strerror(errno));
            free(lp);
            goto out;
        }
        free(lp);
    }
    /* after the fork (SQLite must not cross it): the lock refuses a second daemon, and
     * names this one to it */
    char holder[PATH_MAX + 16], *mnt_abs = realpath(a->mountpoint, NULL);
    snprintf(holder, sizeof(holder), "mount on %s", mnt_abs ? mnt_abs : a->mountpoint);
    free(mnt_abs);
    struct journal_options jo = {.root = root_abs,
                                 .holder = holder,
                                 .flags = (a->fresh_state ? JOURNAL_FRESH_STATE : 0) |
                                          (m.cluster ? JOURNAL_CLUSTER : 0)};
    struct journal_retry retry[JOURNAL_RETRY_KIND_COUNT];
    cli_settings_journal(a->settings, retry, &jo);
    rc = journal_open(state, &jo, &m.journal, &err);
    if (rc < 0) {
        cli_error("mount '%s': %s", a->root, err.msg);
        goto out;
    }
    /* -o write_passthrough asks the kernel by a read lease whether anyone may still write a
     * staged file: without leases in the state directory every commit would copy every file.
     * A lease broken by an opener signals SIGIO to its holder, whom it would kill. */
    if (a->write_passthrough && staging_leases_work(m.journal, &err) < 0) {
        cli_error("mount '%s': -o write_passthrough: %s", a->root, err.msg);
        rc = -EOPNOTSUPP;
        goto out;
    }
    if (a->write_passthrough)
        signal(SIGIO, SIG_IGN);
    if (m.cluster) {
        cluster_hooks_attach(m.cluster, m.journal);
        if (cluster_taken_by(m.cluster))
            mount_log(&m,
                      "cluster: host '%s' was taken over by host '%s' while it was away: its "
                      "unfinished plans were finished or reverted there (ocflfs plans --all "
                      "shows them)",
                      cluster_host(m.cluster), cluster_taken_by(m.cluster));
    }
    if (journal_orphaned(m.journal))
        mount_log(&m,
                  "the journal was lost: staged files set aside in '%s/%s', a new journal "
                  "started",
                  state, journal_orphaned(m.journal));
    staging_cache_open(m.journal); /* the index's statements are prepared once */
    rc = mount_objects_populate(&m, &err);
    if (rc < 0) {
        cli_error("mount '%s': %s", a->root, err.msg);
        goto out;
    }
    /* unfinished commits and staged changes are reconciled before serving */
    rc = mw_startup(&m, &err);
    if (rc < 0) {
        cli_error("mount '%s': %s", a->root, err.msg);
        goto out;
    }
    started = 1;
    /* the plans of hosts whose heartbeat stopped: finished or reverted here */
    if (m.cluster &&
        !(takeover = cluster_hooks_takeover_start(m.cluster, m.root, root_abs, takeover_log, &m)))
        mount_log(&m, "cluster: cannot start the takeover thread: no takeover from here");

    if (asprintf(&opts, "fsname=ocflfs,subtype=ocflfs,max_read=1048576%s%s",
                 a->fuse_opts && *a->fuse_opts ? "," : "", a->fuse_opts ? a->fuse_opts : "") < 0) {
        opts = NULL;
        cli_error("mount: out of memory");
        goto out;
    }
    if (fuse_opt_add_arg(&fargs, "ocflfs") || fuse_opt_add_arg(&fargs, "-o") ||
        fuse_opt_add_arg(&fargs, opts)) {
        cli_error("mount: out of memory");
        goto out;
    }
    mount_write_ops_init();
    se = fuse_session_new(&fargs, &mount_write_ops, sizeof(mount_write_ops), &m);
    m.session = se;
    if (!se) {
        cli_error("mount '%s': bad FUSE options '%s'", a->mountpoint, opts);
        goto out;
    }
    if (fuse_set_signal_handlers(se) != 0) {
        cli_error("mount: cannot install signal handlers");
        goto out;
    }
    if (fuse_session_mount(se, a->mountpoint) != 0) {
        cli_error("cannot mount on '%s'", a->mountpoint);
        goto out;
    }
    mounted = 1;
    /* a list from the index is brought up to date while serving */
    pthread_mutex_lock(&m.lock);
    mount_objects_refresh_async(&m, m.refresh_age);
    pthread_mutex_unlock(&m.lock);
    /* -o http=ADDR: the web view, started after the fork (its threads and its read-only
     * journal connections must not cross it); a failure stops the mount while the user
     * still waits for it */
    if (a->http) {
        struct web_options wo = {.root = root_abs, .state_dir = state, .listen = a->http};
        if (web_start(&wo, &web, &err) < 0) {
            cli_error("mount '%s': -o http: %s", a->root, err.msg);
            goto out;
        }
        /* said once on stderr in both modes (the parent still waits, the terminal is
         * still ours), and in the log too when that is not stderr */
        fprintf(stderr, "ocflfs: web view of '%s' at %s (read-only)\n", root_abs, web_url(web));
        if (web_is_remote(web))
            fprintf(stderr, "ocflfs: note: %s is reachable from other hosts, without a password\n",
                    web_url(web));
        if (m.log_fd >= 0 || !a->foreground) {
            mount_log(&m, "web view of '%s' at %s (read-only)", root_abs, web_url(web));
            if (web_is_remote(web))
                mount_log(&m, "note: %s is reachable from other hosts, without a password",
                          web_url(web));
        }
    }
    /* other hosts' switches, heard once the session serves */
    if (m.cluster && cluster_listen(m.cluster, mw_cluster_notice, &m, &err) < 0)
        mount_log(&m, "%s: other hosts' new versions show when an object is looked at again",
                  err.msg);
    if (!a->foreground)
        daemonize_finish(notify_fd);
    notify_ready();

    cfg = fuse_loop_cfg_create();
    if (!cfg) {
        mount_log(&m, "out of memory");
        goto out;
    }
    fuse_loop_cfg_set_max_threads(cfg, 16);
    fuse_loop_cfg_set_idle_threads(cfg, 4);
    rc = fuse_session_loop_mt(se, cfg);
    status = rc >= 0 ? EXIT_OK : EXIT_FAIL; /* a signal ends the loop with its number */
    if (m.cluster)
        cluster_close_listener(m.cluster); /* no notice after this: the session goes */
    mw_invalidations_wait();               /* they use the session */
out:
    web_stop(web); /* before the journal goes: it reads it */
    /* Staged changes are flushed at unmount, and their sizes then trusted by the next mount;
     * only after a start whose check of them ran (else its damage would be blessed). */
    cluster_hooks_takeover_stop(takeover); /* before the journal and the root go */
    if (started && staging_close_clean(m.journal, &err) < 0)
        mount_log(&m, "unmount: %s", err.msg);
    mount_objects_stop_refresh(&m);
    if (se) {
        if (mounted)
            fuse_session_unmount(se);
        fuse_remove_signal_handlers(se);
        fuse_session_destroy(se);
    }
    fuse_loop_cfg_destroy(cfg);
    fuse_opt_free_args(&fargs);
    mw_release_all(&m);
    mount_objects_release(&m.objs);
    mount_nodes_release(&m.nodes);
    if (m.cdir_fd >= 0)
        close(m.cdir_fd);
    if (m.log_fd >= 0)
        close(m.log_fd);
    free(m.cdir_path);
    staging_ids_free(m.kept_ids, m.n_kept_ids);
    identity_map_free(m.user_map);
    identity_release(&me);
    staging_cache_close(m.journal); /* no staging call runs any more (hashers joined) */
    journal_close(m.journal);
    cluster_close(m.cluster); /* gives back the leases: after the journal's last plan */
    ocfl_root_close(m.root);
    free(state);
    free(host_state);
    free(opts);
    free(root_abs);
    if (lock_ok)
        pthread_mutex_destroy(&m.lock);
    notify_parent(notify_fd, (unsigned char)status);
    return status;
}

/* Whether @path (absolute, resolved) is a mount point already, by /proc/self/mountinfo. */
static int is_mounted(const char *path, char *fstype, size_t size)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[8192];
    int found = 0;

    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER */
        char mp[4096], *p = line, *dash;
        int field = 0;
        size_t k = 0;
        for (; *p && field < 4; p++)
            if (*p == ' ')
                field++;
        for (; *p && *p != ' ' && k + 1 < sizeof(mp); p++) { /* octal escapes: \040 */
            if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] && p[3]) {
                mp[k++] = (char)(((p[1] - '0') << 6) | ((p[2] - '0') << 3) | (p[3] - '0'));
                p += 3;
            } else {
                mp[k++] = *p;
            }
        }
        mp[k] = '\0';
        if (strcmp(mp, path))
            continue;
        found = 1;
        if ((dash = strstr(p, " - ")))
            sscanf(dash + 3, "%63s", fstype);
        (void)size;
    }
    fclose(f);
    return found;
}

/*
 * The mount point must be an empty directory nothing is mounted on (-o nonempty allows
 * one with files, which the mount then hides): else a clear error, before anything starts.
 */
static int check_mountpoint(const struct mount_args *a)
{
    char *abs = realpath(a->mountpoint, NULL), fstype[64] = "?";
    struct stat st;
    int rc = EXIT_OK;

    if (!abs || stat(abs, &st) < 0) {
        cli_error("mount point '%s': %s", a->mountpoint, strerror(errno));
        rc = EXIT_FAIL;
    } else if (!S_ISDIR(st.st_mode)) {
        cli_error("mount point '%s' is not a directory", a->mountpoint);
        rc = EXIT_FAIL;
    } else if (is_mounted(abs, fstype, sizeof(fstype))) {
        cli_error("mount point '%s' is already a mount point (%s): unmount it first", a->mountpoint,
                  fstype);
        rc = EXIT_FAIL;
    } else if (!a->nonempty) {
        DIR *d = opendir(abs);
        struct dirent *e;
        while (d && (e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                cli_error("mount point '%s' is not empty ('%s' and maybe more would be hidden "
                          "while mounted; -o nonempty mounts over them)",
                          a->mountpoint, e->d_name);
                rc = EXIT_FAIL;
                break;
            }
        if (d)
            closedir(d);
    }
    free(abs);
    return rc;
}

#define BAD_OPTS                                                                                   \
    "bad option list (ctl=NAME must be a name, refresh=SECONDS and cache=OBJECTS numbers; "        \
    "user_map, address_template and commit_group need a value)"

/* Whether the -o list @opts has an option with a backslash (refused: see split_opts); its
 * length into *@len, itself returned. */
static const char *backslash_opt(const char *opts, int *len)
{
    for (const char *o = opts; o && *o;) {
        size_t n = strcspn(o, ",");
        if (memchr(o, '\\', n)) {
            *len = (int)n;
            return o;
        }
        o += n + (o[n] == ',');
    }
    return NULL;
}

/*
 * The settings, then what they give: mount.options (before the command line's -o, which
 * override them), the signing user when neither --user nor committer= says, the address
 * template.  The root's file is found by --state or -o state= when given.  An exit status.
 */
static int apply_settings(struct mount_args *a)
{
    struct ocfl_err err = {0};
    const char *where, *v, *state = a->state;
    char *st = NULL;

    /* -o state=DIR is needed first: the root's settings are in its state directory */
    for (const char *o = a->cli_opts; o && *o;) {
        size_t len = strcspn(o, ",");
        if (len > 6 && !strncmp(o, "state=", 6)) {
            free(st);
            st = strndup(o + 6, len - 6);
            state = st;
        }
        o += len + (o[len] == ',');
    }
    int r = cli_settings_load(a->root, state, &a->settings, &err);
    free(st);
    if (r < 0)
        return cli_fail(&err);
    /* what the command line's options said stays: mount.options only fills in */
    char *kept[] = {a->user_map, a->address_template, a->log};
    char **slots[] = {&a->user_map, &a->address_template, &a->log};
    const char *user = a->user, *address = a->address, *state_arg = a->state;
    for (size_t i = 0; i < 3; i++)
        *slots[i] = NULL;
    v = ocfl_settings_get(a->settings, "mount.options", NULL, &where);
    r = *v ? split_opts(v, a) : 0;
    for (size_t i = 0; i < 3; i++)
        if (kept[i]) {
            free(*slots[i]);
            *slots[i] = kept[i];
        }
    if (user) {
        a->user = user;
        a->address = address;
    }
    if (state_arg)
        a->state = state_arg;
    if (r < 0) {
        cli_error("mount: mount.options '%s' (%s): %s", v, where, BAD_OPTS);
        return EXIT_USAGE;
    }
    int blen = 0;
    const char *bad = backslash_opt(a->cli_opts, &blen);
    if (bad)
        return cli_usage(synopsis, "-o option '%.*s': a backslash is refused", blen, bad);
    if (a->cli_opts && split_opts(a->cli_opts, a) < 0)
        return cli_usage(synopsis, "-o %s: %s", a->cli_opts, BAD_OPTS);
    cli_settings_identity(a->settings, &a->user, &a->address);
    v = ocfl_settings_get(a->settings, "mount.address_template", NULL, NULL);
    if (!a->address_template && *v && set_str(&a->address_template, v) < 0) {
        cli_error("mount: out of memory");
        return EXIT_FAIL;
    }
    mw_hash_set_threads(ocfl_settings_count(a->settings, "threads.hashing"));
    return EXIT_OK;
}

static void free_args(struct mount_args *a)
{
    free(a->cli_opts);
    ocfl_settings_free(a->settings);
    free(a->fuse_opts);
    free(a->ctl);
    free(a->user_map);
    free(a->address_template);
    free(a->commit_group);
    free(a->user_opt);
    free(a->address_opt);
    free(a->state_opt);
    free(a->log);
    free(a->http);
    free(a->cluster);
    free(a->host);
}

int cmd_mount(int argc, char **argv)
{
    struct mount_args a = {.refresh = -1};
    struct mount probe = {.uid = getuid(), .gid = getgid()};
    struct identity me = {0};
    int notify_fd = -1, rc;

    rc = parse_args(argc, argv, &a);
    if (rc >= 0) {
        free_args(&a);
        return rc >= 100 ? rc - 100 : rc;
    }
    if ((rc = apply_settings(&a)) != EXIT_OK) {
        free_args(&a);
        return rc;
    }
    /* identities and the group checked here, before the fork: their errors are the user's */
    rc = mount_identities(&a, &probe, &me);
    identity_map_free(probe.user_map);
    identity_release(&me);
    if (rc == EXIT_OK)
        rc = check_mountpoint(&a);
    if (rc != EXIT_OK) {
        free_args(&a);
        return rc;
    }
    if (!a.foreground && daemonize_start(&notify_fd) < 0) {
        cli_error("mount: cannot start the daemon: %s", strerror(errno));
        rc = EXIT_FAIL;
    } else {
        rc = run(&a, &notify_fd);
    }
    free_args(&a);
    return rc;
}
