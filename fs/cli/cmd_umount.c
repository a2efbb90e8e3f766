/* cmd_umount.c: `ocflfs umount MOUNTPOINT`: wait for running commits, then unmount. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cli_util.h"
#include "commands.h"

static const char synopsis[] = "umount MOUNTPOINT [--ctl NAME] [--timeout SECONDS]";

/* Whether @path is mounted, and with fuse.ocflfs (1), another type (2), or not at all (0). */
static int mount_type(const char *path)
{
    FILE *f = fopen("/proc/self/mounts", "re");
    char dev[4096], mp[4096], type[256];
    int found = 0;

    if (!f)
        return 0;
    while (!found && fscanf(f, "%4095s %4095s %255s %*[^\n]", dev, mp, type) == 3)
        if (!strcmp(mp, path)) /* paths without blanks: those with are escaped (\040) */
            found = !strcmp(type, "fuse.ocflfs") ? 1 : 2;
    fclose(f);
    return found;
}

/* Plans of the mount that are running now (its root's status), or -1 when unreadable; the
 * daemon's pid into *pid. */
static int running_plans(const char *mnt, const char *ctl, pid_t *pid)
{
    char path[PATH_MAX];
    json_t *j, *plans, *p;
    size_t i;
    int n = 0;

    snprintf(path, sizeof(path), "%s/%s/status", mnt, ctl);
    if (!(j = json_load_file(path, 0, NULL)))
        return -1;
    plans = json_object_get(j, "plans");
    if (json_is_integer(json_object_get(j, "pid")))
        *pid = (pid_t)json_integer_value(json_object_get(j, "pid"));
    json_array_foreach(plans, i, p)
    {
        const char *st = json_string_value(json_object_get(p, "state"));
        n += st && (!strcmp(st, "running") || !strcmp(st, "pending"));
    }
    json_decref(j);
    return n;
}

/* Whether process @pid still runs (a zombie, exited but not reaped, does not). */
static int alive(pid_t pid)
{
    char path[64], buf[512], *paren;
    FILE *f;
    size_t n;

    snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
    if (!(f = fopen(path, "re")))
        return kill(pid, 0) == 0;
    n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    paren = strrchr(buf, ')'); /* "PID (COMM) STATE ..." */
    return !(paren && paren[1] == ' ' && (paren[2] == 'Z' || paren[2] == 'X'));
}

static int unmount(const char *mnt)
{
    pid_t pid;
    int status;

    if (geteuid() == 0)
        return umount2(mnt, 0) == 0 ? 0 : -errno;
    pid = fork(); /* a user's mount: the setuid helper unmounts it */
    if (pid < 0)
        return -errno;
    if (pid == 0) {
        execlp("fusermount3", "fusermount3", "-u", mnt, (char *)NULL);
        _exit(127);
    }
    if (waitpid(pid, &status, 0) < 0)
        return -errno;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -EBUSY;
}

int cmd_umount(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"ctl", required_argument, NULL, 'c'},
        {"timeout", required_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *ctl = ".ocfl";
    double timeout = -1, waited = 0;
    char *mnt;
    int c, r, n;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'c') {
            ctl = optarg;
        } else if (c == 't') {
            char *end;
            timeout = strtod(optarg, &end);
            if (end == optarg || *end || timeout < 0)
                return cli_usage(synopsis, "umount: --timeout takes seconds");
        } else if (c == 'h') {
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK;
        } else {
            return cli_usage(synopsis, "umount: bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage(synopsis, "umount: expected MOUNTPOINT");
    if (!(mnt = realpath(argv[optind], NULL))) {
        cli_error("umount '%s': %s", argv[optind], strerror(errno));
        return EXIT_FAIL;
    }
    if ((r = mount_type(mnt)) != 1) {
        cli_error("umount '%s': %s", mnt, r ? "not an ocflfs mount" : "not mounted");
        free(mnt);
        return EXIT_FAIL;
    }
    /* a running commit finishes first: it returns once its version is durable */
    pid_t pid = 0;
    while ((n = running_plans(mnt, ctl, &pid)) > 0) {
        struct timespec ts = {.tv_nsec = 200 * 1000000L};
        if (timeout >= 0 && waited >= timeout) {
            cli_error("umount '%s': %d commit(s) still running after %.0f s", mnt, n, waited);
            free(mnt);
            return EXIT_FAIL;
        }
        if (waited == 0)
            fprintf(stderr, "ocflfs: umount '%s': waiting for %d running commit(s)\n", mnt, n);
        nanosleep(&ts, NULL);
        waited += 0.2;
    }
    /* busy: a request (a commit not yet recorded) is on its way in; wait for it as for one
     * running, then try again (as long as --timeout allows, 60 s without) */
    while ((r = unmount(mnt)) == -EBUSY && waited < (timeout >= 0 ? timeout : 60)) {
        struct timespec ts = {.tv_nsec = 200 * 1000000L};
        nanosleep(&ts, NULL);
        waited += 0.2;
        while (running_plans(mnt, ctl, &pid) > 0 && (timeout < 0 || waited < timeout)) {
            nanosleep(&ts, NULL);
            waited += 0.2;
        }
    }
    if (r < 0)
        cli_error("umount '%s': %s", mnt, strerror(-r));
    /* and until the daemon is gone: its locks are free for the next command (60 s at most) */
    for (int i = 0; r == 0 && pid > 0 && i < 600 && alive(pid); i++) {
        struct timespec ts = {.tv_nsec = 100 * 1000000L};
        nanosleep(&ts, NULL);
    }
    free(mnt);
    return r < 0 ? EXIT_FAIL : EXIT_OK;
}
