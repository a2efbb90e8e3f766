/* test_fixtures.c: the validator against every official OCFL fixture (1.0 and 1.1). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "report.h"
#include "validate.h"

/* The codes a fixture name announces: leading tokens like "E001_" "W004_". */
static size_t expected_codes(const char *name, char codes[][5], size_t max)
{
    size_t n = 0;

    while ((name[0] == 'E' || name[0] == 'W') && strspn(name + 1, "0123456789") == 3 &&
           (name[4] == '_' || name[4] == '\0') && n < max) {
        memcpy(codes[n], name, 4);
        codes[n++][4] = '\0';
        name += name[4] ? 5 : 4;
    }
    return n;
}

static void found_codes(const struct ocfl_report *r, char *buf, size_t size)
{
    size_t off = 0;

    buf[0] = '\0';
    for (size_t i = 0; i < r->n && off + 40 < size; i++)
        off += (size_t)snprintf(buf + off, size - off, "%s%s(%s)", i ? " " : "", r->items[i].code,
                                r->items[i].path);
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One fixture directory: returns 1 when it passes. */
static int run_fixture(const char *dir, const char *name, const char *kind)
{
    struct ocfl_validate_opts opts;
    struct ocfl_report r = {0};
    struct ocfl_err err = {0};
    char path[4096], codes[8][5], found[4096];
    size_t n_codes = expected_codes(name, codes, 8);
    int ok = 1, rc;

    if (snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path)) {
        printf("# %s/%s: path too long\n", dir, name);
        return 0;
    }
    ocfl_validate_opts_init(&opts);
    opts.threads = 2;
    rc = ocfl_validate_object(AT_FDCWD, path, &opts, &r, &err);
    if (rc < 0) {
        printf("# %s: validation could not run: %s\n", path, err.msg);
        ok = 0;
        goto out;
    }
    found_codes(&r, found, sizeof(found));
    if (!strcmp(kind, "good")) {
        ok = r.n == 0;
    } else if (!strcmp(kind, "warn")) {
        ok = r.n_errors == 0 && n_codes > 0;
        for (size_t i = 0; i < n_codes; i++)
            ok &= ocfl_report_has(&r, codes[i]);
    } else {
        ok = r.n_errors > 0 && n_codes > 0;
        for (size_t i = 0; i < n_codes; i++)
            ok &= ocfl_report_has(&r, codes[i]);
    }
    if (!ok) {
        printf("# MISS %s/%s: expected %s", dir, name, !strcmp(kind, "good") ? "no finding" : "");
        for (size_t i = 0; i < n_codes; i++)
            printf("%s%s", i ? "," : "", codes[i]);
        printf("%s; found: %s\n", !strcmp(kind, "warn") ? " and no error" : "",
               r.n ? found : "nothing");
    }
out:
    ocfl_report_release(&r);
    return ok;
}

int main(void)
{
    const char *shared = getenv("OCFL_SHARED");
    static const char *const versions[] = {"1.0", "1.1"};
    static const char *const kinds[] = {"good", "warn", "bad"};
    int total = 0, passed = 0;

    CHECK_AT_(shared && *shared, "OCFL_SHARED is set", "set OCFL_SHARED to the shared directory");
    if (!shared || !*shared)
        return check_done();
    for (size_t v = 0; v < 2; v++) {
        for (size_t k = 0; k < 3; k++) {
            char dir[4096], *names[256];
            size_t n = 0;
            struct dirent *de;
            DIR *d;

            if (snprintf(dir, sizeof(dir), "%s/ocfl/fixtures/%s/%s-objects", shared, versions[v],
                         kinds[k]) >= (int)sizeof(dir))
                dir[0] = '\0';
            d = dir[0] ? opendir(dir) : NULL;
            CHECK_AT_(d != NULL, dir, "cannot open the fixture directory");
            if (!d)
                continue;
            while ((de = readdir(d)) && n < 256)
                if (de->d_name[0] != '.')
                    names[n++] = strdup(de->d_name);
            closedir(d);
            qsort(names, n, sizeof(*names), cmp_name);
            CHECK_AT_(n > 0, dir, "no fixture found");
            for (size_t i = 0; i < n; i++) {
                char text[512];
                int ok = names[i] && run_fixture(dir, names[i], kinds[k]);
                if (snprintf(text, sizeof(text), "%s/%s/%s", versions[v], kinds[k],
                             names[i] ? names[i] : "?") >= (int)sizeof(text))
                    text[sizeof(text) - 1] = '\0';
                CHECK_AT_(ok, text, "fixture misses (see the MISS line above)");
                total++;
                passed += ok;
                free(names[i]);
            }
        }
    }
    printf("# %d of %d fixtures pass\n", passed, total);
    return check_done();
}
