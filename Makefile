# Makefile - builds, tests, installs and runs kiln. Every variable can be
# overridden on the command line (make CC=clang PREFIX=/usr DESTDIR=/tmp/p).

CC       ?= cc
PREFIX   ?= /usr/local
DESTDIR  ?=
BUILD    ?= build
OPT      ?= -O2
SAN      ?=
CFLAGS   ?= $(OPT) -g
WARN      = -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
            -Wmissing-prototypes -Wformat=2
CPPFLAGS += -D_GNU_SOURCE -Ilib -Irender-daemon/engine \
            -isystem /usr/include/ClearSilver \
            -isystem /usr/include/mariadb \
            -isystem /usr/include/OpenEXR
ALL_CFLAGS = $(WARN) $(CPPFLAGS) $(CFLAGS) $(SAN)
# Libraries by what needs them, each named once; a program's line is the
# union of its groups.
# -lcrypto: the MD5 of S3's Content-MD5 header (lib/s3.c).
LIBS_COMMON = -ljson-c -lsodium -lgd -lz -lcurl -lcrypto -lm -lunistring
LIBS_DB     = -lmariadb
LIBS_CGI    = -lfcgi -lneo_cgi -lneo_cs -lneo_utl
LIBS_CL     = -lclblast -lOpenCL -lstdc++ -lpthread -lunistring
# Password strength (lib/password.c): for the programs that check new
# passwords.
LDLIBS_PW  = -lzxcvbn
# Two-factor login (lib/twofa.c: TOTP through liboath) and its QR codes
# (cgi-bin/page_security.c: libqrencode): for the portal.
LDLIBS_2FA = -loath -lqrencode
# ZIP archives: downloads of a job's or a batch's images (lib/jobzip.c)
# and the account data exports kilnd makes (lib/dataexport.c).
LIBS_ZIP   = -larchive
# High-precision exports (lib/imgexport.c): 16-bit PNG, TIFF and
# OpenEXR for downloads and ZIPs, and the float master kilnd stores.
LIBS_EXPORT = -lpng -ltiff -lOpenEXRCore-3_1
LDLIBS_WEB = $(LIBS_CGI) $(LIBS_DB) $(LIBS_COMMON) $(LIBS_ZIP) $(LIBS_EXPORT)
LDLIBS_ENG = $(LIBS_CL) $(LIBS_COMMON)
LDLIBS_D   = $(LIBS_CL) $(LIBS_DB) $(LIBS_COMMON) $(LIBS_ZIP) $(LIBS_EXPORT)
LDLIBS_ADM = $(LIBS_DB) -ljson-c -lsodium -lcurl -lcrypto -lm $(LDLIBS_PW) \
             $(LIBS_ZIP)
# Tests and fuzz harnesses link code from every part.
LDLIBS_ALL = $(LIBS_CGI) $(LIBS_CL) $(LIBS_DB) $(LIBS_COMMON) $(LDLIBS_PW) \
             $(LDLIBS_2FA) $(LIBS_ZIP) $(LIBS_EXPORT)

BINDIR   = $(PREFIX)/bin
MANDIR   = $(PREFIX)/share/man
LIBEXEC  = $(PREFIX)/lib/kiln
SHARE    = $(PREFIX)/share/kiln

