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

struct kiln_rt;

/* Tests (--fail-each-alloc): runs fn(arg), a forward pass that frees
 * what it makes, once for every device allocation it makes with that
 * allocation failing (rt->fail_alloc), then once without a failure, and
 * checks that each failed run gave back all the device memory it took:
 * error paths are otherwise never taken. Returns the number of failures
 * walked, or -1 after saying on stderr which one kept memory. */
int walk_alloc_failures(struct kiln_rt *rt, const char *cmd,
	int (*fn)(void *arg), void *arg);

#endif
