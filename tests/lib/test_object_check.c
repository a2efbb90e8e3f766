/* test_object_check.c: ocfl_object_check_content on a fixture copy: intact, then missing,
 * symlinked, a directory, a symlinked directory; the same in a directory of many files (which the
 * check lists instead of stat'ing file by file). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "object.h"

static char tmp[256], obj_dir[512];

static int run(const char *cmd)
{
    char buf[2048];
    int n = snprintf(buf, sizeof(buf), "cd '%s' && %s", obj_dir, cmd);

    if (n < 0 || (size_t)n >= sizeof(buf))
        return -1;
    return system(buf);
}

/* Open the copy and check it; the code, with the message in @err. */
static int check(struct ocfl_err *err)
{
    struct ocfl_object *o = NULL;
    int r;

    int dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    ocfl_err_clear(err);
    r = ocfl_object_open(dfd, "obj", &o, err);
    close(dfd);
    if (r < 0)
        return -1000 + r; /* never one of the codes checked for */
    r = ocfl_object_check_content(o, err);
    ocfl_object_close(o);
    return r;
}

int main(void)
{
    const char *shared = getenv("OCFL_SHARED");
    struct ocfl_err err = {0};
    char cmd[1024];
    int n;

    if (!shared) {
        printf("1..0 # OCFL_SHARED is not set\n");
        return 1;
    }
    snprintf(tmp, sizeof(tmp), "/tmp/test_object_check.XXXXXX");
    if (!mkdtemp(tmp))
        return 1;
    snprintf(obj_dir, sizeof(obj_dir), "%s/obj", tmp);
    n = snprintf(cmd, sizeof(cmd), "cp -a '%s/ocfl/fixtures/1.1/good-objects/spec-ex-full' '%s'",
                 shared, obj_dir);
    CHECK(n > 0 && (size_t)n < sizeof(cmd));
    CHECK_INT(system(cmd), 0);

    CHECK_OK(check(&err));

    CHECK_INT(run("mv v1/content/image.tiff ../image.tiff"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, "'v1/content/image.tiff' is missing") != NULL);
    CHECK(strstr(err.msg, "ark:/12345/bcd987") != NULL); /* the object's id */

    CHECK_INT(run("ln -s ../../../image.tiff v1/content/image.tiff"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, "'v1/content/image.tiff' is a symbolic link") != NULL);

    CHECK_INT(run("rm v1/content/image.tiff && mkdir v1/content/image.tiff"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, "not a regular file") != NULL);

    CHECK_INT(run("rmdir v1/content/image.tiff && mv ../image.tiff v1/content/"), 0);
    CHECK_OK(check(&err));

    CHECK_INT(run("mv v2/content/foo ../foo && ln -s ../../../foo v2/content/foo"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, "'v2/content/foo/bar.xml' passes through a symbolic link") != NULL);

    CHECK_INT(run("rm v2/content/foo && rm -r ../foo"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, "'v2/content/foo/bar.xml' is missing") != NULL);

    /* a directory of 20 content files: listed once, each file checked by its entry's type */
    const char *src = getenv("SOURCE_ROOT");
    CHECK(src != NULL);
    n = snprintf(cmd, sizeof(cmd),
                 "rm -rf '%s' && python3 '%s/tests/mount/make_object.py' '%s' urn:x --files 20 "
                 ">/dev/null",
                 obj_dir, src ? src : ".", obj_dir);
    CHECK(n > 0 && (size_t)n < sizeof(cmd));
    CHECK_INT(system(cmd), 0);
    CHECK_OK(check(&err));
    const char *f = "v1/content/d0000/f000007.txt";
    CHECK_INT(run("mv v1/content/d0000/f000007.txt ../f7"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, f) && strstr(err.msg, "is missing"));
    CHECK_INT(run("ln -s ../../../../f7 v1/content/d0000/f000007.txt"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, f) && strstr(err.msg, "is a symbolic link"));
    CHECK_INT(run("rm v1/content/d0000/f000007.txt && mkfifo v1/content/d0000/f000007.txt"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, f) && strstr(err.msg, "not a regular file"));
    CHECK_INT(run("rm v1/content/d0000/f000007.txt && mkdir v1/content/d0000/f000007.txt"), 0);
    CHECK_INT(check(&err), -EBADMSG);
    CHECK(strstr(err.msg, f) && strstr(err.msg, "not a regular file"));
    CHECK_INT(run("rmdir v1/content/d0000/f000007.txt && mv ../f7 v1/content/d0000/f000007.txt"),
              0);
    CHECK_OK(check(&err));
    /* other names in the directory do not matter */
    CHECK_INT(run("touch v1/content/d0000/stray && ln -s nowhere v1/content/d0000/dangling"), 0);
    CHECK_OK(check(&err));

    /* an inventory over 4 MiB is hashed in a thread while it is parsed: both outcomes checked */
    n = snprintf(cmd, sizeof(cmd),
                 "rm -rf '%s' && python3 '%s/tests/mount/make_object.py' '%s' urn:x --files 30000 "
                 ">/dev/null",
                 obj_dir, src ? src : ".", obj_dir);
    CHECK(n > 0 && (size_t)n < sizeof(cmd));
    CHECK_INT(system(cmd), 0);
    CHECK_OK(check(&err));
    CHECK_INT(run("test $(stat -c %s inventory.json) -gt 4194304"), 0);
    /* one digest of the manifest changed: the bytes no longer match the sidecar (damaged, which
     * wins over the parse's complaint that a state digest is not in the manifest) */
    CHECK_INT(run("python3 -c 'import re; p=\"inventory.json\"; s=open(p).read(); "
                  "open(p, \"w\").write(re.sub(\"[0-9a-f]{128}\", 128 * \"0\", s, 1))'"),
              0);
    CHECK_INT(check(&err), -1000 - EBADMSG);
    CHECK(strstr(err.msg, "does not match its sidecar") != NULL);

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
    CHECK_INT(system(cmd), 0);
    return check_done();
}
