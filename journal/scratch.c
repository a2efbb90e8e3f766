/* scratch.c: collect what killed processes left in the scratch area. */
#include "journal_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io.h"

/* Whether an unfinished plan has a step whose source is scratch/NAME or below it, or has
 * scratch/NAME as its inventory file (or, for a root copy "inventory-D.root.json", has
 * "inventory-D.json"). */
static int referenced(struct journal *j, const char *name, int *ret)
{
    static const char sql[] =
        "SELECT 1 FROM steps s JOIN plans p ON p.id = s.plan_id"
        " WHERE p.state IN ('pending', 'running', 'reverting')"
        " AND (s.source = ?1 OR substr(s.source, 1, length(?1) + 1) = ?1 || '/')"
        " UNION ALL SELECT 1 FROM plans WHERE inventory_file = ?2"
        " AND state IN ('pending', 'running', 'reverting') LIMIT 1";
    static const char root_suffix[] = ".root.json";
    size_t n = strlen(name), k = sizeof(root_suffix) - 1;
    sqlite3_stmt *st;
    char path[600], record[600];
    int rc;

    if (snprintf(path, sizeof(path), "scratch/%s", name) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    if (n > k && !strcmp(name + n - k, root_suffix))
        snprintf(record, sizeof(record), "scratch/%.*s.json", (int)(n - k), name);
    else
        memcpy(record, path, sizeof(record));
    pthread_mutex_lock(&j->mu);
    rc = sqlite3_prepare_v2(j->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK) {
        sqlite3_bind_text(st, 1, path, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(st, 2, record, -1, SQLITE_TRANSIENT);
        rc = sqlite3_step(st);
        *ret = rc == SQLITE_ROW;
        if (rc == SQLITE_ROW)
            rc = SQLITE_DONE;
    }
    sqlite3_finalize(st);
    pthread_mutex_unlock(&j->mu);
    return rc == SQLITE_DONE ? 0 : -EIO;
}

int journal_scratch_gc(struct journal *j, const char *prefix, struct ocfl_err *err)
{
    int fd = openat(j->state_fd, "scratch", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    size_t plen = strlen(prefix);
    struct dirent *e;
    DIR *d;
    int n = 0, r = 0;

    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : ocfl_err_sys(err, -errno, "cannot open '%s/scratch'", j->state_dir);
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return ocfl_err_sys(err, -errno, "cannot read '%s/scratch'", j->state_dir);
    }
    while (r == 0 && (e = readdir(d))) {
        int used = 1;
        if (strncmp(e->d_name, prefix, plen) || !strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
            continue;
        r = referenced(j, e->d_name, &used);
        if (r < 0)
            r = ocfl_err_set(err, r, "journal: cannot check '%s'", e->d_name);
        else if (!used && (r = ocfl_io_remove_tree(dirfd(d), e->d_name, err)) == 0)
            n++;
    }
    closedir(d);
    return r < 0 ? r : n;
}
