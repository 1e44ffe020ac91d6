/*
 * cli: the command-line options, declared once. main() builds getopt_long's
 * table and --help from it; the documentation test checks the man page
 * against it.
 */
#ifndef CP_CLI_H
#define CP_CLI_H

#include <stddef.h>

struct cli_option {
	const char	*name;		/* long name */
	int		 letter;	/* short option, 0 = long only */
	const char	*arg;		/* argument name, NULL = none */
	const char	*help;
};

extern const struct cli_option	 cli_options[];
extern const size_t		 cli_noptions;

#endif
