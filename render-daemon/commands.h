/* commands.h - kiln-render's subcommands, one file each (cmd_*.c). Each
 * takes the arguments after its name and returns the exit status. */
#ifndef KILN_COMMANDS_H
#define KILN_COMMANDS_H

int cmd_devices(int argc, char **argv);
int cmd_op(int argc, char **argv);

#endif
