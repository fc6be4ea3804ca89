/* commands.h - kiln-render's subcommands, one file each (cmd_*.c). Each
 * takes the arguments after its name and returns the exit status. */
#ifndef KILN_COMMANDS_H
#define KILN_COMMANDS_H

#include <stddef.h>

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
int cmd_bench_attention(int argc, char **argv);
int cmd_render(int argc, char **argv);

struct engine_opts;
struct kiln_rt;

/* The engine's options for a kiln-render command: the defaults, the
 * user's directories, then the KILN_* environment (engine_env.h): the
 * one place the command line reads them. Returns 0, or -1 with err. */
int cli_engine_opts(struct engine_opts *o, char *err, size_t errlen);

/* rt_open with cli_engine_opts' options. */
int cli_rt_open(struct kiln_rt **rt, const char *device, char *err,
	size_t errlen);

/* Tests (--fail-each-alloc): runs fn(arg), a forward pass that frees
 * what it makes, once for every device allocation it makes with that
 * allocation failing (rt->fail_alloc), then once without a failure, and
 * checks that each failed run gave back all the device memory it took:
 * error paths are otherwise never taken. Returns the number of failures
 * walked, or -1 after saying on stderr which one kept memory. */
int walk_alloc_failures(struct kiln_rt *rt, const char *cmd,
	int (*fn)(void *arg), void *arg);

#endif
