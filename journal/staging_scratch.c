/* staging_scratch.c: the staging area's scratch files by name: which names are ours, syncing
 * their directories, counting them (a journal lost beside staged files). */
#include "staging_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* "f" and decimal digits, up to 19. */
static const char *skip_number(const char *s, char lead)
{
    size_t n = 0;

    if (*s++ != lead)
        return NULL;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n && n <= 19 ? s + n : NULL;
}

int sx_scratch_name_ok(const char *s)
{
    const char *t;

    if (strncmp(s, "scratch/", 8))
        return 0;
    s += 8;
    if ((t = skip_number(s, 's')) && *t == '/')
        s = t + 1;
    t = skip_number(s, 'f');
    return t && !*t;
}

/* fsync scratch/ and each of its sK/ directories: the entries of all new scratch files. */
int sx_sync_scratch_dirs(struct journal *j, struct ocfl_err *err)
{
    int fd = openat(journal_state_fd(j), "scratch", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    struct dirent *e;
    DIR *d;
    int r = 0;

    if (fd < 0)
        return ocfl_err_sys(err, -errno, "cannot open '%s/scratch'", journal_state_dir(j));
    d = fdopendir(fd);
    if (!d) {
        close(fd);
        return ocfl_err_sys(err, -errno, "cannot read '%s/scratch'", journal_state_dir(j));
    }
    while (r == 0 && (e = readdir(d)))
        if (e->d_name[0] == 's' && (e->d_type == DT_DIR || e->d_type == DT_UNKNOWN)) {
            int sfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            if (sfd < 0 && errno == ENOTDIR)
                continue; /* a file system without d_type: not one of ours */
            if (sfd < 0 || fsync(sfd) < 0)
                r = ocfl_err_sys(err, -errno, "cannot flush '%s/scratch/%s'", journal_state_dir(j),
                                 e->d_name);
            if (sfd >= 0)
                close(sfd);
        }
    if (r == 0 && fsync(dirfd(d)) < 0)
        r = ocfl_err_sys(err, -errno, "cannot flush '%s/scratch'", journal_state_dir(j));
    closedir(d);
    return r;
}

int staging_scratch_count(int state_fd)
{
    int fd = openat(state_fd, "scratch", O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    struct dirent *e;
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    int n = 0;

    if (!d) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    while ((e = readdir(d))) {
        char name[80];
        if (e->d_name[0] == 'f' && snprintf(name, sizeof(name), "scratch/%s", e->d_name) > 0 &&
            sx_scratch_name_ok(name)) {
            n++;
        } else if (e->d_name[0] == 's' && e->d_name[1] >= '0' && e->d_name[1] <= '9') {
            int sfd = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
            DIR *sd = sfd < 0 ? NULL : fdopendir(sfd);
            struct dirent *se;
            if (!sd) {
                if (sfd >= 0)
                    close(sfd);
                continue;
            }
            while ((se = readdir(sd)))
                n += se->d_name[0] == 'f' && se->d_name[1] >= '0' && se->d_name[1] <= '9';
            closedir(sd);
        }
    }
    closedir(d);
    return n;
}
