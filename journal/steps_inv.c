/* steps_inv.c: a plan's inventory bytes for its steps: read from the record and checked, or
 * the record hard-linked as the version inventory and the root copy renamed into place. */
#include "run_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest.h"
#include "io.h"
#include "inventory.h"

/* Read @name (a plan's inventory file) into p->inventory and check it against the digest the
 * plan recorded: a plan never writes bytes other than those it was made with. */
int run_read_inventory(struct journal *j, struct rplan *p, const char *name, struct ocfl_err *err)
{
    enum ocfl_digest_alg alg = ocfl_digest_alg_from_name(p->alg);
    char hex[OCFL_DIGEST_HEX_MAX], *buf = NULL;
    struct ocfl_hasher *h = NULL;
    struct stat before, after;
    size_t len = 0;
    int r, stat_ok;

    stat_ok = fstatat(j->state_fd, name, &before, AT_SYMLINK_NOFOLLOW) == 0;
    r = ocfl_io_read_file(j->state_fd, name, OCFL_INVENTORY_MAX_BYTES, &buf, &len, err);
    /* the file as it was read, unchanged meanwhile: what the version inventory may link */
    stat_ok = stat_ok && r == 0 && fstatat(j->state_fd, name, &after, AT_SYMLINK_NOFOLLOW) == 0 &&
              jdb_same_file(&before, &after);
    if (r < 0) {
        ocfl_err_prefix(err, "plan %lld: its inventory", (long long)p->id);
        return r;
    }
    r = ocfl_hasher_new(1u << alg, &h, err);
    if (r == 0) {
        ocfl_hasher_update(h, buf, len);
        r = ocfl_hasher_final(h, alg, hex);
        ocfl_hasher_free(h);
        if (r < 0)
            ocfl_err_set(err, r, "plan %lld: cannot digest its inventory", (long long)p->id);
    }
    if (r == 0 && !ocfl_digest_equal(hex, p->inventory_digest))
        r = ocfl_err_set(err, -EIO, "plan %lld: '%s/%s' does not hold the plan's inventory",
                         (long long)p->id, j->state_dir, name);
    if (r < 0) {
        free(buf);
        return r;
    }
    free(p->inventory);
    p->inventory = buf;
    p->inventory_len = len;
    p->inv_checked = stat_ok;
    if (stat_ok)
        p->inv_st = before;
    return 0;
}

int run_inventory(struct run *run, struct ocfl_err *err)
{
    struct rplan *p = run->p;

    if (p->inventory_lost.code) {
        if (err)
            *err = p->inventory_lost;
        return p->inventory_lost.code;
    }
    if (p->inventory)
        return 0;
    if (!p->inv_file)
        return ocfl_err_set(err, -EIO, "plan %lld has no inventory", (long long)p->id);
    return run_read_inventory(run->j, p, p->inv_file, err);
}

/*
 * The record hard-linked as @vfd's inventory.json (made durable): 1 when that is done (or
 * was, before a crash), 0 when the bytes must be written instead (no checked record, the
 * record changed, another filesystem, a link refused, a wrong file there), or an error.
 */
int run_link_record(struct run *run, int vfd, struct ocfl_err *err)
{
    struct rplan *p = run->p;
    struct stat st, cur;
    char hex[OCFL_DIGEST_HEX_MAX];
    int r;

    if (!p->inv_file || !p->inv_checked)
        return 0;
    /* still the file that was checked (a link changes its ctime, so not that) */
    if (fstatat(run->j->state_fd, p->inv_file, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
        !S_ISREG(st.st_mode) || st.st_dev != p->inv_st.st_dev || st.st_ino != p->inv_st.st_ino ||
        st.st_size != p->inv_st.st_size || st.st_mtim.tv_sec != p->inv_st.st_mtim.tv_sec ||
        st.st_mtim.tv_nsec != p->inv_st.st_mtim.tv_nsec)
        return 0;
    if (linkat(run->j->state_fd, p->inv_file, vfd, "inventory.json", 0) < 0) {
        if (errno != EEXIST)
            return 0; /* EXDEV, EPERM, EMLINK...: write the bytes */
        /* linked before a crash, or written by a fallback: right when it holds the bytes */
        if (fstatat(vfd, "inventory.json", &cur, AT_SYMLINK_NOFOLLOW) < 0)
            return 0;
        if (cur.st_dev != st.st_dev || cur.st_ino != st.st_ino) {
            r = run_digest_at(vfd, "inventory.json", run->alg, hex, NULL);
            if (r < 0 || !ocfl_digest_equal(hex, p->inventory_digest))
                return 0; /* a wrong or partial file: the write replaces it */
        }
    }
    r = ocfl_io_fsync_dir(vfd, "", err);
    /* and the inode's new link count: on a file system without a journal, a directory's
     * fsync does not write it, and a later unlink of the record would then free the
     * inode the version still names */
    if (r == 0) {
        int fd = openat(vfd, "inventory.json", O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fsync(fd) < 0)
            r = ocfl_err_sys(err, -errno, "cannot flush '%s/inventory.json'", run->p->version);
        if (fd >= 0)
            close(fd);
    }
    return r < 0 ? r : 1;
}

/*
 * The root copy (written beside the record when the plan was recorded) renamed over the
 * object's inventory.json (made durable): 1 when done, 0 when the bytes must be written
 * instead (no copy, another filesystem), or an error.  A copy that this handle did not
 * write itself is digested first; one with other bytes is removed.
 */
int run_rename_root_copy(struct run *run, struct ocfl_err *err)
{
    struct journal *j = run->j;
    char name[JDB_INV_NAME_MAX], hex[OCFL_DIGEST_HEX_MAX];
    struct stat st;
    int r;

    if (!run->p->inv_file || jdb_inventory_root_name(run->p->inv_file, name, sizeof(name)) < 0 ||
        fstatat(j->state_fd, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
        return 0;
    if (!jdb_written_matches(j, &j->inv_root, name, NULL)) {
        r = run_digest_at(j->state_fd, name, run->alg, hex, NULL);
        if (r < 0 || !ocfl_digest_equal(hex, run->p->inventory_digest)) {
            ocfl_io_unlink(j->state_fd, name, NULL);
            return 0;
        }
    }
    if (ocfl_io_rename(j->state_fd, name, run->objfd, "inventory.json", NULL) < 0)
        return 0;
    jdb_written_forget(&j->inv_root);
    r = ocfl_io_fsync_dir(run->objfd, "", err);
    /* the name gone from scratch/ too: without a journal, a stale second name would let
     * a later collection of scratch/ unlink the root inventory's inode */
    if (r == 0)
        r = ocfl_io_fsync_dir(j->state_fd, "scratch", err);
    return r < 0 ? r : 1;
}
