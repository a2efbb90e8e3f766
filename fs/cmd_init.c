/* cmd_init.c: placeholder until its owner writes it. */
#include "cli_util.h"
#include "commands.h"

int cmd_init(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("init: not built yet");
    return EXIT_FAIL;
}
