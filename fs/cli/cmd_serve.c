/* cmd_serve.c: `ocflfs serve`: the read-only web view of a storage root, until SIGINT/SIGTERM. */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli_util.h"
#include "commands.h"
#include "web.h"

static const char synopsis[] = "serve ROOT [--listen ADDR] [--state DIR]";

int cmd_serve(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"state", required_argument, NULL, 's'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    struct web_options o = {0};
    struct ocfl_err err = {0};
    struct web *w = NULL;
    sigset_t set;
    int c, sig;

    optind = 1;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        if (c == 'l') {
            o.listen = optarg;
        } else if (c == 's') {
            o.state_dir = optarg;
        } else if (c == 'h') {
            printf("usage: ocflfs %s\n", synopsis);
            return EXIT_OK;
        } else {
            return cli_usage(synopsis, "%s: bad option", argv[0]);
        }
    }
    if (argc - optind != 1)
        return cli_usage(synopsis, "serve: expected exactly one ROOT");
    o.root = argv[optind];
    /* the server's threads inherit the mask: the signals come to sigwait below */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (web_start(&o, &w, &err) < 0)
        return cli_fail(&err);
    printf("serving %s at %s (read-only; Ctrl-C ends)\n", o.root, web_url(w));
    if (web_is_remote(w))
        printf("note: %s is reachable from other hosts, without a password: anyone who can "
               "connect can read every object and plan\n",
               web_url(w));
    fflush(stdout);
    sigwait(&set, &sig);
    web_stop(w);
    return EXIT_OK;
}
