/* test_fixtures.c: the validator against every official OCFL fixture (1.0 and 1.1) and ours
 * (tests/validate/fixtures): the codes each expects, and only codes of its version's list. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "checks.h"

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

/* The codes of a validation-codes list: its table rows "| E001 | ...". */
struct code_list {
    char codes[256][5];
    size_t n;
};

static int load_list(const char *path, struct code_list *l)
{
    char line[4096];
    FILE *f = fopen(path, "r");

    l->n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f) && l->n < 256)
        if (!strncmp(line, "| ", 2) && (line[2] == 'E' || line[2] == 'W') &&
            strspn(line + 3, "0123456789") == 3 && line[6] == ' ') {
            memcpy(l->codes[l->n], line + 2, 4);
            l->codes[l->n++][4] = '\0';
        }
    fclose(f);
    return l->n ? 0 : -1;
}

static int in_list(const struct code_list *l, const char *code)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->codes[i], code))
            return 1;
    return 0;
}

static struct code_list lists[2]; /* [0] 1.0, [1] 1.1 */

/* Our fixtures' exact codes: "1.1/bad-objects/NAME: E019 E020" lines of EXPECTED. */
static char expected_text[65536];

static const char *expected_for(const char *key)
{
    size_t klen = strlen(key);

    for (const char *p = expected_text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
        if (!strncmp(p, key, klen) && p[klen] == ':')
            return p + klen + 1;
    return NULL;
}

/* Whether the distinct codes of @r, sorted, are the line at @want (to its end). */
static int same_codes(const struct ocfl_report *r, const char *want, char *got, size_t size)
{
    char codes[64][5];
    size_t n = 0, off = 0, wlen = strcspn(want, "\n");

    for (size_t i = 0; i < r->n && n < 64; i++) {
        size_t k;
        for (k = 0; k < n && strcmp(codes[k], r->items[i].code); k++)
            ;
        if (k == n)
            memcpy(codes[n++], r->items[i].code, 5);
    }
    qsort(codes, n, sizeof(codes[0]), (int (*)(const void *, const void *))strcmp);
    got[0] = '\0';
    for (size_t i = 0; i < n && off + 6 < size; i++)
        off += (size_t)snprintf(got + off, size - off, " %s", codes[i]);
    while (wlen && want[wlen - 1] == ' ')
        wlen--;
    return strlen(got) == wlen && !strncmp(got, want, wlen);
}

/* Whether the object at @path has a declaration or a root inventory to tell its version. */
static int says_version(const char *path)
{
    char inv[4200];
    struct dirent *de;
    DIR *d = opendir(path);
    int says = 0;

    snprintf(inv, sizeof(inv), "%s/inventory.json", path);
    while (d && (de = readdir(d)))
        says |= !strncmp(de->d_name, "0=ocfl_object_", 14);
    if (d)
        closedir(d);
    return says || access(inv, F_OK) == 0;
}

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One fixture directory (@version "1.0" or "1.1"; @exact: its line in EXPECTED, or NULL):
 * returns 1 when it passes. */
static int run_fixture(const char *dir, const char *name, const char *kind, int version,
                       const char *exact)
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
    /* every code from the list of the object's own version, with that list's address (an
     * object that says no version, without declaration or inventory, gets the latest's) */
    for (size_t i = 0; i < r.n; i++) {
        char url[OCFL_CHECK_URL_MAX];
        const struct ocfl_finding *f = &r.items[i];
        ocfl_check_url(
            f->code, says_version(path) ? (version ? OCFL_SPEC_1_1 : OCFL_SPEC_1_0) : OCFL_SPEC_1_1,
            url, sizeof(url));
        if (!in_list(&lists[version], f->code) || strcmp(f->url, url)) {
            printf("# WRONG LIST %s/%s: %s (%s) is not a code of OCFL %s\n", dir, name, f->code,
                   f->url, version ? "1.1" : "1.0");
            ok = 0;
        }
    }
    if (exact && !same_codes(&r, exact, found, sizeof(found))) {
        printf("# MISS %s/%s: expected exactly%.*s; found%s\n", dir, name,
               (int)strcspn(exact, "\n"), exact, found[0] ? found : " nothing");
        ok = 0;
        goto out;
    }
    if (!ok)
        goto out;
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

/* Every fixture under @base/VERSION/KIND-objects; @ours: held to EXPECTED too.  Returns the
 * number of fixtures run. */
static int run_set(const char *base, const char *label, int ours, int *passed)
{
    static const char *const versions[] = {"1.0", "1.1"};
    static const char *const kinds[] = {"good", "warn", "bad"};
    int total = 0;

    for (size_t v = 0; v < 2; v++) {
        for (size_t k = 0; k < 3; k++) {
            char dir[4096], *names[256];
            size_t n = 0;
            struct dirent *de;
            DIR *d;

            if (snprintf(dir, sizeof(dir), "%s/%s/%s-objects", base, versions[v], kinds[k]) >=
                (int)sizeof(dir))
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
                char text[512], key[512];
                const char *exact = NULL;
                int ok;
                snprintf(key, sizeof(key), "%s/%s-objects/%s", versions[v], kinds[k],
                         names[i] ? names[i] : "?");
                if (ours) {
                    exact = expected_for(key);
                    CHECK_AT_(exact != NULL, key, "no line for it in EXPECTED");
                }
                ok = names[i] && (!ours || exact) &&
                     run_fixture(dir, names[i], kinds[k], (int)v, exact);
                if (snprintf(text, sizeof(text), "%s %s/%s/%s", label, versions[v], kinds[k],
                             names[i] ? names[i] : "?") >= (int)sizeof(text))
                    text[sizeof(text) - 1] = '\0';
                CHECK_AT_(ok, text, "fixture misses (see the MISS line above)");
                total++;
                *passed += ok;
                free(names[i]);
            }
        }
    }
    return total;
}

