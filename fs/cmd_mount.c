/* cmd_mount.c: placeholder until its owner writes it. */
#include "cli_util.h"
#include "commands.h"

int cmd_mount(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("mount: not built yet");
    return EXIT_FAIL;
}
