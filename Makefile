# ksmpilot - feedback-loop tuner for Linux KSM
#
# Targets: all check asan valgrind lint run install uninstall clean deps
#          bench bench-smoke tickcost idlecost fuzz mutate nspawn-test deb rpm
# The user's CFLAGS/CPPFLAGS/LDFLAGS are kept; ours are added to them.

VERSION        := 0.1.0
PREFIX         ?= /usr/local
SBINDIR        ?= $(PREFIX)/sbin
SYSCONFDIR     ?= /etc
MANDIR         ?= $(PREFIX)/share/man
DOCDIR         ?= $(PREFIX)/share/doc/ksmpilot
RUNSTATEDIR    ?= /run
# The unit and the journal catalog go where systemd looks for them: the
# distribution's directories for PREFIX=/usr (a package), systemd's
# directories for local installs for /usr/local, /etc/systemd/system for
# any other prefix (the catalog has no such place: /usr/local's).
ifeq ($(PREFIX),/usr)
SYSTEMDUNITDIR ?= $(shell pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
CATALOGDIR     ?= $(shell pkg-config --variable=catalogdir systemd 2>/dev/null || echo /usr/lib/systemd/catalog)
else ifeq ($(PREFIX),/usr/local)
SYSTEMDUNITDIR ?= /usr/local/lib/systemd/system
CATALOGDIR     ?= /usr/local/lib/systemd/catalog
else
SYSTEMDUNITDIR ?= /etc/systemd/system
CATALOGDIR     ?= /usr/local/lib/systemd/catalog
endif
# bash completion under PREFIX (bash-completion looks in /usr/local/share
# too, not under other prefixes); bash-completion's own directory only for
# PREFIX=/usr: a /usr/local install never writes, nor its uninstall
# removes, what the package owns there
BASHCOMPDIR    ?= $(or $(if $(filter /usr,$(PREFIX)),$(shell pkg-config --variable=completionsdir bash-completion 2>/dev/null)),$(PREFIX)/share/bash-completion/completions)
DESTDIR        ?=

CC      ?= cc
B       := build
# make V=1 shows the whole command lines
V       ?= 0
Q       := $(if $(filter 1,$(V)),,@)
say      = $(if $(filter 1,$(V)),,@echo "  $(1) $(2)")
PKGS    := libsystemd inih libproc2
WARN    := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes \
           -Wformat=2 -Wconversion -Wcast-qual -Wvla -Wundef
HARDEN  := -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
CFLAGS  ?= -O2 -g
ifneq ($(WERROR),)
WARN    += -Werror
endif
# TEST_HOOKS=1 builds the hooks used by tests/nspawn.sh (never in a release)
ifneq ($(TEST_HOOKS),)
HOOKS   := -DKSMPILOT_TEST_HOOKS
endif
# The directories the unit makes writable (ReadWritePaths=, RuntimeDirectory=,
# StateDirectory=, ...), for --check-config's warnings: read from the unit,
# never kept by hand.
UNIT_IN       := systemd/ksmpilot.service.in
UNIT_WRITABLE := $(shell awk -v run='$(RUNSTATEDIR)' 'BEGIN { \
	pre["ReadWritePaths"] = ""; pre["RuntimeDirectory"] = run "/"; pre["StateDirectory"] = "/var/lib/"; \
	pre["CacheDirectory"] = "/var/cache/"; pre["LogsDirectory"] = "/var/log/" } \
	{ k = $$0; sub(/=.*/, "", k); if (!(k in pre)) next; v = $$0; sub(/^[^=]*=/, "", v); \
	  n = split(v, w, " "); for (i = 1; i <= n; i++) { p = w[i]; sub(/^[-+]/, "", p); sub(/:.*/, "", p); \
	  printf "%s%s ", pre[k], p } }' $(UNIT_IN))
DEFS    := -DKSMPILOT_VERSION='"$(VERSION)"' \
           -DKSMPILOT_CONFIG='"$(SYSCONFDIR)/ksmpilot.conf"' \
           -DKSMPILOT_RUNSTATEDIR='"$(RUNSTATEDIR)/ksmpilot"' \
           -DKSMPILOT_UNIT_WRITABLE='"$(strip $(UNIT_WRITABLE))"'
ALL_CFLAGS  = -std=gnu11 $(WARN) $(HARDEN) $(DEFS) $(HOOKS) -Isrc $(CPPFLAGS) $(CFLAGS)
ALL_LDFLAGS = -pie -Wl,-z,relro,-z,now $(LDFLAGS)
LIBS        = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lm
TEST_LIBS   = $(shell pkg-config --libs cmocka 2>/dev/null)

# Modules shared by the daemon, the control tool and the tests.
LIB_SRCS := src/util.c src/config.c src/ksm.c src/sample.c src/controller.c src/procscan.c \
            src/log.c src/report.c src/pilot.c src/daemon.c src/hazard.c src/state.c src/import.c \
            src/json.c src/qemu.c src/history.c src/guest.c src/doctor.c src/guests.c
LIB_OBJS := $(LIB_SRCS:src/%.c=$(B)/%.o)
# The commands of ksmpilotctl, one file each (src/ctl.h).
CTL_SRCS := $(sort $(wildcard src/ctl_*.c))
CTL_OBJS := $(CTL_SRCS:src/%.c=$(B)/%.o)

# Every tests/test_*.c is a cmocka binary; every tests/*.sh a shell test.
TEST_NAMES := $(patsubst tests/%.c,%,$(wildcard tests/test_*.c))
TEST_BINS  := $(TEST_NAMES:%=$(B)/tests/%)
TEST_PROGS := $(B)/tests/workload $(B)/bench/tickfloor
TEST_SCRIPTS := $(filter-out tests/lib%.sh,$(wildcard tests/*.sh))

.PHONY: all check check-run asan valgrind run install uninstall clean deps
# keep the objects of the test binaries
.SECONDARY:
all: $(B)/ksmpilotd $(B)/ksmpilotctl $(B)/ksmpilot.conf.check

# --- build dependencies ---------------------------------------------------
# Checked once per build directory: $(B)/.deps for the daemon and the
# tool (all, install), $(B)/.test-deps for the tests (cmocka), so that
# `make install` never needs a test library. As root, missing -dev
# packages are installed with apt-get; otherwise the exact command is
# printed (apt-get or dnf). libproc2 comes with procps-ng 4.0 and later; a
# distribution that has only procps-ng 3 (libprocps) gets a message that
# says so instead of a compiler error (README, "Install from source").
DEP_PKGS  := libsystemd:libsystemd-dev inih:libinih-dev libproc2:libproc2-dev
TEST_PKGS := cmocka:libcmocka-dev
# The compiler and the C library's headers (Debian 12 installs neither by
# default; gcc only recommends libc6-dev, which brings linux/landlock.h).
CC_PKGS   := $(firstword $(CC)):$(if $(findstring clang,$(notdir $(firstword $(CC)))),clang,$(if $(findstring ccache,$(notdir $(firstword $(CC)))),ccache,gcc))
LIBC_PKGS := /usr/include/stdio.h:libc6-dev
# need KIND,PAIRS,WHAT: each "name:Debian package" of PAIRS present (KIND pc:
# a pkg-config module, cmd: a command, file: a file), or install the missing
# packages
define need
	@mkdir -p $(B)
	@missing="" mods=""; \
	command -v pkg-config >/dev/null 2>&1 || [ $(1) != pc ] || missing=" pkg-config"; \
	for pair in $(2); do \
		n=$${pair%%:*}; deb=$${pair#*:}; \
		if [ $(1) = pc ]; then pkg-config --exists $$n 2>/dev/null; \
		elif [ $(1) = file ]; then [ -e $$n ]; \
		else command -v $$n >/dev/null 2>&1; fi || \
			{ missing="$$missing $$deb"; mods="$$mods $$n"; }; \
	done; \
	[ -n "$$missing" ] || exit 0; \
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing $(3):$$missing"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing || \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; } && exit 0; \
	fi; \
	echo "Missing $(3):$$missing" >&2; \
	case " $$mods " in *" libproc2 "*) \
		echo "ksmpilot reads /proc through libproc2, from procps-ng 4.0 or later." >&2; \
		if pkg-config --exists libprocps 2>/dev/null; then \
			echo "This system has procps-ng $$(pkg-config --modversion libprocps) (libprocps): too old." >&2; \
		fi ;; \
	esac; \
	echo "Install them with:" >&2; \
	if command -v apt-get >/dev/null 2>&1; then \
		echo "    sudo apt-get install$$missing" >&2; \
	elif command -v dnf >/dev/null 2>&1; then \
		case $(1) in \
		pc) echo "    sudo dnf install $$(for m in $$mods; do printf "'pkgconfig(%s)' " $$m; done)" >&2 ;; \
		cmd) echo "    sudo dnf install $$(for m in $$mods; do printf '/usr/bin/%s ' $$m; done)" >&2 ;; \
		*) echo "    sudo dnf install$$mods" >&2 ;; \
		esac; \
	else \
		echo "    the packages that provide$$([ $(1) = pc ] && echo ' the pkg-config modules'):$$mods (on Debian:$$missing)" >&2; \
	fi; \
	exit 1
endef
deps: $(B)/.deps $(B)/.test-deps
$(B)/.deps:
	$(call need,cmd,$(CC_PKGS),a C compiler)
	$(call need,file,$(LIBC_PKGS),the C library's headers)
	$(call need,pc,$(DEP_PKGS),build dependencies)
	@touch $@
$(B)/.test-deps:
	$(call need,pc,$(TEST_PKGS),build dependencies)
	@touch $@
# The tools of make valgrind and make lint, checked each time they run.
.PHONY: valgrind-deps lint-deps
valgrind-deps:
	$(call need,cmd,valgrind:valgrind,the tools of make valgrind)
lint-deps:
	$(call need,cmd,cppcheck:cppcheck clang-tidy:clang-tidy shellcheck:shellcheck,the tools of make lint)

# --- objects ----------------------------------------------------------------
$(B)/%.o: src/%.c $(wildcard src/*.h) | $(B)/.deps
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

# --check-config knows the unit's writable directories
$(B)/ksmpilotd.o: $(UNIT_IN)

$(B)/ksmpilotd: $(B)/ksmpilotd.o $(LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

$(B)/ksmpilotctl: $(B)/ksmpilotctl.o $(CTL_OBJS) $(LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS)

# The shipped config must always pass --check-config.
$(B)/ksmpilot.conf.check: conf/ksmpilot.conf $(B)/ksmpilotd
	$(Q)$(B)/ksmpilotd --check-config -c conf/ksmpilot.conf >/dev/null
	@touch $@

# --- tests ------------------------------------------------------------------
$(B)/tests/%.o: tests/%.c $(wildcard src/*.h tests/*.h) | $(B)/.deps $(B)/.test-deps
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests -Wno-missing-prototypes -c -o $@ $<

# Test support code linked into every test binary.
TEST_SUPPORT := $(B)/tests/plant.o

$(B)/tests/test_%: $(B)/tests/test_%.o $(TEST_SUPPORT) $(CTL_OBJS) $(LIB_OBJS)
	$(call say,LD,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(B)/tests/workload: tests/workload.c | $(B)/.deps
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $<

# bench/tickcost's floor: a tick's wake-up and reads without the daemon
# (linked with the library for the names of the KSM files a tick reads).
$(B)/bench/tickfloor: bench/tickfloor.c $(LIB_OBJS) $(wildcard src/*.h) | $(B)/.deps
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(ALL_CFLAGS) -Isrc $(ALL_LDFLAGS) -o $@ $< $(LIB_OBJS) $(LIBS)

# sudo make check (the real-kernel tests) hands build/ back, as run does,
# built or not. Only when check is the one goal: beside others (make -j all
# check) a make of its own would build the same files at the same time.
ifeq ($(MAKECMDGOALS),check)
check:
	@$(MAKE) --no-print-directory check-run; rc=$$?; $(give_back); exit $$rc
else
check: check-run
endif
check-run: all $(TEST_BINS) $(TEST_PROGS)
	@KSMPILOT_BUILD=$(B) tests/run-tests $(TEST_BINS) $(TEST_SCRIPTS)

# --- sanitizers -------------------------------------------------------------
asan:
	$(MAKE) B=build-asan CFLAGS="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all" \
		LDFLAGS="-fsanitize=address,undefined" check

valgrind: valgrind-deps all $(TEST_BINS) $(TEST_PROGS)
	@KSMPILOT_BUILD=$(B) KSMPILOT_VALGRIND=1 tests/run-tests $(TEST_BINS) $(TEST_SCRIPTS)

# --- install ----------------------------------------------------------------
# Never overwrites an existing configuration, never runs systemctl.
# The documents the man pages cite (@DOCDIR@/NAME), installed in DOCDIR.
DOC_FILES  := $(wildcard docs/*.md) docs/ksmpilotctl-status.schema.json docs/benchmark.png
MAN_PAGES  := docs/ksmpilotd.8 docs/ksmpilotctl.8 docs/ksmpilot.conf.5
BASHCOMP   := contrib/bash-completion/ksmpilotd contrib/bash-completion/ksmpilotctl
install: all
	@$(give_back) # once built: a failed build leaves build/ as it is
	install -D -m 0755 $(B)/ksmpilotd $(DESTDIR)$(SBINDIR)/ksmpilotd
	install -D -m 0755 $(B)/ksmpilotctl $(DESTDIR)$(SBINDIR)/ksmpilotctl
	install -D -m 0644 systemd/ksmpilot.catalog $(DESTDIR)$(CATALOGDIR)/ksmpilot.catalog
	install -d $(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(DOCDIR) $(DESTDIR)$(BASHCOMPDIR)
	for m in $(MAN_PAGES); do \
		sed -e 's|@DOCDIR@|$(DOCDIR)|g' $$m > $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/} && \
		chmod 0644 $(DESTDIR)$(MANDIR)/man$${m##*.}/$${m##*/} || exit 1; \
	done
	install -m 0644 $(DOC_FILES) $(DESTDIR)$(DOCDIR)/
	install -m 0644 $(BASHCOMP) $(DESTDIR)$(BASHCOMPDIR)/
	install -d $(DESTDIR)$(SYSTEMDUNITDIR)
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/ksmpilot.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/ksmpilot.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/ksmpilot.service
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' systemd/ksmpilot-inspect.service.in \
		> $(DESTDIR)$(SYSTEMDUNITDIR)/ksmpilot-inspect.service
	chmod 0644 $(DESTDIR)$(SYSTEMDUNITDIR)/ksmpilot-inspect.service
	install -m 0644 systemd/ksmpilot-inspect.timer $(DESTDIR)$(SYSTEMDUNITDIR)/ksmpilot-inspect.timer
	install -D -m 0644 conf/ksmpilot.conf $(DESTDIR)$(DOCDIR)/ksmpilot.conf.example
	install -D -m 0644 contrib/prometheus/ksmpilot-rules.yml $(DESTDIR)$(DOCDIR)/examples/ksmpilot-rules.yml
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf.d
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf ]; then \
		echo "keeping the existing $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf (the shipped one is $(DOCDIR)/ksmpilot.conf.example)"; \
	else \
		install -D -m 0644 conf/ksmpilot.conf $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf; \
	fi
	@echo "installed. Enable with: systemctl daemon-reload && systemctl enable --now ksmpilot"
	@echo "For journalctl -x to explain ksmpilotd's messages: journalctl --update-catalog"

# Removes what install put there; an edited configuration stays.
uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ksmpilotd $(DESTDIR)$(SBINDIR)/ksmpilotctl \
		$(DESTDIR)$(SYSTEMDUNITDIR)/ksmpilot.service $(DESTDIR)$(CATALOGDIR)/ksmpilot.catalog \
		$(DESTDIR)$(SYSTEMDUNITDIR)/ksmpilot-inspect.service $(DESTDIR)$(SYSTEMDUNITDIR)/ksmpilot-inspect.timer \
		$(DESTDIR)$(MANDIR)/man8/ksmpilotd.8 $(DESTDIR)$(MANDIR)/man8/ksmpilotctl.8 \
		$(DESTDIR)$(MANDIR)/man5/ksmpilot.conf.5
	rm -f $(addprefix $(DESTDIR)$(DOCDIR)/,$(notdir $(DOC_FILES))) \
		$(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(notdir $(BASHCOMP)))
	@if [ -e $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf ]; then \
		if cmp -s $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf $(DESTDIR)$(DOCDIR)/ksmpilot.conf.example; then \
			rm -f $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf; \
		else \
			echo "keeping the edited $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf"; \
		fi; \
	fi
	rm -f $(DESTDIR)$(DOCDIR)/ksmpilot.conf.example $(DESTDIR)$(DOCDIR)/examples/ksmpilot-rules.yml
	-rmdir $(DESTDIR)$(DOCDIR)/examples $(DESTDIR)$(DOCDIR) $(DESTDIR)$(SYSCONFDIR)/ksmpilot.conf.d 2>/dev/null

# --- packages (debian/, rpm/ksmpilot.spec; README "Install from a package") ---
# make deb: the Debian package of DEB_SRC (default: this tree) in DEB_OUT
# (default $(B)/deb), built by dpkg-buildpackage -b on a copy, so that
# neither the tree nor its parent get build files; then lintian on the
# .changes and its .debs, where an error or a warning fails
# (DEB_LINTIAN=no skips it). DEB_BUILD_OPTIONS=nocheck skips the test suite
# in the build. make rpm: rpmbuild -bb --nodeps of rpm/ksmpilot.spec on a
# tarball of this tree, in RPM_OUT (default $(B)/rpm), against the libraries
# installed here; where systemd's RPM macros are missing (Debian's rpm),
# rpm/macros.systemd-fallback stands in for them. As root the tools and
# build dependencies are installed with apt-get; otherwise the command is
# printed.
DEB_SRC     ?= .
DEB_OUT     ?= $(B)/deb
DEB_LINTIAN ?= yes
RPM_OUT     ?= $(B)/rpm
RPM_ARGS    ?= --nocheck
SRC_EXCLUDE := --exclude=./build --exclude='./build-*' --exclude-vcs --exclude=./debian/.debhelper \
               --exclude=./debian/files --exclude='./debian/ksmpilot*/' --exclude='./debian/*.substvars' \
               --exclude=./debian/debhelper-build-stamp
# Under sudo (sudo make run, deb, rpm) the build directory, a relative one
# inside this tree, is handed back to the user who called it, built or not,
# so that `make check` or `make clean` afterwards can write in it.
define give_back
	case "$(B)" in /* | *..* | "" | .) ;; *) \
		if [ -n "$${SUDO_UID:-}" ] && [ "$$(id -u)" = 0 ] && [ -d "$(B)" ] && [ ! -L "$(B)" ]; then \
			chown -R "$$SUDO_UID:$${SUDO_GID:-$$SUDO_UID}" "$(B)"; \
		fi ;; \
	esac
endef
.PHONY: deb rpm deb-build rpm-build
deb rpm:
	@$(MAKE) --no-print-directory $@-build; rc=$$?; $(give_back); exit $$rc
deb-build:
	$(call need,cmd,dpkg-buildpackage:dpkg-dev dh:debhelper lintian:lintian,packaging tools)
	@cd $(DEB_SRC) || exit 1; dpkg-checkbuilddeps 2>/dev/null && exit 0; \
	if [ "$$(id -u)" = 0 ]; then \
		echo "Installing build dependencies (apt-get build-dep $(DEB_SRC))"; \
		DEBIAN_FRONTEND=noninteractive apt-get build-dep -y --no-install-recommends ./ && exit 0; \
	fi; \
	dpkg-checkbuilddeps; \
	echo "Install them with:" >&2; \
	echo "    cd $(DEB_SRC) && sudo apt-get build-dep ./" >&2; \
	exit 1
	rm -rf $(DEB_OUT)
	mkdir -p $(DEB_OUT)/ksmpilot
	tar -C $(DEB_SRC) $(SRC_EXCLUDE) -c . | tar -C $(DEB_OUT)/ksmpilot -x
	cd $(DEB_OUT)/ksmpilot && dpkg-buildpackage -us -uc -b
	@if [ "$(DEB_LINTIAN)" != no ]; then \
		echo "lintian $(DEB_OUT)/*.changes"; \
		lintian -I --fail-on error,warning $(DEB_OUT)/*.changes || exit 1; \
	fi
	@ls -1 $(DEB_OUT)/*.deb

rpm-build:
	$(call need,cmd,rpmbuild:rpm,packaging tools)
	rm -rf $(RPM_OUT)
	mkdir -p $(RPM_OUT)/SOURCES $(RPM_OUT)/tree/ksmpilot-$(VERSION)
	tar $(SRC_EXCLUDE) -c . | tar -C $(RPM_OUT)/tree/ksmpilot-$(VERSION) -x
	tar -C $(RPM_OUT)/tree -czf $(RPM_OUT)/SOURCES/ksmpilot-$(VERSION).tar.gz ksmpilot-$(VERSION)
	rpmbuild -bb --nodeps --define "_topdir $(abspath $(RPM_OUT))" \
		$$(rpm --eval '%{?systemd_post:x}' | grep -q x || echo --load=rpm/macros.systemd-fallback) \
		$(RPM_ARGS) rpm/ksmpilot.spec
	@find $(RPM_OUT)/RPMS -name '*.rpm'

# --- static analysis --------------------------------------------------------
# cppcheck, clang-tidy (the checks in .clang-tidy, each exclusion explained
# there) and GCC's -fanalyzer; any finding fails. Exceptions are marked in
# place with the reason.
LINT_DEFS := -DKSMPILOT_VERSION='"lint"' -DKSMPILOT_CONFIG='"/etc/ksmpilot.conf"' \
             -DKSMPILOT_RUNSTATEDIR='"/run/ksmpilot"' -DKSMPILOT_UNIT_WRITABLE='"/sys/kernel/mm/ksm"'
.PHONY: lint
lint: | $(B)/.deps lint-deps
	cppcheck --enable=warning,style,performance,portability --std=c11 --inline-suppr \
		--error-exitcode=1 -q -Isrc $(LINT_DEFS) src/
	clang-tidy --quiet --warnings-as-errors='*' src/*.c -- -std=gnu11 -Isrc $(LINT_DEFS)
	@for f in src/*.c; do \
		$(CC) -std=gnu11 -fanalyzer -Werror -O1 -Isrc $(LINT_DEFS) -c $$f -o /dev/null || exit 1; \
	done
	shellcheck -s bash -S warning tests/*.sh bench/run bench/tickcost bench/idlecost bench/common.sh bench/scenarios.sh \
		bench/plot .ci/run tests/mutate
	shellcheck -s sh -S warning tests/run-tests debian/ksmpilot.preinst debian/ksmpilot.postinst debian/ksmpilot.prerm debian/ksmpilot.postrm
	@echo "lint: cppcheck, clang-tidy, -fanalyzer and shellcheck are clean"

# --- running ----------------------------------------------------------------
run:
	@$(MAKE) --no-print-directory all; rc=$$?; $(give_back); exit $$rc
	$(B)/ksmpilotd -c conf/ksmpilot.conf --log-target=stderr

clean:
	rm -rf build build-asan build-fuzz

# --- benchmark (bench/, docs/benchmarks.md) ------------------------------------
# Not part of check: `sudo make bench` runs about 2 hours (every scenario
# against every tuner; bench/run --plan prints the expected duration), needs
# ~8 GiB free and takes the kernel lock; BENCH_ARGS passes options to
# bench/run (see bench/run --help). check runs tests/bench-smoke.sh, a
# check of the pipeline in a few minutes (when KSMPILOT_REAL_KSM=1), and
# the checks of its plans and summary (bench-plan.sh, bench-summary.sh);
# bench-smoke runs the first alone.
.PHONY: bench bench-smoke tickcost idlecost
BENCH_ARGS    ?=
TICKCOST_ARGS ?=
IDLECOST_ARGS ?=
bench: all $(B)/tests/workload $(B)/bench/tickfloor
	KSMPILOT_BUILD=$(B) bench/run $(BENCH_ARGS)

bench-smoke: all $(B)/tests/workload
	@KSMPILOT_BUILD=$(B) KSMPILOT_REAL_KSM=1 tests/run-tests tests/bench-smoke.sh

tickcost: all $(B)/bench/tickfloor
	KSMPILOT_BUILD=$(B) bench/tickcost $(TICKCOST_ARGS)

# the daemon's own CPU an hour while ksmd is stopped, and while it idles
idlecost: all $(B)/bench/tickfloor
	KSMPILOT_BUILD=$(B) bench/idlecost $(IDLECOST_ARGS)

# --- mutation testing (tests/mutate, tests/mutations.txt, docs/testing.md) ---
# Not part of check: breaks the code on purpose, one mutation at a time, in a
# copy of the tree, and reports which ones the tests notice (a few minutes).
# MUTATE=GLOB runs the mutations whose name matches.
.PHONY: mutate
MUTATE ?= *
mutate: all
	@KSMPILOT_BUILD=$(B) tests/mutate '$(MUTATE)'

# --- fuzzing (tests/fuzz_*.c, docs/testing.md) ----------------------------------
# Not part of check. `make fuzz` builds every tests/fuzz_*.c as a libFuzzer
# target with clang into build-fuzz/ and runs each for FUZZ_TIME seconds, one
# after the other; FUZZ_TARGETS="json state" runs only those. The library is
# built once with -fsanitize=fuzzer-no-link,address,undefined. Seeds are in
# tests/fuzz-corpus/NAME/ (only read); new inputs go to build-fuzz/corpus/NAME/,
# findings to build-fuzz/NAME-crash-* etc.; tests/fuzz-NAME.dict is used when
# it exists. FUZZ_ARGS passes further libFuzzer options (e.g. -runs=10000000).
.PHONY: fuzz fuzz-build fuzz-check-cc
FUZZ_CC      ?= clang
FUZZ_TIME    ?= 60
FUZZ_ARGS    ?=
FUZZ_B       := build-fuzz
FUZZ_ALL     := $(patsubst tests/fuzz_%.c,%,$(wildcard tests/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_OBJS    := $(LIB_SRCS:src/%.c=$(FUZZ_B)/obj/%.o)
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all
FUZZ_CFLAGS   = -std=gnu11 $(WARN) $(DEFS) -Isrc -O1 -g -fno-omit-frame-pointer $(FUZZ_SAN)
fuzz-check-cc:
	@command -v $(FUZZ_CC) >/dev/null 2>&1 || \
		{ echo "make fuzz needs clang with libFuzzer: apt-get install clang libclang-rt-14-dev (Debian 12)" >&2; exit 1; }
$(FUZZ_B)/obj/%.o: src/%.c $(wildcard src/*.h) | $(B)/.deps fuzz-check-cc
	@mkdir -p $(@D)
	$(call say,FUZZCC,$<)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<
$(FUZZ_B)/fuzz_%: tests/fuzz_%.c tests/fuzz.h $(FUZZ_OBJS) | fuzz-check-cc
	$(call say,FUZZ,$@)
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Itests -Wno-missing-prototypes -o $@ $< $(FUZZ_OBJS) $(LIBS)
fuzz-build: $(FUZZ_TARGETS:%=$(FUZZ_B)/fuzz_%)
fuzz: fuzz-build
	@for t in $(FUZZ_TARGETS); do \
		mkdir -p $(FUZZ_B)/corpus/$$t; \
		dict=; [ -f tests/fuzz-$$t.dict ] && dict=-dict=tests/fuzz-$$t.dict; \
		seeds=; [ -d tests/fuzz-corpus/$$t ] && seeds=tests/fuzz-corpus/$$t; \
		echo "=== fuzz_$$t: $(FUZZ_TIME) s"; \
		$(FUZZ_B)/fuzz_$$t -max_total_time=$(FUZZ_TIME) -max_len=16384 -timeout=5 -rss_limit_mb=2048 \
			$$dict -artifact_prefix=$(FUZZ_B)/$$t- -print_final_stats=1 \
			$(FUZZ_ARGS) $(FUZZ_B)/corpus/$$t $$seeds || exit 1; \
	done

# --- systemd-nspawn integration test (tests/nspawn.sh) -----------------------
# Boots the host's systemd in a volatile systemd-nspawn container (never the
# real /etc), installs a TEST_HOOKS=1 build (B=build-hooks) under /opt/ksmpilot
# and /etc inside it, and checks the service: start (READY=1), reload,
# watchdog restart of a hung tick, restart after SIGSEGV, on_exit restore of
# the host's knobs, the journal fields and the security scores; no capability
# in the daemon, and the inspection unit and timer. Root; writes
# the real KSM knobs (kernel lock held, restored at exit); about 35 s. make
# check runs it too when KSMPILOT_REAL_KSM=1; otherwise it skips there.
.PHONY: nspawn-test
nspawn-test:
	@KSMPILOT_BUILD=$(B) KSMPILOT_REAL_KSM=1 tests/run-tests tests/nspawn.sh
# make clean also removes the test-hooks build
.PHONY: clean-hooks
clean: clean-hooks
clean-hooks:
	rm -rf build-hooks

# print-VAR: the value of a variable (for tests and packaging)
print-%:
	@echo '$($*)'
