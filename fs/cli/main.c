/* main.c: `ocflfs SUBCOMMAND ...`: dispatch to the subcommands. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_util.h"
#include "commands.h"

struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *synopsis;
};

static const struct command commands[] = {
    {"init", cmd_init, "init ROOT [--layout NAME] [--layout-config FILE] [--digest sha512|sha256]"},
    {"mount", cmd_mount,
     "mount ROOT MOUNTPOINT [-f] [--state DIR] [--user NAME [--address URI]] [--user-map FILE] "
     "[--address-template T] [--log FILE] [--fresh-state] [-o OPTS]"},
    {"umount", cmd_umount, "umount MOUNTPOINT [--ctl NAME] [--timeout SECONDS]"},
    {"validate", cmd_validate,
     "validate PATH [ID] [--json] [--no-digests] [--quiet] [--no-warnings]"},
    {"ls", cmd_ls, "ls ROOT [--json]"},
    {"log", cmd_log, "log ROOT ID [PATH] [--json]"},
    {"show", cmd_show, "show ROOT ID [-v VERSION] [--json]"},
    {"cat", cmd_cat, "cat ROOT ID PATH [-v VERSION]"},
    {"diff", cmd_diff, "diff ROOT ID [VA [VB]] [--json]"},
    {"export", cmd_export, "export ROOT ID DIR [-v VERSION]"},
    {"put", cmd_put,
     "put ROOT ID [DIR] -m MSG [--merge] [--remove PATH]... [--user NAME [--address URI]] "
     "[--state DIR]"},
    {"status", cmd_status, "status ROOT [ID] [--json] [--state DIR]"},
    {"discard", cmd_discard, "discard ROOT ID [PATH...] [--state DIR]"},
    {"plans", cmd_plans,
     "plans ROOT [--json] [--all | --failed | --watch [--interval S]] [--state DIR]"},
    {"plan", cmd_plan, "plan ROOT PLAN [--json] [--state DIR]"},
    {"resume", cmd_resume, "resume ROOT [PLAN] [--state DIR]"},
    {"cancel", cmd_cancel, "cancel ROOT PLAN [--state DIR]"},
    {"purge", cmd_purge, "purge ROOT ID [--yes] [--user NAME [--address URI]] [--state DIR]"},
    {"config", cmd_config,
     "config [KEY [VALUE]] [--system | --user | --root ROOT] [--state DIR] [--json]"},
    {"serve", cmd_serve, "serve ROOT [--listen ADDR] [--state DIR]"},
};

static void usage(FILE *out)
{
    fprintf(out, "usage: ocflfs COMMAND [ARGS]\n\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(out, "  ocflfs %s\n", commands[i].synopsis);
    fprintf(out, "\nExit status: 0 success, 1 invalid or failed, 2 usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return EXIT_USAGE;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return EXIT_OK;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("ocflfs %s\n", OCFLFS_VERSION);
        return EXIT_OK;
    }
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        if (!strcmp(argv[1], commands[i].name))
            return commands[i].run(argc - 1, argv + 1);
    /* `ocflfs ROOT MOUNTPOINT [-o OPTS]`: how mount.fuse3 runs a file system for
     * `mount -t fuse.ocflfs` and fstab lines of type fuse.ocflfs */
    if (argc >= 3 && strchr(argv[1], '/')) {
        char **mv = calloc((size_t)argc + 1, sizeof(*mv));
        int rc;
        if (!mv)
            return EXIT_FAIL;
        mv[0] = "mount";
        for (int i = 1; i < argc; i++)
            mv[i] = argv[i];
        rc = cmd_mount(argc, mv);
        free(mv);
        return rc;
    }
    cli_error("'%s': unknown command (see 'ocflfs --help')", argv[1]);
    return EXIT_USAGE;
}
