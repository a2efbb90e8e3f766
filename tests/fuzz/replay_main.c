/* replay_main.c: feed every file of a corpus directory through a libFuzzer target (TAP). */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t len = 0, alloc = 0, got;

    if (!f)
        return -1;
    do {
        if (len == alloc) {
            uint8_t *nb = realloc(buf, alloc ? alloc * 2 : 65536);
            if (!nb) {
                free(buf);
                fclose(f);
                return -1;
            }
            buf = nb;
            alloc = alloc ? alloc * 2 : 65536;
        }
        got = fread(buf + len, 1, alloc - len, f);
        len += got;
    } while (got);
    fclose(f);
    /* an exact-size copy so that ASan sees any read past the end */
    uint8_t *exact = malloc(len ? len : 1);
    if (!exact) {
        free(buf);
        return -1;
    }
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

int main(int argc, char **argv)
{
    struct dirent **names;
    int n, done = 0, failed = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
        return 2;
    }
    n = scandir(argv[1], &names, NULL, alphasort);
    if (n < 0) {
        printf("Bail out! cannot list '%s'\n", argv[1]);
        return 1;
    }
    for (int i = 0; i < n; i++) {
        char path[4096];
        if (names[i]->d_name[0] != '.' && (size_t)snprintf(path, sizeof(path), "%s/%s", argv[1],
                                                           names[i]->d_name) < sizeof(path)) {
            int r = replay(path);
            done++;
            printf("%s %d - %s\n", r == 0 ? "ok" : "not ok", done, names[i]->d_name);
            failed += r != 0;
        }
        free(names[i]);
    }
    free(names);
    printf("1..%d\n", done);
    if (done < 10) {
        printf("# corpus '%s' has only %d files\n", argv[1], done);
        return 1;
    }
    return failed ? 1 : 0;
}
