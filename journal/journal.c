/* journal.c: open the state directory: lock, SQLite connection, schema migrations. */
#include "journal_int.h"
#include "staging.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/fs.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

/*
 * Numbered migrations: migrations[n] brings a database from user_version n
 * to n + 1.  Never edit a released entry; append a new one.
 */
static const char *const migrations[] = {
    /* 0 -> 1: plans, their steps, the mount's object index */
    "CREATE TABLE plans ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  object_id TEXT NOT NULL,"
    "  object_path TEXT NOT NULL,"
    "  new_object INTEGER NOT NULL,"
    "  spec INTEGER NOT NULL,"
    "  base_digest TEXT,"
    "  inventory BLOB NOT NULL,"
    "  inventory_digest TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  digest_algorithm TEXT NOT NULL,"
    "  created TEXT NOT NULL,"
    "  message TEXT,"
    "  user_name TEXT,"
    "  user_address TEXT,"
    "  state TEXT NOT NULL,"
    "  last_error TEXT,"
    "  created_ns INTEGER NOT NULL,"
    "  started_ns INTEGER,"
    "  finished_ns INTEGER);"
    "CREATE INDEX plans_state ON plans(state);"
    "CREATE TABLE steps ("
    "  plan_id INTEGER NOT NULL REFERENCES plans(id) ON DELETE CASCADE,"
    "  idx INTEGER NOT NULL,"
    "  kind TEXT NOT NULL,"
    "  source TEXT,"
    "  dest TEXT,"
    "  digest TEXT,"
    "  size INTEGER NOT NULL DEFAULT 0,"
    "  state TEXT NOT NULL DEFAULT 'pending',"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT,"
    "  started_ns INTEGER,"
    "  finished_ns INTEGER,"
    "  bytes_done INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (plan_id, idx)) WITHOUT ROWID;"
    "CREATE TABLE objects ("
    "  id TEXT PRIMARY KEY,"
    "  path TEXT NOT NULL,"
    "  head TEXT,"
    "  inventory_digest TEXT,"
    "  mtime_ns INTEGER);",
    /* 1 -> 2: the staging index (journal/staging.h) */
    "CREATE TABLE staged_objects ("
    "  object_id TEXT PRIMARY KEY,"
    "  new_object INTEGER NOT NULL DEFAULT 0,"
    "  gen INTEGER NOT NULL DEFAULT 1,"
    "  frozen_gen INTEGER,"
    "  plan_id INTEGER) WITHOUT ROWID;"
    "CREATE TABLE staged ("
    "  object_id TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  gen INTEGER NOT NULL,"
    "  parent TEXT NOT NULL,"
    "  kind INTEGER NOT NULL,"
    "  digest TEXT,"
    "  scratch TEXT,"
    "  size INTEGER,"
    "  mode INTEGER,"
    "  mtime_ns INTEGER,"
    "  PRIMARY KEY (object_id, path, gen)) WITHOUT ROWID;"
    "CREATE INDEX staged_parent ON staged(object_id, parent, path);"
    "CREATE INDEX staged_scratch ON staged(scratch) WHERE scratch IS NOT NULL;"
    "CREATE TABLE staging_seq (id INTEGER PRIMARY KEY AUTOINCREMENT);",
    /* 2 -> 3: the inventory digest each object's staged changes were made on */
    "ALTER TABLE staged_objects ADD COLUMN base_digest TEXT;",
    /* 3 -> 4: a plan's inventory bytes in a scratch file rather than in the row */
    "ALTER TABLE plans ADD COLUMN inventory_file TEXT;",
    /* 4 -> 5: what a power loss cannot take back (staging_durable.c): the bytes of each
     * scratch file proven on disk, damage found at recovery, the clean-unmount flag */
    "ALTER TABLE staged ADD COLUMN synced_size INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE staged ADD COLUMN damaged TEXT;"
    "CREATE TABLE journal_flags (name TEXT PRIMARY KEY) WITHOUT ROWID;",
    /* 5 -> 6: access and change times of staged entries (0: as the mtime) */
    "ALTER TABLE staged ADD COLUMN atime_ns INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE staged ADD COLUMN ctime_ns INTEGER NOT NULL DEFAULT 0;",
    /* 6 -> 7: what OCFL does not version but the mount keeps across commits: the mode and
     * times of committed files (valid while the head holds the same digest there) and of
     * directories, the object's top ("") included (staging_kept.c) */
    "CREATE TABLE kept_attrs ("
    "  object_id TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  digest TEXT,"
    "  mode INTEGER NOT NULL DEFAULT 0,"
    "  mtime_ns INTEGER NOT NULL DEFAULT 0,"
    "  atime_ns INTEGER NOT NULL DEFAULT 0,"
    "  ctime_ns INTEGER NOT NULL DEFAULT 0,"
    "  PRIMARY KEY (object_id, path)) WITHOUT ROWID;",
    /* 7 -> 8: who owns a staged or kept entry: uid + 1 and gid + 1 (0: the mount's default) */
    "ALTER TABLE staged ADD COLUMN owner INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE staged ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE kept_attrs ADD COLUMN owner INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE kept_attrs ADD COLUMN grp INTEGER NOT NULL DEFAULT 0;",
    /* 8 -> 9: the retry policy a plan was recorded with (journal_retry_to_json) */
    "ALTER TABLE plans ADD COLUMN retry_policy TEXT;",
};

