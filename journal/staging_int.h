/* staging_int.h: what the staging files share inside libjournal (not a public contract). */
#ifndef OCFLFS_STAGING_INT_H
#define OCFLFS_STAGING_INT_H

#include "staging.h"

/* Row kinds in the staged table. */
enum { ROW_FILE = 1, ROW_WHITEOUT = 2, ROW_DIR = 3 };
/* synced_size of an empty directory a commit dropped (OCFL holds none): nothing of it is
 * kept when the commit ends (a directory made later at that path is not its heir). */
#define SX_DIR_DROPPED     (-1)
#define SX_DIR_DROPPED_SQL "-1"

struct srow {
    int kind;
    int64_t gen;
    char digest[OCFL_DIGEST_HEX_MAX]; /* "" = none */
    char scratch[64];                 /* "" = none */
    int64_t size, mode, mtime_ns;     /* -1 / 0 / 0 when unknown */
    int64_t atime_ns, ctime_ns;       /* 0: as mtime_ns */
    int64_t owner, grp;               /* uid + 1 and gid + 1; 0: not set (the mount's default) */
    int64_t synced_size;              /* bytes of the scratch file proven on disk (0: none);
                                       * a directory's: SX_DIR_DROPPED when the frozen
                                       * generation's version holds no file under it */
    char damaged[160];                /* why the scratch data cannot be trusted, "" = sound */
};

/* The columns row_query reads into a struct srow, in order. */
#define SX_ROW_COLS                                                                                \
    "kind, gen, digest, scratch, size, mode, mtime_ns, synced_size, damaged, atime_ns, ctime_ns,"  \
    " owner, grp"

/*
 * Statements (staging_cache.c): like sqlite3_prepare_v2 / sqlite3_finalize,
 * but on the connection given to staging_cache_open the statement of a
 * literal @sql is prepared once and kept (sx_finalize resets it).  @sql
 * must be a string literal (matched by address).  sx_exec runs one
 * statement without rows: SQLITE_OK or the error code.
 */
int sx_prepare(sqlite3 *db, const char *sql, int nbyte, sqlite3_stmt **ret, const char **tail);
void sx_finalize(sqlite3_stmt *st);
int sx_exec(sqlite3 *db, const char *sql);

/* One operation's transaction on one object. */
struct sctx {
    struct journal *j;
    sqlite3 *db;
    const char *oid;
    const struct ocfl_version *head; /* NULL for a new object */
    int64_t gen, frozen;             /* current and frozen (0) generations */
    char **unlink_after;             /* scratch files to delete once committed */
    unsigned char *unlink_wait;      /* per file: held acknowledged bytes, wait for the WAL */
    size_t n_unlink;
    int relaxed;      /* began with synchronous=NORMAL: sx_end sets FULL again */
    int own_tx;       /* began by sx_begin (sx_end commits or rolls back), not attached */
    int seq_reserved; /* reserved scratch numbers (journal.seq_*): void if it rolls back */
    struct ocfl_err *err;
};

/*
 * Lock, BEGIN IMMEDIATE, read the object's generations (@oid must be valid).
 * The transaction commits with synchronous=NORMAL: in WAL mode a commit is
 * then written to the WAL (the page cache) but not fsynced, which survives
 * a crash of the process (SIGKILL) but not a power loss; staging_sync and
 * staging_sync_all (the user's fsync) and every FULL commit of the journal
 * on the same connection (a commit's freeze, the runner) fsync the WAL and
 * so make it durable.
 */
int sx_begin(struct sctx *c, struct journal *j, const char *oid, const struct ocfl_inventory *inv,
             struct ocfl_err *err);
/* Like sx_begin for a read-only transaction (BEGIN DEFERRED: no write lock, nothing to sync). */
int sx_begin_read(struct sctx *c, struct journal *j, const char *oid,
                  const struct ocfl_inventory *inv, struct ocfl_err *err);
/* COMMIT when @r >= 0 (then delete unlink_after), else ROLLBACK; unlock.  Returns @r or the
 * commit's error. */
int sx_end(struct sctx *c, int r);
/* Like sx_begin/sx_end for a caller that holds the lock and the transaction already. */
int sx_attach(struct sctx *c, struct journal *j, const char *oid, struct ocfl_err *err);

/* Fill c->err from the database's message about @what: -EBUSY or -EIO (staging_cache.c). */
int sx_sql_fail(struct sctx *c, int rc, const char *what);
/* Ensure the staged_objects row exists. */
int sx_ensure_object(struct sctx *c);

/* The row of the highest generation at @path: 1 found, 0 none, < 0 error. */
int sx_row_top(struct sctx *c, const char *path, struct srow *ret);
/* The row at @path of generation below the current one (the lower view's row). */
int sx_row_lower(struct sctx *c, const char *path, struct srow *ret);
/* Write @row at @path in the current generation (replacing that generation's row). */
int sx_row_put(struct sctx *c, const char *path, const struct srow *row);
/* Delete the current generation's row at @path. */
int sx_row_del(struct sctx *c, const char *path);
/* Remove @path from the view: whiteout when the head or a lower generation has it, else drop
 * the current row.  A superseded current scratch file is deleted after commit. */
