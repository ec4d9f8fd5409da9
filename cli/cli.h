/* The pqfeed command: shared helpers for subcommands. Subcommands use only
 * the public API in include/pqfeed/. */
#ifndef PQF_CLI_H
#define PQF_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pqfeed/pqfeed.h"

/* Exit codes beyond pqf_exit_code(): */
#define PQF_EXIT_USAGE 2

/* Each subcommand: int pqf_cmd_NAME(int argc, char **argv), argv[0] = NAME. */
#define PQF_CLI_COMMAND(name, summary) int pqf_cmd_##name(int argc, char **argv);
#include "commands.def"
#undef PQF_CLI_COMMAND

/* Print "pqfeed: <msg>" for err to stderr and return its exit code. */
int pqf_cli_fail(const pqf_error *err);
/* Print a usage error and return PQF_EXIT_USAGE. */
int pqf_cli_usage(const char *cmd, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Parse a size with optional suffix (K, M, G, KiB, MiB, GiB; decimal k/m/g as
 * binary too, as dd does). Returns 0 on success. */
int pqf_cli_parse_size(const char *s, unsigned long long *out);
/* Parse a non-negative integer. Returns 0 on success. */
int pqf_cli_parse_u64(const char *s, unsigned long long *out);
/* An age or lag for people: "45s", "12m", "5h", "3d" (negative: "0s"). */
void pqf_cli_fmt_age(int64_t ms, char *out, size_t cap);
/* What goes between a directory and a name in it: "/", or nothing when dir
 * already ends with one, so joined paths never read "//". */
static inline const char *pqf_cli_path_sep(const char *dir)
{
    size_t n = strlen(dir);
    return n && dir[n - 1] == '/' ? "" : "/";
}
/* An argument no option of cmd took: an unknown option ('-' and more; a lone
 * "-" is an operand), else it fills the first of the n operand slots still
 * NULL, else it is one too many. 0, or PQF_EXIT_USAGE after saying why. */
int pqf_cli_operand(const char *cmd, const char *a, const char **const slots[], size_t n);
/* True when stderr is a terminal (progress bars). */
bool pqf_cli_isatty_err(void);

#endif
