/* cmd_log.c: placeholder until its owner writes it. */
#include "cli_util.h"
#include "commands.h"

int cmd_log(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("log: not built yet");
    return EXIT_FAIL;
}
