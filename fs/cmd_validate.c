/* cmd_validate.c: placeholder until its owner writes it. */
#include "cli_util.h"
#include "commands.h"

int cmd_validate(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("validate: not built yet");
    return EXIT_FAIL;
}
