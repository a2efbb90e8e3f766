/* cmd_validate.c: `ocflfs validate PATH [--json] [--no-digests]`: an object or a storage root. */
#include <fcntl.h>
#include <jansson.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"
#include "report.h"
#include "validate.h"

static const char synopsis[] = "validate PATH [--json] [--no-digests]";

static void on_progress(void *ctx, uint64_t done, uint64_t total)
{
    cli_progress_update(ctx, "validating", done, total);
}

static int print_json(const char *path, int is_root, const struct ocfl_report *r)
{
    json_t *doc, *errors, *warnings;
    int rc = -1;

    errors = json_array();
    warnings = json_array();
    doc = json_object();
    if (!errors || !warnings || !doc)
        goto out;
    for (size_t i = 0; i < r->n; i++) {
        const struct ocfl_finding *f = &r->items[i];
        json_t *item = json_pack("{s:s, s:s, s:s}", "code", f->code, "path", f->path ? f->path : "",
                                 "message", f->message ? f->message : "");
        if (!item || json_array_append_new(f->severity == OCFL_ERROR ? errors : warnings, item))
            goto out;
    }
    if (json_object_set_new(doc, "path", json_string(path)) ||
        json_object_set_new(doc, "type", json_string(is_root ? "root" : "object")) ||
        json_object_set_new(doc, "valid", json_boolean(r->n_errors == 0)) ||
        json_object_set(doc, "errors", errors) || json_object_set(doc, "warnings", warnings))
        goto out;
    rc = json_dumpf(doc, stdout, JSON_INDENT(2)) < 0 ? -1 : 0;
    if (rc == 0)
        fputc('\n', stdout);
out:
    json_decref(doc);
    json_decref(errors);
    json_decref(warnings);
    return rc;
}

int cmd_validate(int argc, char **argv)
{
    struct ocfl_validate_opts opts;
    struct ocfl_report report;
    struct ocfl_err err = {0};
    struct cli_progress progress;
    const char *path = NULL;
    int json = 0, kind, rc;

    ocfl_validate_opts_init(&opts);
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK;
        } else if (!strcmp(argv[i], "--no-digests"))
            opts.check_digests = 0;
        else if (argv[i][0] == '-' && argv[i][1])
            return cli_usage(synopsis, "validate: unknown option '%s'", argv[i]);
        else if (path)
            return cli_usage(synopsis, "validate: one PATH only");
        else
            path = argv[i];
    }
    if (!path)
        return cli_usage(synopsis, "validate: PATH is missing");

    kind = ocfl_validate_detect(AT_FDCWD, path, &err);
    if (kind < 0)
        return cli_fail(&err);
    if (kind == OCFL_VALIDATE_NEITHER) {
        cli_error("%s: not an OCFL object or storage root", path);
        return EXIT_FAIL;
    }

    cli_progress_init(&progress);
    if (progress.enabled && opts.check_digests) {
        opts.progress = on_progress;
        opts.progress_ctx = &progress;
    }
    ocfl_report_init(&report);
    if (kind == OCFL_VALIDATE_ROOT)
        rc = ocfl_validate_root(AT_FDCWD, path, &opts, &report, &err);
    else
        rc = ocfl_validate_object(AT_FDCWD, path, &opts, &report, &err);
    cli_progress_done(&progress);
    if (rc < 0) {
        ocfl_report_release(&report);
        return cli_fail(&err);
    }

    if (json) {
        if (print_json(path, kind == OCFL_VALIDATE_ROOT, &report) < 0) {
            cli_error("%s: cannot write the JSON report", path);
            ocfl_report_release(&report);
            return EXIT_FAIL;
        }
    } else {
        for (size_t i = 0; i < report.n; i++) {
            const struct ocfl_finding *f = &report.items[i];
            printf("%s %s: %s\n", f->code, f->path && *f->path ? f->path : ".",
                   f->message ? f->message : "");
        }
    }
    fflush(stdout);
    fprintf(stderr, "%s: %s %s, %zu error%s, %zu warning%s%s\n", path,
            report.n_errors ? "invalid" : "valid",
            kind == OCFL_VALIDATE_ROOT ? "storage root" : "object", report.n_errors,
            report.n_errors == 1 ? "" : "s", report.n_warnings, report.n_warnings == 1 ? "" : "s",
            opts.check_digests ? "" : " (digests not checked)");
    rc = report.n_errors || report.oom ? EXIT_FAIL : EXIT_OK;
    ocfl_report_release(&report);
    return rc;
}
