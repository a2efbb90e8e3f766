/* cli_util.h: what every subcommand shares: error output, exit codes, progress. */
#ifndef OCFLFS_CLI_UTIL_H
#define OCFLFS_CLI_UTIL_H

#include <stdint.h>
#include <jansson.h>
#include <stdio.h>

#include "err.h"

#define EXIT_OK    0
#define EXIT_FAIL  1
#define EXIT_USAGE 2

/* Print "ocflfs: " + message + "\n" to stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Print "ocflfs: " + err->msg; returns EXIT_FAIL. */
int cli_fail(const struct ocfl_err *err);

/* Print a usage error and the subcommand's synopsis; returns EXIT_USAGE. */
int cli_usage(const char *synopsis, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * Parse the options of a subcommand whose only option is --json (and -h):
 * sets *ret_json and returns -1 to go on, or the exit status to return
 * (usage printed).  optind is left at the first operand.
 */
int cli_json_option(int argc, char **argv, const char *synopsis, int *ret_json);

/* Print @doc to stdout as indented JSON (ASCII, newline-terminated); takes the reference. */
void cli_print_json(json_t *doc);

/*
 * Read a file the user named on the command line (not part of a storage
 * root, so ordinary path resolution applies), at most @max bytes.
 * *ret is malloc'd and NUL-terminated.
 */
int cli_read_file(const char *path, size_t max, char **ret, struct ocfl_err *err);

/*
 * A progress line on stderr, only when stderr is a terminal: rewritten in
 * place at most a few times a second.  cli_progress_done() ends the line.
 */
struct cli_progress {
    int enabled;
    double last;
    int shown;
};
void cli_progress_init(struct cli_progress *p);
void cli_progress_update(struct cli_progress *p, const char *what, uint64_t done, uint64_t total);
void cli_progress_done(struct cli_progress *p);

/* ocfl_root_open for the commands that look objects up by id: with $OCFLFS_FIND_MISPLACED
 * set to 1, a root whose objects may not be where its layout puts them is walked when the
 * layout's path has no such object (else the layout decides: see ocfl_root_find_object). */
struct ocfl_root;
int cli_root_open(const char *path, struct ocfl_root **ret, struct ocfl_err *err);

/* *@user, or when NULL the user who runs the command as passwd has them (the name kept in
 * @me: identity_release it).  0, or an error. */
struct identity;
int cli_user_or_me(const char **user, struct identity *me, struct ocfl_err *err);

/* RFC 3339 "now" in UTC into @buf, or $OCFLFS_TEST_CREATED (tests fix the timestamp). */
void cli_created_now(char *buf, size_t size);

#endif
