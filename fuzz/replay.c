/* Regression driver (after zstd's tests/fuzz/regression_driver.c): replays
 * every file of the given corpus directories (or files) through a fuzz
 * target without libFuzzer, so the normal test run (and its sanitizer build)
 * covers every input the fuzzers ever found. Prints one TAP line per corpus
 * argument. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "replay: cannot open %s\n", path);
        return -1;
    }
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *buf = malloc(n > 0 ? (size_t)n : 1);
    if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
        fclose(f);
        free(buf);
        fprintf(stderr, "replay: cannot read %s\n", path);
        return -1;
    }
    fclose(f);
    LLVMFuzzerTestOneInput(buf, (size_t)n);
    free(buf);
    return 0;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
    int failed = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        long count = 0;
        if (stat(argv[i], &st) != 0) {
            printf("not ok %d - replay %s (missing)\n", i, argv[i]);
            failed++;
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            DIR *d = opendir(argv[i]);
            char **names = NULL;
            size_t nn = 0, cap = 0;
            struct dirent *e;
            while (d && (e = readdir(d))) {
                if (e->d_name[0] == '.')
                    continue;
                if (nn == cap) {
                    cap = cap ? cap * 2 : 64;
                    names = realloc(names, cap * sizeof *names);
                }
                names[nn++] = strdup(e->d_name);
            }
            if (d)
                closedir(d);
            if (nn)
                qsort(names, nn, sizeof *names, cmp);
            for (size_t k = 0; k < nn; k++) {
                char path[4096];
                struct stat fst;
                snprintf(path, sizeof path, "%s/%s", argv[i], names[k]);
                /* regular files only: subfolders hold other material */
                if (stat(path, &fst) == 0 && S_ISREG(fst.st_mode) && run_file(path) == 0)
                    count++;
                free(names[k]);
            }
            free(names);
        } else if (run_file(argv[i]) == 0) {
            count++;
        }
        printf("ok %d - replay %s (%ld inputs)\n", i, argv[i], count);
    }
    return failed ? 1 : 0;
}
