/* cmd_config.c: `ocflfs config`: the settings in force and where each came from; set one. */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_settings.h"
#include "cli_util.h"
#include "commands.h"
#include "root.h"

static const char synopsis[] =
    "config [KEY [VALUE]] [--system | --user | --root ROOT] [--state DIR] [--json]";

struct config_args {
    const char *key, *value, *root, *state;
    int json, system, user;
};

static int parse(int argc, char **argv, struct config_args *a)
{
    static const struct option longopts[] = {
        {"json", no_argument, NULL, 'j'},
        {"system", no_argument, NULL, 'S'},
        {"user", no_argument, NULL, 'U'},
        {"root", required_argument, NULL, 'r'},
        {"state", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'j':
            a->json = 1;
            break;
        case 'S':
            a->system = 1;
            break;
        case 'U':
            a->user = 1;
            break;
        case 'r':
            a->root = optarg;
            break;
        case 's':
            a->state = optarg;
            break;
        case 'h':
            printf("usage: ocflfs %s\n", synopsis);
            return -1;
        default:
            return cli_usage(synopsis, "config: bad option");
        }
    }
    if (argc - optind > 2)
        return cli_usage(synopsis, "config: expected at most KEY and VALUE");
    a->key = optind < argc ? argv[optind] : NULL;
    a->value = optind + 1 < argc ? argv[optind + 1] : NULL;
    if (a->system + a->user + !!a->root > 1)
        return cli_usage(synopsis, "config: one of --system, --user, --root ROOT");
    if ((a->system || a->user) && !a->value)
        return cli_usage(synopsis, "config: --system and --user choose the file KEY VALUE sets");
    if (a->state && !a->root)
        return cli_usage(synopsis, "config: --state needs --root");
    if (a->json && a->value)
        return cli_usage(synopsis, "config: --json prints; it sets nothing");
    return 0;
}

/* Where a value came from: "default", or "SOURCE FILE:LINE". */
static void origin(enum ocfl_settings_source src, const char *where, char *buf, size_t size)
{
    if (src == OCFL_SETTINGS_DEFAULT)
        snprintf(buf, size, "default");
    else
        snprintf(buf, size, "%s %s", ocfl_settings_source_name(src), where);
}

static int print_settings(const struct config_args *a, const struct ocfl_settings *s)
{
    enum ocfl_settings_source src;
    const char *where, *v;
    char o[4400];

    if (a->key) {
        if (!(v = ocfl_settings_get(s, a->key, &src, &where))) {
            cli_error("config: '%s': no such key", a->key);
            return EXIT_FAIL;
        }
        if (a->json) {
            cli_print_json(json_pack("{s:s, s:s, s:s, s:s}", "key", a->key, "value", v, "source",
                                     ocfl_settings_source_name(src), "where", where));
        } else {
            printf("%s\n", v);
        }
        return EXIT_OK;
    }
    if (!a->json) {
        for (size_t i = 0; i < ocfl_settings_n_keys(); i++) {
            v = ocfl_settings_get(s, ocfl_settings_key(i), &src, &where);
            origin(src, where, o, sizeof(o));
            printf("%s = %s  # %s\n", ocfl_settings_key(i), v, o);
        }
        return EXIT_OK;
    }
    json_t *doc = json_object(), *files = json_object(), *set = json_object();
    char *sys = NULL, *user = NULL, *rootf = NULL;
    cli_settings_system_path(&sys);
    cli_settings_user_path(&user);
    if (a->root)
        cli_settings_root_path(a->root, a->state, &rootf);
    json_object_set_new(files, "system", sys ? json_string(sys) : json_null());
    json_object_set_new(files, "user", user ? json_string(user) : json_null());
    json_object_set_new(files, "root", rootf ? json_string(rootf) : json_null());
    free(sys);
    free(user);
    free(rootf);
    for (size_t i = 0; i < ocfl_settings_n_keys(); i++) {
        v = ocfl_settings_get(s, ocfl_settings_key(i), &src, &where);
        json_object_set_new(set, ocfl_settings_key(i),
                            json_pack("{s:s, s:s, s:s, s:s, s:b}", "value", v, "source",
                                      ocfl_settings_source_name(src), "where", where, "default",
                                      ocfl_settings_key_default(i), "system_only",
                                      ocfl_settings_key_secure(i)));
    }
    json_object_set_new(doc, "files", files);
    json_object_set_new(doc, "settings", set);
    cli_print_json(doc);
    return EXIT_OK;
}

static int set_one(const struct config_args *a)
{
    struct ocfl_err err = {0};
    enum ocfl_settings_source src = a->system ? OCFL_SETTINGS_SYSTEM
                                    : a->root ? OCFL_SETTINGS_ROOT
                                              : OCFL_SETTINGS_USER;
    char *path = NULL;
    int r;

    r = src == OCFL_SETTINGS_SYSTEM ? cli_settings_system_path(&path)
        : src == OCFL_SETTINGS_ROOT ? cli_settings_root_path(a->root, a->state, &path)
                                    : cli_settings_user_path(&path);
    if (r < 0) {
        cli_error("config: cannot name the %s file: %s", ocfl_settings_source_name(src),
                  r == -ENOENT ? "no home directory" : strerror(-r));
        return EXIT_FAIL;
    }
    r = ocfl_settings_write(path, a->key, a->value, src, &err);
    if (r < 0) {
        cli_error("config: %s: %s", path, err.msg);
        free(path);
        return r == -ENOENT || r == -EINVAL ? EXIT_USAGE : EXIT_FAIL;
    }
    free(path);
    return EXIT_OK;
}

int cmd_config(int argc, char **argv)
{
    struct config_args a = {0};
    struct ocfl_settings *s = NULL;
    struct ocfl_err err = {0};
    int r = parse(argc, argv, &a);

    if (r)
        return r < 0 ? EXIT_OK : r;
    if (a.root) {
        /* a root's settings live in its state directory: only beside a storage root */
        struct ocfl_root *root = NULL;
        if (ocfl_root_open(a.root, &root, &err) < 0)
            return cli_fail(&err);
        ocfl_root_close(root);
    }
    if (a.value)
        return set_one(&a);
    if (cli_settings_load(a.root, a.state, &s, &err) < 0)
        return cli_fail(&err);
    r = print_settings(&a, s);
    ocfl_settings_free(s);
    return r;
}
