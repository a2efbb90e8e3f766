/* test_checks.c: the table of checks against both validation-code lists of the spec, and no
 * code given anywhere in ocfl/ but through it. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checks.h"

/* A validation-codes list: each row's code and the address it gives for it. */
struct code_list {
    char code[256][5];
    char url[256][64];
    size_t n;
};

static int load_list(const char *path, struct code_list *l)
{
    char line[4096];
    FILE *f = fopen(path, "r");

    l->n = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f) && l->n < 256) {
        const char *u;
        size_t k = 0;
        if (strncmp(line, "| ", 2) || (line[2] != 'E' && line[2] != 'W') ||
            strspn(line + 3, "0123456789") != 3 || line[6] != ' ')
            continue;
        memcpy(l->code[l->n], line + 2, 4);
        l->code[l->n][4] = '\0';
        /* the Reference column, without what trails the code (a stray quote in one row) */
        u = strstr(line, "https://");
        while (u && k + 1 < sizeof(l->url[0]) &&
               (isalnum((unsigned char)u[k]) || strchr(":/.#", u[k])))
            k++;
        if (u)
            memcpy(l->url[l->n], u, k);
        l->url[l->n][u ? k : 0] = '\0';
        l->n++;
    }
    fclose(f);
    return l->n ? 0 : -1;
}

static const char *url_of(const struct code_list *l, const char *code)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->code[i], code))
            return l->url[i];
    return NULL;
}

static int well_formed(const char *code)
{
    return code && (code[0] == 'E' || code[0] == 'W') && strspn(code + 1, "0123456789") == 3 &&
           !code[4];
}

/* Every row: named, a code in at least one version, each code in that version's list with the
 * list's own address, a second code only beside a first and of the same severity. */
static void check_table(const struct code_list lists[2])
{
    static const enum ocfl_spec specs[2] = {OCFL_SPEC_1_0, OCFL_SPEC_1_1};
    size_t in_list = 0, given = 0;

    for (int ck = 0; ck < OCFL_CK_COUNT_; ck++) {
        const struct ocfl_check_info *i = ocfl_check_info((enum ocfl_check)ck);
        char label[160];

        snprintf(label, sizeof(label), "check %d (%s) has a row", ck, i && i->name ? i->name : "?");
        CHECK_AT_(i && i->name && (i->code[0] || i->code[1]), label, "no name or no code");
        if (!i || !i->name)
            continue;
        for (int v = 0; v < 2; v++) {
            const char *codes[2] = {i->code[v], i->also[v]};
            char url[OCFL_CHECK_URL_MAX];
            for (int k = 0; k < 2; k++) {
                const char *want;
                if (!codes[k])
                    continue;
                given++;
                snprintf(label, sizeof(label), "%s: %s is a code of OCFL %s", i->name, codes[k],
                         v ? "1.1" : "1.0");
                want = well_formed(codes[k]) ? url_of(&lists[v], codes[k]) : NULL;
                CHECK_AT_(want != NULL, label, "not in validation-codes%s.md", v ? "" : "-1.0");
                in_list += want != NULL;
                if (!want)
                    continue;
                CHECK_AT_(ocfl_check_url(codes[k], specs[v], url, sizeof(url)) == 0 &&
                              !strcmp(url, want),
                          label, "its address is '%s', the list's '%s'", url, want);
            }
            snprintf(label, sizeof(label), "%s: a second code only beside a first, alike (%s)",
                     i->name, v ? "1.1" : "1.0");
            CHECK_AT_(!i->also[v] || (i->code[v] && i->also[v][0] == i->code[v][0] &&
                                      strcmp(i->also[v], i->code[v])),
                      label, "code %s, second code %s", i->code[v] ? i->code[v] : "none",
                      i->also[v]);
            CHECK_AT_(ocfl_check_code((enum ocfl_check)ck, specs[v]) == i->code[v] &&
                          ocfl_check_also((enum ocfl_check)ck, specs[v]) == i->also[v],
                      label, "ocfl_check_code/_also do not read this row");
        }
        if (i->code[0] && i->code[1]) {
            snprintf(label, sizeof(label), "%s: one severity in both versions", i->name);
            CHECK_AT_(i->code[0][0] == i->code[1][0], label, "%s and %s", i->code[0], i->code[1]);
        }
        for (int other = 0; other < ck; other++) {
            const struct ocfl_check_info *o = ocfl_check_info((enum ocfl_check)other);
            if (o && o->name && !strcmp(o->name, i->name))
                CHECK_AT_(0, i->name, "two rows have this name");
        }
    }
    printf("# %zu codes in the table, %zu of them in their version's list\n", given, in_list);
    CHECK(ocfl_check_info(OCFL_CK_COUNT_) == NULL);
    CHECK(ocfl_check_code(OCFL_CK_COUNT_, OCFL_SPEC_1_1) == NULL);
    /* an unknown spec reads the latest list */
    CHECK_STR(ocfl_check_code(OCFL_CK_MANIFEST_UNUSED, OCFL_SPEC_UNKNOWN), "E107");
    CHECK(ocfl_check_code(OCFL_CK_MANIFEST_UNUSED, OCFL_SPEC_1_0) == NULL);
}