static uint64_t real_now_ns(void *ctx)
{
    struct timespec ts;

    (void)ctx;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void real_sleep_ns(void *ctx, uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / 1000000000u),
                          .tv_nsec = (long)(ns % 1000000000u)};

    (void)ctx;
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

uint64_t journal_now_ns(const struct journal *j)
{
    return j->clock.now_ns(j->clock.ctx);
}

/* What an extended SQLITE_IOERR code says the VFS was doing. */
static const char *ioerr_what(int ext)
{
    switch (ext) {
    case SQLITE_IOERR_READ:
    case SQLITE_IOERR_SHORT_READ:
        return "read";
    case SQLITE_IOERR_WRITE:
        return "write";
    case SQLITE_IOERR_FSYNC:
    case SQLITE_IOERR_DIR_FSYNC:
        return "fsync";
    case SQLITE_IOERR_TRUNCATE:
        return "truncate";
    case SQLITE_IOERR_FSTAT:
        return "fstat";
    case SQLITE_IOERR_LOCK:
    case SQLITE_IOERR_RDLOCK:
    case SQLITE_IOERR_UNLOCK:
    case SQLITE_IOERR_CHECKRESERVEDLOCK:
        return "lock";
    case SQLITE_IOERR_DELETE:
    case SQLITE_IOERR_DELETE_NOENT:
        return "delete";
    case SQLITE_IOERR_NOMEM:
        return "out of memory";
    case SQLITE_IOERR_ACCESS:
        return "access";
    case SQLITE_IOERR_CLOSE:
        return "close";
    case SQLITE_IOERR_SHMOPEN:
    case SQLITE_IOERR_SHMSIZE:
    case SQLITE_IOERR_SHMLOCK:
    case SQLITE_IOERR_SHMMAP:
        return "shared memory file";
    case SQLITE_IOERR_SEEK:
        return "seek";
    case SQLITE_IOERR_MMAP:
        return "mmap";
    case SQLITE_IOERR_CORRUPTFS:
        return "file system corrupt";
    default:
        return NULL;
    }
}

int jdb_errno(sqlite3 *db, int rc)
{
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    int sys = db ? sqlite3_system_errno(db) : 0;

    if ((ext & 0xff) != (rc & 0xff))
        ext = rc; /* the connection's last error is not this one */
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return -EBUSY;
    case SQLITE_NOMEM:
        return -ENOMEM;
    case SQLITE_FULL:
        return -ENOSPC;
    case SQLITE_READONLY:
        return -EROFS;
    case SQLITE_NOTADB:
        return -EMEDIUMTYPE;
    case SQLITE_CORRUPT:
        return -EBADMSG;
    case SQLITE_CANTOPEN:
        return sys > 0 ? -sys : -ENOENT;
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return -EACCES;
    case SQLITE_TOOBIG:
        return -EFBIG;
    case SQLITE_CONSTRAINT:
        return -EEXIST;
    case SQLITE_IOERR:
        if (ext == SQLITE_IOERR_NOMEM)
            return -ENOMEM;
        /* the OS said why: a write into a full disk is ENOSPC, not just "I/O error" */
        return sys > 0 ? -sys : -EIO;
    default:
        return -EIO;
    }
}

