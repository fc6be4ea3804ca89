/* commands.h - kiln-render's subcommands, one file each (cmd_*.c). Each
 * takes the arguments after its name and returns the exit status. */
#ifndef KILN_COMMANDS_H
#define KILN_COMMANDS_H

int cmd_devices(int argc, char **argv);
int cmd_op(int argc, char **argv);
int cmd_encode_text(int argc, char **argv);
int cmd_unet(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_st_dump(int argc, char **argv);
int cmd_sample(int argc, char **argv);
int cmd_vae_decode(int argc, char **argv);
int cmd_vae_encode(int argc, char **argv);
int cmd_tune(int argc, char **argv);
int cmd_bench_gemm(int argc, char **argv);
int cmd_render(int argc, char **argv);

#endif
