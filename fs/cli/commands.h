/* commands.h: one function per `ocflfs` subcommand. */
#ifndef OCFLFS_COMMANDS_H
#define OCFLFS_COMMANDS_H

/*
 * Each takes the arguments after the subcommand name (argv[0] is the
 * subcommand) and returns the process exit status: 0 success, 1 failure or
 * invalid, 2 usage error.  Errors go to stderr as "ocflfs: WHAT: WHY".
 */
int cmd_init(int argc, char **argv);
int cmd_validate(int argc, char **argv);
int cmd_ls(int argc, char **argv);
int cmd_log(int argc, char **argv);
int cmd_put(int argc, char **argv);
int cmd_plans(int argc, char **argv);
int cmd_plan(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_cancel(int argc, char **argv);
int cmd_mount(int argc, char **argv);
int cmd_umount(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_cat(int argc, char **argv);
int cmd_diff(int argc, char **argv);
int cmd_export(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_discard(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_config(int argc, char **argv);
int cmd_serve(int argc, char **argv);

#endif