int jdb_fail(sqlite3 *db, int rc, const char *what, struct ocfl_err *err)
{
    int code = jdb_errno(db, rc);
    int ext = db ? sqlite3_extended_errcode(db) : rc;
    const char *file = db ? sqlite3_db_filename(db, "main") : NULL;
    const char *msg = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    const char *op =
        (rc & 0xff) == SQLITE_IOERR && (ext & 0xff) == SQLITE_IOERR ? ioerr_what(ext) : NULL;
    char name[PATH_MAX + 16];

    if (file && *file)
        snprintf(name, sizeof(name), "journal '%s'", file);
    else
        snprintf(name, sizeof(name), "journal");
    if ((rc & 0xff) == SQLITE_IOERR || (rc & 0xff) == SQLITE_FULL || (rc & 0xff) == SQLITE_CANTOPEN)
        return ocfl_err_sys(err, code, "%s: %s: %s%s%s%s", name, what, msg, op ? " (" : "",
                            op ? op : "", op ? ")" : "");
    return ocfl_err_set(err, code, "%s: %s: %s", name, what, msg);
}

int jdb_exec(sqlite3 *db, const char *sql, struct ocfl_err *err)
{
    int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);

    return rc == SQLITE_OK ? 0 : jdb_fail(db, rc, "cannot run statement", err);
}

int jdb_begin(struct journal *j, struct ocfl_err *err)
{
    return jdb_exec(j->db, "BEGIN IMMEDIATE", err);
}

int jdb_commit(struct journal *j, struct ocfl_err *err)
{
    int r = jdb_exec(j->db, "COMMIT", err);

    if (r < 0)
        jdb_rollback(j);
    return r;
}

void jdb_rollback(struct journal *j)
{
    if (!sqlite3_get_autocommit(j->db))
        sqlite3_exec(j->db, "ROLLBACK", NULL, NULL, NULL);
}

static int pragma_int(sqlite3 *db, const char *sql, int64_t *ret, struct ocfl_err *err)
{
    sqlite3_stmt *st;
    int rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);

    if (rc != SQLITE_OK)
        return jdb_fail(db, rc, "cannot read the schema version", err);
    rc = sqlite3_step(st);
    *ret = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return jdb_fail(db, rc, "cannot read the schema version", err);
    return 0;
}

static const char *db_name(sqlite3 *db)
{
    const char *f = sqlite3_db_filename(db, "main");

    return f && *f ? f : "ocflfs.db";
}

/* Check application_id and user_version; *ret_version gets the latter.  A
 * database without our application_id is ours only while it is empty. */
static int check_schema(sqlite3 *db, int64_t *ret_version, struct ocfl_err *err)
{
    int64_t app, ver, n = 0;
    int r;

    r = pragma_int(db, "PRAGMA application_id", &app, err);
    if (r < 0)
        return r;
    r = pragma_int(db, "PRAGMA user_version", &ver, err);
    if (r < 0)
        return r;
    if (app == 0)
        r = pragma_int(db, "SELECT count(*) FROM sqlite_master", &n, err);
    if (r < 0)
        return r;
    if (app != 0 && app != JOURNAL_APPLICATION_ID)
        return ocfl_err_set(err, -EMEDIUMTYPE,
                            "journal '%s': not an ocflfs database (application_id %lld)",
                            db_name(db), (long long)app);
    if (app == 0 && (n > 0 || ver != 0))
        return ocfl_err_set(err, -EMEDIUMTYPE,
                            "journal '%s': not an ocflfs database (another application's "
                            "database: %lld schema objects, user_version %lld); "
                            "refusing to change it",
                            db_name(db), (long long)n, (long long)ver);
    if (ver > JOURNAL_SCHEMA_VERSION)
        return ocfl_err_set(err, -EPROTO,
                            "journal '%s': schema version %lld is newer than this ocflfs knows "
                            "(%d)",
                            db_name(db), (long long)ver, JOURNAL_SCHEMA_VERSION);
    *ret_version = ver;
    return 0;
}

