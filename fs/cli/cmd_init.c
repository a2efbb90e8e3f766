/* cmd_init.c: `ocflfs init`: create an empty OCFL storage root. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli_settings.h"
#include "cli_util.h"
#include "commands.h"
#include "root.h"

static const char synopsis[] =
    "init ROOT [--layout NAME] [--layout-config FILE] [--digest sha512|sha256]";

int cmd_init(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"layout", required_argument, NULL, 'l'},
        {"layout-config", required_argument, NULL, 'c'},
        {"digest", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    const char *layout = NULL, *config_file = NULL, *digest = NULL;
    struct ocfl_settings *s = NULL;
    struct ocfl_err err = {0};
    char *config = NULL;
    int c, rc;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'l':
            layout = optarg;
            break;
        case 'c':
            config_file = optarg;
            break;
        case 'd':
            digest = optarg;
            break;
        case 'h':
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK;
        default:
            return cli_usage(synopsis, "init: bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage(synopsis, "init: expected exactly one ROOT");
    if (digest && strcmp(digest, "sha512") && strcmp(digest, "sha256"))
        return cli_usage(synopsis, "init: '%s': digest must be sha512 or sha256", digest);
    /* without --layout and --digest, the settings' (a root to be has no file of its own) */
    if (cli_settings_load(NULL, NULL, &s, &err) < 0)
        return cli_fail(&err);
    if (!layout)
        layout = ocfl_settings_get(s, "init.layout", NULL, NULL);
    if (!digest)
        digest = ocfl_settings_get(s, "init.digest", NULL, NULL);
    if (config_file && cli_read_file(config_file, 1 << 20, &config, &err) < 0) {
        ocfl_settings_free(s);
        return cli_fail(&err);
    }

    rc = ocfl_root_create(argv[optind], layout, config, digest, &err);
    free(config);
    if (rc < 0) {
        ocfl_settings_free(s);
        return cli_fail(&err);
    }
    printf("initialized OCFL 1.1 storage root '%s' (layout %s, digest %s)\n", argv[optind], layout,
           digest);
    ocfl_settings_free(s);
    return EXIT_OK;
}
