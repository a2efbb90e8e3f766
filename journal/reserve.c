/* reserve.c: room kept for the journal's own writes when its file system fills up.  Without
 * it the rm that would free space cannot record itself: the staging index's commit needs a
 * few pages of WAL, and a full disk refuses them.  The room is blocks allocated to the WAL
 * file beyond its end (FALLOC_FL_KEEP_SIZE): only SQLite's writes into the WAL use them, so
 * no data writer can take them, and the WAL, rewritten from its start after each checkpoint,
 * keeps them for as long as the database is open. */
#include "journal_int.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* The WAL grows to about 4 MiB (SQLite's autocheckpoint of 1,000 pages) before it starts
 * again from its beginning; a little more for the transaction that crosses it. */
#define RESERVE_BYTES (5 << 20)

void jdb_reserve_make(struct journal *j)
{
    int fd;

    if (j->flags & JOURNAL_READONLY)
        return;
    fd = openat(j->state_fd, "ocflfs.db-wal", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return; /* no WAL yet: made with the first write, and the reserve at the next open */
    /* refused (no room now, or a file system without it): the journal works as before */
    (void)fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, RESERVE_BYTES);
    close(fd);
}
