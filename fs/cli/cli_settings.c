/* cli_settings.c: the settings a command runs with: which files, in what order, what they set. */
#include "cli_settings.h"
#include "cli_util.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_settings_system_path(char **ret)
{
    const char *env = getenv("OCFLFS_SYSTEM_CONFIG");

    *ret = strdup(env && *env ? env : "/etc/ocflfs.conf");
    return *ret ? 0 : -ENOMEM;
}

int cli_settings_user_path(char **ret)
{
    const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
    struct passwd *pw;

    if (xdg && xdg[0] == '/')
        return asprintf(ret, "%s/ocflfs/config", xdg) < 0 ? -ENOMEM : 0;
    if ((!home || !*home) && (pw = getpwuid(getuid())))
        home = pw->pw_dir;
    if (!home || !*home)
        return -ENOENT;
    return asprintf(ret, "%s/.config/ocflfs/config", home) < 0 ? -ENOMEM : 0;
}

int cli_settings_root_path(const char *root, const char *state, char **ret)
{
    int n = state ? asprintf(ret, "%s/ocflfs.conf", state)
                  : asprintf(ret, "%s/extensions/ocflfs/ocflfs.conf", root);
    return n < 0 ? -ENOMEM : 0;
}

int cli_settings_load(const char *root, const char *state, struct ocfl_settings **ret,
                      struct ocfl_err *err)
{
    struct ocfl_settings *s = NULL;
    char *sys = NULL, *user = NULL, *rootf = NULL;
    int r;

    if (ocfl_settings_new(&s) < 0 || cli_settings_system_path(&sys) < 0 ||
        (root && cli_settings_root_path(root, state, &rootf) < 0)) {
        r = ocfl_err_set(err, -ENOMEM, "cannot read the settings: out of memory");
        goto out;
    }
    r = cli_settings_user_path(&user);
    if (r == -ENOMEM) {
        r = ocfl_err_set(err, r, "cannot read the settings: out of memory");
        goto out;
    }
    r = ocfl_settings_load_file(s, sys, OCFL_SETTINGS_SYSTEM, (uid_t)-1, err);
    if (r >= 0 && user)
        r = ocfl_settings_load_file(s, user, OCFL_SETTINGS_USER, (uid_t)-1, err);
    if (r >= 0 && rootf) {
        /* inside a storage root others may write: only the running user's own file */
        r = ocfl_settings_load_file(s, rootf, OCFL_SETTINGS_ROOT, getuid(), err);
        if (r == -EPERM) {
            cli_error("warning: %s", err->msg);
            ocfl_err_clear(err);
            r = 0;
        }
    }
out:
    free(sys);
    free(user);
    free(rootf);
    if (r < 0) {
        ocfl_settings_free(s);
        return r;
    }
    *ret = s;
    return 0;
}

void cli_settings_journal(const struct ocfl_settings *s, struct journal_retry *r,
                          struct journal_options *o)
{
    char key[64];
    int codes[JOURNAL_RETRY_CODES_MAX], n;

    for (int k = 0; k < JOURNAL_RETRY_KIND_COUNT; k++) {
        const char *kind = journal_retry_kind_name(k);
        journal_retry_default(&r[k]);
        snprintf(key, sizeof(key), "retry.%s.initial_interval", kind);
        r[k].initial_ms = ocfl_settings_ms(s, key);
        snprintf(key, sizeof(key), "retry.%s.backoff_coefficient", kind);
        r[k].coefficient = ocfl_settings_number(s, key);
        snprintf(key, sizeof(key), "retry.%s.maximum_interval", kind);
        r[k].max_ms = ocfl_settings_ms(s, key);
        snprintf(key, sizeof(key), "retry.%s.maximum_attempts", kind);
        r[k].max_attempts = ocfl_settings_count(s, key);
        snprintf(key, sizeof(key), "retry.%s.non_retryable", kind);
        n = ocfl_settings_errnos(s, key, codes, JOURNAL_RETRY_CODES_MAX);
        r[k].n_non_retryable = n > 0 ? (unsigned)n : 0;
        for (int i = 0; i < n; i++)
            r[k].non_retryable[i] = -codes[i];
    }
    o->retry = r;
    o->threads = ocfl_settings_count(s, "threads.content");
}

void cli_settings_identity(const struct ocfl_settings *s, const char **user, const char **address)
{
    const char *name = ocfl_settings_get(s, "user.name", NULL, NULL),
               *addr = ocfl_settings_get(s, "user.address", NULL, NULL);

    if (*user || !name || !*name)
        return;
    *user = name;
    if (addr && *addr)
        *address = addr;
}