/* Codes each list has that the other does not: the table must keep them apart. */
static void check_only_codes(const struct code_list lists[2])
{
    for (int v = 0; v < 2; v++)
        for (size_t c = 0; c < lists[v].n; c++) {
            const char *code = lists[v].code[c];
            if (url_of(&lists[!v], code))
                continue;
            for (int ck = 0; ck < OCFL_CK_COUNT_; ck++) {
                const struct ocfl_check_info *i = ocfl_check_info((enum ocfl_check)ck);
                char label[160];
                int bad = (i->code[!v] && !strcmp(i->code[!v], code)) ||
                          (i->also[!v] && !strcmp(i->also[!v], code));
                if (!bad)
                    continue;
                snprintf(label, sizeof(label), "%s: %s (OCFL %s only) is not given in %s", i->name,
                         code, v ? "1.1" : "1.0", v ? "1.0" : "1.1");
                CHECK_AT_(0, label, "the table gives it");
            }
        }
}

/*
 * No code is written into a finding anywhere in ocfl/ but through the table: a string literal
 * "Ennn" or "Wnnn" in any other file is a code that bypasses it.  "E000" (the mark of a caller
 * bug in report.c and of an unknown finding) is not a code of either list.
 */
static void check_sources(const char *source)
{
    char dir[4096], path[8192], *buf;
    struct dirent *de;
    DIR *d;
    int files = 0;

    snprintf(dir, sizeof(dir), "%s/ocfl", source);
    d = opendir(dir);
    CHECK_AT_(d != NULL, "ocfl/ lists", "cannot open %s", dir);
    while (d && (de = readdir(d))) {
        size_t len = strlen(de->d_name), n;
        FILE *f;
        if (len < 3 || (strcmp(de->d_name + len - 2, ".c") && strcmp(de->d_name + len - 2, ".h")) ||
            !strcmp(de->d_name, "checks.c"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        buf = malloc(1 << 20);
        n = buf ? fread(buf, 1, (1 << 20) - 1, f) : 0;
        fclose(f);
        if (!buf)
            continue;
        buf[n] = '\0';
        files++;
        for (char *p = buf; (p = strchr(p, '"')); p++) {
            if ((p[1] == 'E' || p[1] == 'W') && strspn(p + 2, "0123456789") == 3 && p[5] == '"' &&
                strncmp(p + 1, "E000", 4)) {
                char label[300];
                snprintf(label, sizeof(label), "ocfl/%s gives %.4s through the table", de->d_name,
                         p + 1);
                CHECK_AT_(0, label, "a code as a string literal");
            }
        }
        free(buf);
    }
    if (d)
        closedir(d);
    CHECK_AT_(files > 20, "the sources of ocfl/ were read", "only %d files", files);
}

int main(void)
{
    const char *shared = getenv("OCFL_SHARED"), *source = getenv("SOURCE_ROOT");
    struct code_list *lists = calloc(2, sizeof(*lists));
    char path[4096];

    CHECK_AT_(shared && *shared && source && *source, "OCFL_SHARED and SOURCE_ROOT are set",
              "set both");
    if (!shared || !*shared || !source || !*source || !lists)
        return check_done();
    snprintf(path, sizeof(path), "%s/ocfl/spec/validation-codes-1.0.md", shared);
    CHECK_AT_(load_list(path, &lists[0]) == 0, "the 1.0 list reads", "cannot read %s", path);
    snprintf(path, sizeof(path), "%s/ocfl/spec/validation-codes.md", shared);
    CHECK_AT_(load_list(path, &lists[1]) == 0, "the 1.1 list reads", "cannot read %s", path);
    printf("# %zu codes in the 1.0 list, %zu in the 1.1 list\n", lists[0].n, lists[1].n);
    check_table(lists);
    check_only_codes(lists);
    check_sources(source);
    free(lists);
    return check_done();
}