int journal_migrate(sqlite3 *db, struct ocfl_err *err)
{
    int64_t ver;
    char sql[128];
    int r;

    r = jdb_exec(db, "BEGIN IMMEDIATE", err);
    if (r < 0)
        return r;
    /* Read the version inside the transaction: two openers cannot both migrate. */
    r = check_schema(db, &ver, err);
    for (int64_t v = ver; r >= 0 && v < JOURNAL_SCHEMA_VERSION; v++) {
        r = jdb_exec(db, migrations[v], err);
        if (r < 0)
            ocfl_err_prefix(err, "journal: migration %lld to %lld", (long long)v, (long long)v + 1);
    }
    if (r >= 0) {
        snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
                 JOURNAL_APPLICATION_ID, JOURNAL_SCHEMA_VERSION);
        r = jdb_exec(db, sql, err);
    }
    if (r >= 0)
        r = jdb_exec(db, "COMMIT", err);
    if (r < 0 && !sqlite3_get_autocommit(db))
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return r < 0 ? r : 0;
}

static void parse_test_hooks(struct journal *j)
{
    const char *s;

    j->kill_after_step = j->kill_before_step = j->fail_step = -1;
    if ((s = getenv("OCFLFS_TEST_KILL_AT_STEP")) && *s)
        j->kill_after_step = strtol(s, NULL, 10);
    if ((s = getenv("OCFLFS_TEST_KILL_BEFORE_STEP")) && *s)
        j->kill_before_step = strtol(s, NULL, 10);
    /* "K:N[:ERRNO]": step K fails with ERRNO (default EIO) on its first N attempts */
    if ((s = getenv("OCFLFS_TEST_FAIL_STEP")) && *s) {
        long k = -1, n = 0, e = EIO;
        if (sscanf(s, "%ld:%ld:%ld", &k, &n, &e) >= 2 && k >= 0 && n > 0 && e > 0) {
            j->fail_step = k;
            j->fail_times = (unsigned)n;
            j->fail_code = -(int)e;
        }
    }
    /* every plan's first interval, its recorded policy's too (tests that need not wait) */
    j->test_retry_ms = -1;
    /* the process stops itself (SIGSTOP) at a moment of a switch (1: before the root
     * inventory's fence, 2: after it, 3: between the storage checks and the rename, 4: after
     * the root sidecar's fence, 5: in a content batch before its moves, 6: in a revert after its
     * fence, 7: in a revert after its record), so that a test can wake it after its lease ran out
     */
    j->stop_at_switch =
        (s = getenv("OCFLFS_TEST_STOP_AT_SWITCH")) && *s >= '1' && *s <= '7' && !s[1] ? *s - '0'
                                                                                      : 0;
    if ((s = getenv("OCFLFS_TEST_RETRY_MS")) && *s)
        j->test_retry_ms = (long long)strtoull(s, NULL, 10);
}

/*
 * The state directory holds staged bytes and names that the view may hide from other users:
 * it and what it holds are the mounting user's alone (0700, files 0600).  Made so, and put
 * right where an older ocflfs made them wider.  SQLite gives its -wal and -shm files the
 * database file's mode, so a database made 0600 first keeps them private too.
 */
