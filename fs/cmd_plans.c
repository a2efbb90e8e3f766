/* cmd_plans.c: placeholder until its owner writes it. */
#include "cli_util.h"
#include "commands.h"

int cmd_plans(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("plans: not built yet");
    return EXIT_FAIL;
}

int cmd_plan(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("plan: not built yet");
    return EXIT_FAIL;
}

int cmd_resume(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("resume: not built yet");
    return EXIT_FAIL;
}

int cmd_cancel(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    cli_error("cancel: not built yet");
    return EXIT_FAIL;
}