int sx_remove(struct sctx *c, const char *path);
/* Queue a scratch file for deletion after commit. */
int sx_unlink_later(struct sctx *c, const char *scratch);

/* What @path is in the merged view. */
int sx_lookup(struct sctx *c, const char *path, struct staging_entry *ret);
/* Whether @path is a directory with live content (not counting an explicit row at @path). */
int sx_dir_has_content(struct sctx *c, const char *path);
/* The parent must be a directory of the view: 0, -ENOENT, -ENOTDIR. */
int sx_check_parent(struct sctx *c, const char *path);
/* Room for a new @path: its parent a directory, nothing there yet (-EEXIST). */
int sx_check_new(struct sctx *c, const char *path);
/* Check a logical path given by the glue: -EILSEQ (not UTF-8), -EINVAL. */
int sx_check_path(const char *path, struct ocfl_err *err);

/* Head state range [*lo, *hi) of paths under @dir ("" = all). */
void sx_head_range(const struct ocfl_version *head, const char *dir, size_t *lo, size_t *hi);

/*
 * Copy @in into the empty @out, up to @limit bytes (< 0: all): a reflink when the file system
 * can; else only the data ranges (SEEK_DATA/SEEK_HOLE), so that a sparse file stays sparse,
 * and the size set at the end.  0 or -errno (staging_write.c).
 */
int sx_copy_fd(int in, int out, int64_t limit);
/* A new scratch file: name into @name (32 bytes), O_RDWR fd returned. */
int sx_new_scratch(struct sctx *c, char name[64]);

/* Whether @s is a name sx_new_scratch() makes ("scratch/sK/fN", or the older "scratch/fN"):
 * names read back from the index are checked, so that no row leads outside scratch/.
 * (staging_scratch.c, with sx_sync_scratch_dirs and staging_scratch_count.) */
int sx_scratch_name_ok(const char *s);

/* Fill a public entry from a row. */
void sx_entry_from_row(const struct sctx *c, const struct srow *row, struct staging_entry *e);

/*
 * Attributes kept across commits (staging_kept.c).  sx_kept_get: the mode and times kept for
 * head entry @path into @e, when there are any and (for a file, @digest not NULL) they were
 * kept with that content.  sx_kept_put_top: the object's top directory's (it has no row;
 * < 0 leaves mode, atime or mtime as they are).  sx_kept_record: at the end of a commit,
 * what the frozen rows up to generation @frozen held, and nothing for removed paths.
 * sx_touch_parent: @path's directory changed its entries: its mtime and ctime are now.
 */
int sx_kept_get(struct sctx *c, const char *path, const char *digest, struct staging_entry *e);
int sx_kept_put_top(struct sctx *c, int64_t mode, int64_t atime_ns, int64_t mtime_ns,
                    int64_t ctime_ns, int64_t uid, int64_t gid);
int sx_kept_record(struct sctx *c, int64_t frozen);
int sx_touch_parent(struct sctx *c, const char *path);

/*
 * Durability (staging_durable.c).  sx_sync_wal: one FULL commit, which fsyncs the WAL and
 * with it every NORMAL commit before it; then the graveyard goes.  sx_sync_entry: fsync the
 * directory entry of scratch file @scratch (its sK/ and scratch/).  sx_sync_scratch_dirs:
 * scratch/ and every sK/ in it.  sx_sync_scratch_fd: fstat then fdatasync @fd (the scratch
 * file @scratch) and its entry; *ret_size gets the size now proven on disk.
 */
int sx_sync_wal(struct journal *j, struct ocfl_err *err);
int sx_sync_entry(struct journal *j, const char *scratch, struct ocfl_err *err);
int sx_sync_scratch_dirs(struct journal *j, struct ocfl_err *err);
int sx_sync_scratch_fd(struct journal *j, int fd, const char *scratch, int64_t *ret_size,
                       struct ocfl_err *err);
/* Whether a row names @scratch with acknowledged bytes (its deletion must wait). */
int sx_scratch_synced(struct sctx *c, const char *scratch);
/* Lower the acknowledged size of @scratch's rows to @size (before a truncate). */
int sx_lower_synced(struct sctx *c, const char *scratch, int64_t size);
/*
 * The graveyard: a scratch file whose row held acknowledged bytes is deleted only after the
 * WAL that removed the row is durable (else a power loss brings back the row without its
 * file: damage where the user only deleted).  sx_graveyard_add (lock held) takes @scratch
 * (malloc'd) and returns 1 when the graveyard is full; sx_graveyard_flush (lock not held)
 * deletes them, after a WAL sync unless @synced says one just happened.
 */
int sx_graveyard_add(struct journal *j, char *scratch);
int sx_graveyard_flush(struct journal *j, int synced);
/* The check of every scratch file at mount (staging_recover): returns how many are damaged. */
int sx_verify_scratch(struct journal *j, struct ocfl_err *err);

/* staging_state_compute inside the caller's transaction. */
int sx_compute(struct sctx *c, int64_t max_gen, struct staging_state *out);

#endif