LIB_SRC  = $(wildcard lib/*.c)
LIB_OBJ  = $(LIB_SRC:%.c=$(BUILD)/%.o)
LIBKILN  = $(BUILD)/libkiln.a

# The engine: runtime, tensors, ops, loaders, models, and in opencl/ its
# OpenCL backend. Kernels are embedded into a generated C file, each .cl
# file one program with the .clh helpers it includes pasted in.
ENG_SRC  = $(wildcard render-daemon/engine/*.c) \
           $(wildcard render-daemon/engine/opencl/*.c)
ENG_CL   = $(sort $(wildcard render-daemon/engine/opencl/kernels/*.cl))
ENG_CLH  = $(wildcard render-daemon/engine/opencl/kernels/*.clh)
ENG_GEN  = $(BUILD)/gen/cl_sources.c
ENG_OBJ  = $(ENG_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/cl_sources.o
LIBENG   = $(BUILD)/libengine.a

PORTAL_SRC = cgi-bin/portal.c $(wildcard cgi-bin/page_*.c)
API_SRC    = cgi-bin/api.c $(wildcard cgi-bin/api_*.c)
KILND_SRC  = render-daemon/kilnd.c render-daemon/cl_devices.c \
             render-daemon/registry.c render-daemon/engine_env.c \
             render-daemon/autotune.c
RENDER_SRC = render-daemon/kiln-render.c render-daemon/cl_devices.c \
             render-daemon/engine_env.c $(wildcard render-daemon/cmd_*.c) \
             $(wildcard render-daemon/tune_*.c)
ADMIN_SRC  = tools/kiln-admin.c tools/backup.c
# The capacity bench's simulated render daemons (make bench-capacity):
# built with everything so it keeps compiling, never installed.
CAPACITY_SRC = tools/bench/capacity.c

PORTAL = $(BUILD)/cgi-bin/portal.fcgi
API    = $(BUILD)/cgi-bin/api.fcgi
# The same program for the web servers to run apart (see
# apache-conf/): AUTOMATIC1111 calls that wait for their images.
API_WAIT = $(BUILD)/cgi-bin/api-wait.fcgi
KILND  = $(BUILD)/render-daemon/kilnd
RENDER = $(BUILD)/render-daemon/kiln-render
ADMIN  = $(BUILD)/tools/kiln-admin
CAPACITY = $(BUILD)/tools/kiln-capacity

UNIT_SRC  = $(wildcard tests/unit/test_*.c)
UNIT_BIN  = $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
FUZZ_SRC  = $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BIN  = $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%)

# Programs the integration tests run against a stack's database.
DBCHECK_SRC = $(wildcard tests/dbcheck/*.c)
DBCHECK_BIN = $(DBCHECK_SRC:tests/dbcheck/%.c=$(BUILD)/tests/db/%)

PROGRAMS = $(PORTAL) $(API) $(API_WAIT) $(KILND) $(ADMIN) $(RENDER)

# Keep test objects: they are not throwaway intermediates.
.SECONDARY: $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.o) \
            $(DBCHECK_SRC:%.c=$(BUILD)/%.o)

.PHONY: all deps deps-run deps-test test test-unit asan valgrind fuzz run stop install \
        uninstall clean bench bench-gemm bench-attention tune model upscaler controlnet \
        bench-capacity

all: $(PROGRAMS) $(UNIT_BIN) $(DBCHECK_BIN) $(CAPACITY)

# What CI needs: running and testing (tools/deps.sh's groups).
deps:
	@sh tools/deps.sh run test

# Header dependencies: the compiler writes each object's list beside it
# as it builds it (-MMD), with a dummy rule per header (-MP) so a removed
# header does not stop the build; the lists are read back below.
DEPFLAGS = -MMD -MP

# The config defaults point at the install's share directory; the stamp
# file changes (and config.o is rebuilt) whenever PREFIX does.
$(BUILD)/lib/config.o: CPPFLAGS += -DKILN_SHARE_DIR='"$(SHARE)"'
$(BUILD)/lib/config.o: $(BUILD)/share-dir.txt
$(BUILD)/share-dir.txt: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SHARE)' | cmp -s - $@ || echo '$(SHARE)' >$@
FORCE:

# An object whose list is missing is rebuilt (see DEP_FILES), so a build
# dir from before the lists tracks its headers too. The compiler may
# write the list after the object: the touch keeps the object newer.
$(BUILD)/%.o: %.c $(BUILD)/%.d
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(DEPFLAGS) -c -o $@ $<
	@touch $@

$(LIBKILN): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(ENG_GEN): $(ENG_CL) $(ENG_CLH) tools/embed-cl.sh
	@mkdir -p $(dir $@)
	sh tools/embed-cl.sh $@ $(ENG_CL)

$(BUILD)/gen/cl_sources.o: $(ENG_GEN) render-daemon/engine/opencl/cl_sources.h
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(LIBENG): $(ENG_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

# The edge preview of the generate form runs the engine's own canny.
$(PORTAL): $(PORTAL_SRC:%.c=$(BUILD)/%.o) \
	$(BUILD)/render-daemon/engine/canny.o $(LIBKILN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(LDLIBS_WEB) $(LDLIBS_PW) \
	    $(LDLIBS_2FA)

$(API): $(API_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/openapi.o $(LIBKILN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(LDLIBS_WEB)

# A copy, not a link: mod_fcgid tells programs apart by their file.
$(API_WAIT): $(API)
	cp $(API) $@

# The OpenAPI document travels inside api.fcgi, as a NUL-terminated array.
$(BUILD)/gen/openapi.c: cgi-bin/openapi.json
	@mkdir -p $(dir $@)
	{ echo "/* Generated from cgi-bin/openapi.json; do not edit. */"; \
	  echo "extern const char openapi_json[];"; \
	  echo "const char openapi_json[] = {"; \
	  od -An -v -tx1 $< | sed -e 's/ *\([0-9a-f][0-9a-f]\)/0x\1,/g'; \
	  echo "0x00 };"; } >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/openapi.o: $(BUILD)/gen/openapi.c
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(KILND): $(KILND_SRC:%.c=$(BUILD)/%.o) $(LIBENG) $(LIBKILN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(LDLIBS_D)

$(RENDER): $(RENDER_SRC:%.c=$(BUILD)/%.o) $(LIBENG) $(LIBKILN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(LDLIBS_ENG)

$(ADMIN): $(ADMIN_SRC:%.c=$(BUILD)/%.o) $(LIBKILN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(LDLIBS_ADM)

$(CAPACITY): $(CAPACITY_SRC:%.c=$(BUILD)/%.o) $(LIBKILN)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(LDLIBS_WEB) -lpthread

# A handler's unit test includes its .c file (for the static functions)
# and links the handler files it calls; the objects go before the
# libraries that resolve them.
$(BUILD)/tests/test_sdapi: $(addprefix $(BUILD)/cgi-bin/,api_common.o \
	api_jobs.o api_images.o api_sdapi_cn.o)

$(BUILD)/tests/%: $(BUILD)/tests/unit/%.o $(LIBENG) $(LIBKILN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $(filter %.o,$^) $(LIBENG) $(LIBKILN) \
	    $(LDFLAGS) $(LDLIBS_ALL)

$(BUILD)/tests/db/%: $(BUILD)/tests/dbcheck/%.o $(LIBKILN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SAN) -o $@ $^ $(LDFLAGS) $(LDLIBS_WEB) $(LDLIBS_PW) \
	    $(LDLIBS_2FA)

# Fuzz harnesses need clang's libFuzzer; they are built into their own
# directory with ASan + UBSan whatever BUILD says.
FUZZ_SAN  = -g -O1 -fsanitize=address,undefined $(CPPFLAGS) -Wall -Wextra \
            -Werror
# The code under test is compiled once (instrumented for coverage, without
# libFuzzer's main) and linked into every harness.
FUZZ_OBJ  = $(LIB_SRC:%.c=build-fuzz/obj/%.o) \
            $(ENG_SRC:%.c=build-fuzz/obj/%.o) build-fuzz/obj/cl_sources.o

# Kept after the build: make would otherwise delete them as intermediates,
# printing after the test summary.
.SECONDARY: $(FUZZ_OBJ)

build-fuzz/obj/%.o: %.c build-fuzz/obj/%.d
	@mkdir -p $(dir $@)
	clang $(FUZZ_SAN) $(DEPFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
	@touch $@

build-fuzz/obj/cl_sources.o: $(ENG_GEN) render-daemon/engine/opencl/cl_sources.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c -o $@ $<

build-fuzz/%: tests/fuzz/%.c tests/fuzz/fuzz.h $(wildcard tests/common/*.h) $(FUZZ_OBJ)
	@mkdir -p $(dir $@)
	clang $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) \
	  $(LDLIBS_ALL)

fuzz: $(FUZZ_SRC:tests/fuzz/%.c=build-fuzz/%)

# make run installs only what running needs; make test adds the test
# tools. Both are no-ops once the packages are there.
deps-run:
	@sh tools/deps.sh run
deps-test:
	@sh tools/deps.sh test

# The one test command: unit tests, fuzz corpora, integration tests against
# a real throwaway stack. The last line is "N passed, N failed".
test: deps-test
	@$(MAKE) --no-print-directory all fuzz
	@/usr/bin/python3 tests/run.py --build $(BUILD)

test-unit: all
	@/usr/bin/python3 tests/run.py --build $(BUILD) --only unit

ASAN_VARS = BUILD=build-asan OPT=-O1 \
  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"

asan:
	$(MAKE) $(ASAN_VARS) all
	@KILN_MAKEVARS='$(ASAN_VARS)' \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:exitcode=99 \
	  LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  /usr/bin/python3 tests/run.py --build build-asan --sanitized

# Unit tests, the web programs (as plain CGI) and kilnd under valgrind's
# memcheck, against a real stack.
valgrind: all
	@/usr/bin/python3 tests/run.py --build $(BUILD) --valgrind

HTTP_PORT ?= 8080

run: deps-run
	@$(MAKE) --no-print-directory all
	@tools/kiln-stack up --dir var --http-port $(HTTP_PORT) --print-login

stop:
	@tools/kiln-stack down --dir var

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXEC)/cgi-bin \
	  $(DESTDIR)$(SHARE)/templates $(DESTDIR)$(SHARE)/static \
	  $(DESTDIR)$(SHARE)/sql $(DESTDIR)$(SHARE)/apache-conf
	install -m 755 $(KILND) $(ADMIN) $(RENDER) $(DESTDIR)$(BINDIR)/
	install -m 755 $(PORTAL) $(API) $(API_WAIT) $(DESTDIR)$(LIBEXEC)/cgi-bin/
	install -m 644 templates/*.cs $(DESTDIR)$(SHARE)/templates/
	install -d $(DESTDIR)$(SHARE)/po
	install -m 644 po/*.po $(DESTDIR)$(SHARE)/po/
	install -m 644 static/* $(DESTDIR)$(SHARE)/static/
	install -m 644 sql/*.sql $(DESTDIR)$(SHARE)/sql/
	install -m 644 $$(find apache-conf -maxdepth 1 -type f) \
	  $(DESTDIR)$(SHARE)/apache-conf/
	for d in json html; do \
	  install -d $(DESTDIR)$(SHARE)/apache-conf/errors/$$d && \
	  install -m 644 apache-conf/errors/$$d/* \
	    $(DESTDIR)$(SHARE)/apache-conf/errors/$$d/ || exit 1; done
	install -m 644 docs/kiln.conf.sample $(DESTDIR)$(SHARE)/
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
	  $(DESTDIR)$(MANDIR)/man8
	install -m 644 docs/man/*.1 $(DESTDIR)$(MANDIR)/man1/
	install -m 644 docs/man/*.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 644 docs/man/*.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(SHARE)/clip
	install -m 644 models/clip/* $(DESTDIR)$(SHARE)/clip/
	for d in models/kiln-micro models/kiln-micro/*/ \
	  models/kiln-micro-canny; do \
	  install -d $(DESTDIR)$(SHARE)/models/$${d#models/} && \
	  find $$d -maxdepth 1 -type f -exec install -m 644 {} \
	    $(DESTDIR)$(SHARE)/models/$${d#models/} \; || exit 1; done
	install -d $(DESTDIR)$(SHARE)/models/upscalers
	install -m 644 models/upscalers/* $(DESTDIR)$(SHARE)/models/upscalers/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/kilnd $(DESTDIR)$(BINDIR)/kiln-admin \
	  $(DESTDIR)$(BINDIR)/kiln-render
	rm -f $(DESTDIR)$(MANDIR)/man1/kiln-render.1 \
	  $(DESTDIR)$(MANDIR)/man5/kiln.conf.5 \
	  $(DESTDIR)$(MANDIR)/man8/kilnd.8 $(DESTDIR)$(MANDIR)/man8/kiln-admin.8
	rm -rf $(DESTDIR)$(LIBEXEC) $(DESTDIR)$(SHARE)

clean:
	rm -rf $(BUILD) build build-asan build-fuzz

# Trains kiln-micro, the embedded default model, from scratch into
# models/kiln-micro (the weights, configs, tokenizer and loss curve; the
# model card README.md is kept): about 85 minutes on 2 CPU cores. Stages
# are cached in $(BUILD)/train, so an interrupted run resumes; remove it
# to start over.
model:
	/usr/bin/python3 tools/train/train.py --work $(BUILD)/train \
	  --out models/kiln-micro

# Trains kiln-upscale-x4, kiln-micro's SRVGGNet x4 upscaler, into
# models/upscalers (the model card README.md is kept): about 10 minutes
# on one CPU core.
upscaler:
	/usr/bin/python3 tools/train/train_upscaler.py --steps 3000 \
	  --train-scenes 300 --threads 1 \
	  --out models/upscalers/kiln-upscale-x4.safetensors

# Trains kiln-micro-canny, the canny ControlNet for kiln-micro, into
# models/kiln-micro-canny (weights, config.json, loss curve; the model
# card is kept): about 30 minutes on 2 CPU cores, from models/kiln-micro
# as shipped. Data and checkpoint are cached in $(BUILD)/train-canny.
controlnet:
	/usr/bin/python3 tools/train/train_controlnet.py \
	  --work $(BUILD)/train-canny --out models/kiln-micro-canny

# Every benchmark against its peer in one run (tools/bench/run.py): GEMM
# vs OpenBLAS, an SD 1.5 UNet step vs PyTorch, kiln-micro through
# kiln-render and through the stack, the web endpoints vs a static file
# (wrk), SD's VAE untiled against tiled within a memory budget. Prints a
# table, writes bench/results/latest.json. BENCH_ARGS passes options
# (--only gemm,unet,micro,web,vae, --unet-sizes 256, ...).
bench: all
	@sh tools/deps.sh bench
	POCL_CACHE_DIR=$${POCL_CACHE_DIR:-$(CURDIR)/$(BUILD)/pocl-cache} \
	  /usr/bin/python3 tools/bench/run.py --build $(BUILD) $(BENCH_ARGS)

# GEMM GFLOP/s of the engine (CLBlast), untuned and with the device's
# tuning file, next to OpenBLAS through numpy on the same shapes;
# the table also goes to bench/results/gemm.json.
bench-gemm: $(RENDER)
	POCL_CACHE_DIR=$${POCL_CACHE_DIR:-$(CURDIR)/$(BUILD)/pocl-cache} \
	  /usr/bin/python3 tools/bench/gemm.py --build $(BUILD)

# Attention GFLOP/s on SD's shapes (kiln-render bench-attention); with
# ATTN_BASE=<another build dir> the two builds alternate and are shown side
# by side. The table also goes to bench/results/attention.json.
bench-attention: $(RENDER)
	POCL_CACHE_DIR=$${POCL_CACHE_DIR:-$(CURDIR)/$(BUILD)/pocl-cache} \
	  /usr/bin/python3 tools/bench/attention.py --build $(BUILD) \
	  $(if $(ATTN_BASE),--base $(ATTN_BASE))

# How many render daemons one MariaDB primary serves: 64, 128 and 256
# simulated daemons (kiln-capacity: kilnd's own claim, progress,
# heartbeat and result calls, a sleep for the render) against a
# throwaway MariaDB, each next to the claims/s its daemons would make
# with a free database. Prints a table, writes bench/results/capacity.json.
# CAPACITY_ARGS passes options (--daemons 64,128 --render-ms 100 ...).
bench-capacity: $(CAPACITY) $(ADMIN)
	/usr/bin/python3 tools/bench/capacity.py --build $(BUILD) $(CAPACITY_ARGS)

# Searches CLBlast's GEMM parameters for the device for TUNE_BUDGET
# seconds and writes its tuning file (~/.config/kiln/tuning/, or
# $$KILN_TUNING_DIR), which every engine program then applies.
TUNE_BUDGET ?= 300
tune: $(RENDER)
	POCL_CACHE_DIR=$${POCL_CACHE_DIR:-$(CURDIR)/$(BUILD)/pocl-cache} \
	  $(RENDER) tune --budget $(TUNE_BUDGET)

# Every object's header list (see DEPFLAGS); none before the first build.
DEP_OBJ = $(LIB_OBJ) $(ENG_OBJ) $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/unit/%.o) \
          $(DBCHECK_SRC:%.c=$(BUILD)/%.o) \
          $(foreach p,$(PORTAL_SRC) $(API_SRC) $(KILND_SRC) $(RENDER_SRC) \
            $(ADMIN_SRC) $(CAPACITY_SRC),$(BUILD)/$(p:.c=.o)) $(FUZZ_OBJ)
DEP_FILES = $(DEP_OBJ:.o=.d)
# Named targets without a recipe: a missing one counts as remade, which
# rebuilds its object (and, unlike a pattern rule's intermediate file,
# is not skipped for not existing).
$(DEP_FILES):
-include $(wildcard $(DEP_FILES))
