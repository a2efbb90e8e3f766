/* cmd_put.c: placeholder until its owner writes it. */
#include "cli_util.h"
#include "commands.h"

int cmd_put(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("put: not built yet");
    return EXIT_FAIL;
}
