/* SPDX-License-Identifier: Apache-2.0 */
/* teevault CLI entry point; everything else is in teevault.c and cmd_*.c. */
#include "cli.h"

int main(int argc, char **argv)
{
    return cli_main(argc, argv);
}