static int make_private(struct journal *j, struct ocfl_err *err)
{
    static const char *const files[] = {"ocflfs.db", "ocflfs.db-wal", "ocflfs.db-shm",
                                        "ocflfs.lock"};
    static const char *const dirs[] = {"scratch", "cache", "staging"};
    struct stat st;
    int fd;

    if (fstat(j->state_fd, &st) < 0)
        return ocfl_err_sys(err, -errno, "cannot stat state directory '%s'", j->state_dir);
    /* a directory someone else owns (shared on purpose) is left as it is */
    if ((st.st_mode & 077) && st.st_uid == geteuid() && fchmod(j->state_fd, st.st_mode & 0700) < 0)
        return ocfl_err_sys(err, -errno, "cannot make state directory '%s' private", j->state_dir);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++)
        if (fstatat(j->state_fd, files[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
            (st.st_mode & 077) && fchmodat(j->state_fd, files[i], st.st_mode & 0600, 0) < 0)
            return ocfl_err_sys(err, -errno, "cannot make '%s/%s' private", j->state_dir, files[i]);
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
        if (fstatat(j->state_fd, dirs[i], &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
            (st.st_mode & 077) && fchmodat(j->state_fd, dirs[i], st.st_mode & 0700, 0) < 0)
            return ocfl_err_sys(err, -errno, "cannot make '%s/%s' private", j->state_dir, dirs[i]);
    /* a new database: created 0600 before SQLite opens it */
    fd = openat(j->state_fd, "ocflfs.db", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return ocfl_err_sys(err, -errno, "cannot create '%s/ocflfs.db'", j->state_dir);
    close(fd);
    return 0;
}

static int open_lock(struct journal *j, const char *holder, struct ocfl_err *err)
{
    char who[300] = "";

    j->lock_fd =
        openat(j->state_fd, "ocflfs.lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (j->lock_fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s/ocflfs.lock'", j->state_dir);
    if (flock(j->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EWOULDBLOCK) {
            /* the holder wrote its pid and what it does there */
            ssize_t n = pread(j->lock_fd, who, sizeof(who) - 1, 0);
            who[n > 0 ? n : 0] = '\0';
            who[strcspn(who, "\n")] = '\0';
            return ocfl_err_set(err, -EBUSY,
                                "state directory '%s' is in use by another ocflfs process "
                                "(%s%s; lock '%s/ocflfs.lock')",
                                j->state_dir, who[0] ? "pid " : "no pid recorded", who,
                                j->state_dir);
        }
        return ocfl_err_sys(err, -e, "cannot lock '%s/ocflfs.lock'", j->state_dir);
    }
    /* ours now: say who holds it (advisory text; the flock is the lock) */
    snprintf(who, sizeof(who), "%ld%s%.250s\n", (long)getpid(), holder ? ": " : "",
             holder ? holder : "");
    if (ftruncate(j->lock_fd, 0) == 0 && pwrite(j->lock_fd, who, strlen(who), 0) < 0) {
        /* not fatal: only the message of a refused second process is poorer */
    }
    return 0;
}

/* From /proc/locks: whether a flock(2) lock is held on the file @st is (1, 0), or -ENOENT
 * when the table cannot be read. */
static int flock_listed(const struct stat *st)
{
    FILE *f = fopen("/proc/locks", "re");
    char line[256];
    int held = 0;

    if (!f)
        return -ENOENT;
    /* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF": major and minor in hex, the inode */
    while (!held && fgets(line, sizeof(line), f)) {
        unsigned maj, min;
        unsigned long long ino;
        char kind[16], *dev = strstr(line, "FLOCK") ? strchr(line, ':') : NULL;
        if (!dev || sscanf(line, "%*d: %15s %*s %*s %*d %x:%x:%llu", kind, &maj, &min, &ino) != 4)
            continue;
        held = !strcmp(kind, "FLOCK") && maj == major(st->st_dev) && min == minor(st->st_dev) &&
               ino == (unsigned long long)st->st_ino;
    }
    fclose(f);
    return held;
}

int journal_lock_held(const char *state_dir)
{
    struct stat st;
    char *path;
    int fd, r;

    if (asprintf(&path, "%s/ocflfs.lock", state_dir) < 0)
        return -ENOMEM;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    free(path);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    /* Read, not probed: taking the lock for a moment, even to give it back, would make a
     * process starting then (a put, a mount) find it taken — and `plans --watch` looks every
     * interval.  Probed only where the kernel has no lock table to read. */
    r = fstat(fd, &st) < 0 ? -errno : flock_listed(&st);
    if (r == -ENOENT)
        r = flock(fd, LOCK_EX | LOCK_NB) == 0 ? 0 : errno == EWOULDBLOCK ? 1 : -errno;
    close(fd); /* gives back a lock just taken */
    return r;
}

/* One writer per storage root, whatever the state dir: flock its directory (in cluster mode
 * the leases keep the writers of one object apart: only opened). */
static int lock_root(struct journal *j, const char *root, struct ocfl_err *err)
{
    j->root_lock_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->root_lock_fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open storage root '%s'", root);
    if (j->flags & JOURNAL_CLUSTER)
        return 0;
    if (flock(j->root_lock_fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;
        if (e == EWOULDBLOCK)
            return ocfl_err_set(err, -EBUSY,
                                "storage root '%s' is in use by another ocflfs process "
                                "(one writer per root, whatever its state directory)",
                                root);
        return ocfl_err_sys(err, -e, "cannot lock storage root '%s'", root);
    }
    return 0;
}

static int open_db(struct journal *j, struct ocfl_err *err)
{
    char *path;
    int ro = j->flags & JOURNAL_READONLY;
    int flags = (ro ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) |
                SQLITE_OPEN_FULLMUTEX;
    int64_t ver;
    int rc, r;

    if (asprintf(&path, "%s/ocflfs.db", j->state_dir) < 0)
        return -ENOMEM;
    if (ro && access(path, F_OK) < 0) {
        r = ocfl_err_sys(err, -errno, "no journal at '%s'", path);
        free(path);
        return r;
    }
    rc = sqlite3_open_v2(path, &j->db, flags, NULL);
    if (rc != SQLITE_OK) {
        r = jdb_errno(j->db, rc);
        ocfl_err_sys(err, r, "journal '%s': cannot open the database: %s", path,
                     j->db ? sqlite3_errmsg(j->db) : sqlite3_errstr(rc));
        free(path);
        return r;
    }
    free(path);
    sqlite3_busy_timeout(j->db, 10000);
    /* before anything writes: another application's database stays as it was */
    r = check_schema(j->db, &ver, err);
    if (r < 0)
        return r;
    if (!ro) {
        r = jdb_exec(j->db,
                     /* secure_delete (on in Debian's build) would rewrite every
                      * freed page of a plan's inventory with zeros: nothing in
                      * the journal is secret, so that is pure write amplification.
                      * On shared storage (cluster mode) a rollback journal: WAL's
                      * index lives in shared memory, which network file systems
                      * do not provide safely. */
                     j->flags & JOURNAL_CLUSTER
                         ? "PRAGMA journal_mode = TRUNCATE; PRAGMA synchronous = FULL;"
                           " PRAGMA foreign_keys = ON; PRAGMA secure_delete = OFF"
                         : "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;"
                           " PRAGMA foreign_keys = ON; PRAGMA secure_delete = OFF",
                     err);
        if (r < 0)
            return r;
        r = journal_migrate(j->db, err);
        if (r < 0)
            return r;
        /* this process's view of each object's head, for the base of new staged changes
         * (staging_note_head); a temporary table: it dies with the connection */
        return jdb_exec(j->db,
                        "CREATE TEMP TABLE staging_heads (object_id TEXT PRIMARY KEY,"
                        " digest TEXT NOT NULL) WITHOUT ROWID",
                        err);
    }
    if (ver != JOURNAL_SCHEMA_VERSION)
        return ocfl_err_set(err, -EPROTO,
                            "journal in '%s' has schema version %lld; open it for writing "
                            "(e.g. 'ocflfs resume') to migrate it",
                            j->state_dir, (long long)ver);
    return 0;
}

/*
 * Mark scratch/ as the top of a directory hierarchy (chattr +T), so that ext4's
 * Orlov allocator places each staging directory made in it, and the inodes of the
 * files staged there, in a block group of its own choosing rather than next to
 * scratch/.  On ext4 without a journal, a new inode is never taken from those
 * deleted in the last 30 s, and the allocator skips them one by one, for every
 * file: after a large tree near the state directory was deleted, staging 10,000
 * files took 3 to 6 s instead of 0.8 s.  Other file systems ignore or refuse the
 * flag; either is fine.
 */
static void spread_scratch(int state_fd)
{
    int fd = openat(state_fd, "scratch", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int flags;

    if (fd < 0)
        return;
    if (ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && !(flags & FS_TOPDIR_FL)) {
        flags |= FS_TOPDIR_FL;
        (void)ioctl(fd, FS_IOC_SETFLAGS, &flags);
    }
    close(fd);
}

/*
 * Staged data without its index: ocflfs.db missing or empty while scratch/ holds staged
 * files.  SQLite would start a new, empty journal, every staged edit would vanish from the
 * view and a commit would say "nothing to commit": refuse unless asked to start afresh,
 * and then keep the files where the user can find them.
 */
static int check_lost_index(struct journal *j, struct ocfl_err *err)
{
    struct stat st;
    int n, missing = fstatat(j->state_fd, "ocflfs.db", &st, 0) < 0;

    if (!missing && st.st_size > 0)
        return 0;
    if ((n = staging_scratch_count(j->state_fd)) == 0)
        return 0;
    if (!(j->flags & JOURNAL_FRESH_STATE))
        return ocfl_err_set(err, -EUCLEAN,
                            "state directory '%s': the journal ocflfs.db is %s, but scratch/ "
                            "holds %d staged file(s): the index of staged changes is lost. "
                            "Restore ocflfs.db, or start afresh with --fresh-state (the "
                            "staged files are then kept in '%s/scratch.orphaned-TIME')",
                            j->state_dir, missing ? "missing" : "empty", n, j->state_dir);
    char stamp[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
    snprintf(j->orphaned, sizeof(j->orphaned), "scratch.orphaned-%s", stamp);
    if (renameat(j->state_fd, "scratch", j->state_fd, j->orphaned) < 0 ||
        mkdirat(j->state_fd, "scratch", 0700) < 0 || fsync(j->state_fd) < 0)
        return ocfl_err_sys(err, -errno, "cannot set '%s/scratch' aside as '%s'", j->state_dir,
                            j->orphaned);
    /* a WAL beside a lost database belongs to no database any more */
    unlinkat(j->state_fd, "ocflfs.db-wal", 0);
    unlinkat(j->state_fd, "ocflfs.db-shm", 0);
    return 0;
}

const char *journal_orphaned(const struct journal *j)
{
    return j && j->orphaned[0] ? j->orphaned : NULL;
}

int journal_open(const char *state_dir, const struct journal_options *opts, struct journal **ret,
                 struct ocfl_err *err)
{
    struct journal *j = calloc(1, sizeof(*j));
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int r;

    if (!j)
        return ocfl_err_set(err, -ENOMEM, "cannot open the journal: out of memory");
    j->state_fd = j->lock_fd = j->root_lock_fd = -1;
    pthread_mutex_init(&j->mu, NULL);
    pthread_mutex_init(&j->kept_mu, NULL);
    j->flags = opts ? opts->flags : 0;
    j->clock.now_ns = real_now_ns;
    j->clock.sleep_ns = real_sleep_ns;
    if (opts && opts->clock)
        j->clock = *opts->clock;
    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++) {
        journal_retry_default(&j->retry[k]);
        if (opts && opts->retry)
            j->retry[k] = opts->retry[k];
    }
    j->threads = opts && opts->threads ? opts->threads : (cores > 0 ? (unsigned)cores : 1);
    parse_test_hooks(j);
    j->state_dir = strdup(state_dir);
    if (!j->state_dir) {
        r = -ENOMEM;
        goto fail;
    }
    if (!(j->flags & JOURNAL_READONLY)) {
        /* The state dir is the user's choice (not inside an object): plain mkdir -p. */
        char *p = j->state_dir;
        for (char *s = p + 1; *s; s++)
            if (*s == '/') {
                *s = 0;
                mkdir(p, 0755);
                *s = '/';
            }
        if (mkdir(p, 0700) < 0 && errno != EEXIST) {
            r = ocfl_err_sys(err, -errno, "cannot create state directory '%s'", state_dir);
            goto fail;
        }
    }
    j->state_fd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (j->state_fd < 0) {
        r = ocfl_err_sys(err, -errno, "cannot open state directory '%s'", state_dir);
        goto fail;
    }
    if (!(j->flags & JOURNAL_READONLY)) {
        /* a takeover's claim in the cluster stands for the lock: the host it takes over
         * may be a paused process that still holds it */
        r = j->flags & JOURNAL_TAKEOVER ? 0 : open_lock(j, opts ? opts->holder : NULL, err);
        if (r < 0)
            goto fail;
        r = opts && opts->root ? lock_root(j, opts->root, err) : 0;
        if (r < 0)
            goto fail;
        r = check_lost_index(j, err);
        if (r < 0)
            goto fail;
        r = make_private(j, err);
        if (r < 0)
            goto fail;
        if (mkdirat(j->state_fd, "scratch", 0700) < 0 && errno != EEXIST) {
            r = ocfl_err_sys(err, -errno, "cannot create '%s/scratch'", state_dir);
            goto fail;
        }
        spread_scratch(j->state_fd);
    }
    r = open_db(j, err);
    if (r < 0)
        goto fail;
    jdb_reserve_make(j);
    *ret = j;
    return 0;
fail:
    journal_close(j);
    return r;
}

void journal_close(struct journal *j)
{
    if (!j)
        return;
    sqlite3_finalize(j->kept_read_st);
    if (j->kept_db)
        sqlite3_close_v2(j->kept_db);
    if (j->db)
        sqlite3_close_v2(j->db);
    if (j->lock_fd >= 0)
        close(j->lock_fd); /* releases the flock */
    if (j->root_lock_fd >= 0)
        close(j->root_lock_fd);
    if (j->state_fd >= 0)
        close(j->state_fd);
    pthread_mutex_destroy(&j->mu);
    pthread_mutex_destroy(&j->kept_mu);
    /* never synced: the files stay (orphans) rather than go before their rows */
    for (size_t i = 0; i < j->n_graveyard; i++)
        free(j->graveyard[i]);
    free(j->graveyard);
    free(j->state_dir);
    free(j);
}

int journal_rollback_mode(const struct journal *j)
{
    return (j->flags & JOURNAL_CLUSTER) != 0;
}

void journal_set_hooks(struct journal *j, const struct journal_hooks *h)
{
    memset(&j->hooks, 0, sizeof(j->hooks));
    if (h)
        j->hooks = *h;
}

int jdb_refence(struct journal *j, const char *object_id)
{
    return j->hooks.refence ? j->hooks.refence(j->hooks.ctx, object_id, NULL) : -ENOLCK;
}

int jdb_fence(struct journal *j, const char *object_id, struct ocfl_err *err)
{
    int r;

    if (!j->hooks.fence)
        return 0;
    r = j->hooks.fence(j->hooks.ctx, object_id, err);
    if (r < 0 && err)
        err->code = JOURNAL_FENCED;
    return r < 0 ? JOURNAL_FENCED : 0;
}

void jdb_plan_event(struct journal *j, int64_t id, const char *object_id, const char *version,
                    enum journal_plan_state s, uint64_t done, uint64_t total)
{
    struct journal_plan_event ev = {id, object_id, version, s, done, total, NULL, NULL, 0, 0};

    if (j->hooks.plan_event)
        j->hooks.plan_event(j->hooks.ctx, &ev);
}

sqlite3 *journal_sqlite(struct journal *j)
{
    return j->db;
}

void journal_lock(struct journal *j)
{
    pthread_mutex_lock(&j->mu);
}

void journal_unlock(struct journal *j)
{
    pthread_mutex_unlock(&j->mu);
}

const char *journal_state_dir(const struct journal *j)
{
    return j->state_dir;
}

int journal_state_fd(const struct journal *j)
{
    return j->state_fd;
}