int main(void)
{
    const char *shared = getenv("OCFL_SHARED"), *source = getenv("SOURCE_ROOT");
    char path[4096];
    int total, passed = 0, ours, ours_passed = 0;
    FILE *f;

    CHECK_AT_(shared && *shared, "OCFL_SHARED is set", "set OCFL_SHARED to the shared directory");
    CHECK_AT_(source && *source, "SOURCE_ROOT is set", "set SOURCE_ROOT to the source tree");
    if (!shared || !*shared || !source || !*source)
        return check_done();
    snprintf(path, sizeof(path), "%s/ocfl/spec/validation-codes-1.0.md", shared);
    CHECK_AT_(load_list(path, &lists[0]) == 0, "the 1.0 code list reads", "cannot read %s", path);
    snprintf(path, sizeof(path), "%s/ocfl/spec/validation-codes.md", shared);
    CHECK_AT_(load_list(path, &lists[1]) == 0, "the 1.1 code list reads", "cannot read %s", path);
    snprintf(path, sizeof(path), "%s/tests/validate/fixtures/EXPECTED", source);
    f = fopen(path, "r");
    CHECK_AT_(f != NULL, "EXPECTED reads", "cannot read %s", path);
    if (f) {
        size_t len = fread(expected_text, 1, sizeof(expected_text) - 1, f);
        expected_text[len] = '\0';
        fclose(f);
    }

    snprintf(path, sizeof(path), "%s/ocfl/fixtures", shared);
    total = run_set(path, "official", 0, &passed);
    snprintf(path, sizeof(path), "%s/tests/validate/fixtures", source);
    ours = run_set(path, "ours", 1, &ours_passed);
    /* every line of EXPECTED names a fixture that ran */
    {
        int lines = 0;
        for (const char *p = expected_text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
            lines += *p != '#' && *p != '\n';
        CHECK_AT_(lines == ours, "EXPECTED has a line per fixture of ours, no more",
                  "%d lines, %d fixtures", lines, ours);
    }
    printf("# %d of %d official fixtures pass, %d of %d of ours\n", passed, total, ours_passed,
           ours);
    return check_done();
}
