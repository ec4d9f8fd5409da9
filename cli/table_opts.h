/* Options shared by the commands that read records and write Parquet
 * (convert, export): the input dialect and the writer settings. */
#ifndef PQF_CLI_TABLE_OPTS_H
#define PQF_CLI_TABLE_OPTS_H

#include <stdio.h>

#include "pqfeed/source.h"
#include "pqfeed/writer.h"

#define PQF_CLI_MAX_COLOPTS 256

typedef struct pqf_cli_table_opts {
    pqf_source_opts source;
    pqf_writer_opts writer;
    pqf_column_opts cols[PQF_CLI_MAX_COLOPTS];
    size_t ncols;
    char *names[PQF_CLI_MAX_COLOPTS]; /* owns the column names of --bloom */
    size_t nnames;
} pqf_cli_table_opts;

void pqf_cli_table_opts_init(pqf_cli_table_opts *t);
void pqf_cli_table_opts_free(pqf_cli_table_opts *t);
/* If argv[*i] is an input or writer option, consume it (and its value) and
 * return 1; 0 when it is not one; -1 on a bad value (usage printed). */
int pqf_cli_table_arg(const char *cmd, int argc, char **argv, int *i, pqf_cli_table_opts *t);
/* Help lines for those options. */
void pqf_cli_table_help(FILE *f);

#endif
