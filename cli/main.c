/* pqfeed command-line entry: dispatches to cli/cmd_*.c. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

typedef struct {
    const char *name;
    const char *summary;
    int (*fn)(int, char **);
} command;

static const command commands[] = {
#define PQF_CLI_COMMAND(name, summary) {#name, summary, pqf_cmd_##name},
#include "commands.def"
#undef PQF_CLI_COMMAND
};

static void usage(FILE *f)
{
    fprintf(f, "usage: pqfeed COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-12s %s\n", commands[i].name, commands[i].summary);
    fprintf(f, "\n'pqfeed COMMAND --help' describes a command. Exit codes: docs/CLI.md.\n");
}

int pqf_cli_fail(const pqf_error *err)
{
    fprintf(stderr, "pqfeed: %s\n", err->msg[0] ? err->msg : pqf_strerror(err->code));
    return pqf_exit_code(err->code);
}

int pqf_cli_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "pqfeed %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " (see 'pqfeed %s --help')\n", cmd);
    return PQF_EXIT_USAGE;
}

int pqf_cli_parse_u64(const char *s, unsigned long long *out)
{
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end)
        return -1;
    *out = v;
    return 0;
}

int pqf_cli_parse_size(const char *s, unsigned long long *out)
{
    if (!s || !*s || *s == '-')
        return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (end == s || errno == ERANGE)
        return -1;
    unsigned long long mul = 1;
    if (*end == 'k' || *end == 'K')
        mul = 1ull << 10;
    else if (*end == 'm' || *end == 'M')
        mul = 1ull << 20;
    else if (*end == 'g' || *end == 'G')
        mul = 1ull << 30;
    else if (*end)
        return -1;
    if (*end) {
        end++;
        if (strcmp(end, "iB") != 0 && strcmp(end, "B") != 0 && *end)
            return -1;
    }
    if (v > ~0ull / mul)
        return -1;
    *out = v * mul;
    return 0;
}

bool pqf_cli_isatty_err(void) { return isatty(STDERR_FILENO) == 1; }

int pqf_cmd_version(int argc, char **argv)
{
    (void)argc;
    (void)argv;
    printf("pqfeed %s\n", pqf_version());
    return 0;
}

/* Credentials, session tokens and SSE-C keys live in this process's memory:
 * no core dump of it is written (and it cannot be ptrace-attached by other
 * users' processes). PQF_ALLOW_CORE=1 keeps core dumps for debugging. */
static void no_core_dumps(void)
{
    const char *allow = getenv("PQF_ALLOW_CORE");
    if (allow && strcmp(allow, "1") == 0)
        return;
    struct rlimit rl = {0, 0};
    setrlimit(RLIMIT_CORE, &rl);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
}

int main(int argc, char **argv)
{
    no_core_dumps();
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? PQF_EXIT_USAGE : 0;
    }
    if (strcmp(argv[1], "--version") == 0)
        return pqf_cmd_version(argc - 1, argv + 1);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(argv[1], commands[i].name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "pqfeed: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return PQF_EXIT_USAGE;
}

void pqf_cli_fmt_age(int64_t ms, char *out, size_t cap)
{
    int64_t s = ms / 1000;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(out, cap, "%" PRId64 "s", s);
    else if (s < 7200)
        snprintf(out, cap, "%" PRId64 "m", s / 60);
    else if (s < 172800)
        snprintf(out, cap, "%" PRId64 "h", s / 3600);
    else
        snprintf(out, cap, "%" PRId64 "d", s / 86400);
}

int pqf_cli_operand(const char *cmd, const char *a, const char **const slots[], size_t n)
{
    if (a[0] == '-' && a[1])
        return pqf_cli_usage(cmd, "unknown option '%s'", a);
    for (size_t k = 0; k < n; k++)
        if (!*slots[k]) {
            *slots[k] = a;
            return 0;
        }
    return pqf_cli_usage(cmd, "unexpected argument '%s'", a);
}
