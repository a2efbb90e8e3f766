/* cmd_ls.c: placeholder until its owner writes it. */
#include "cli_util.h"
#include "commands.h"

int cmd_ls(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("ls: not built yet");
    return EXIT_FAIL;
}
