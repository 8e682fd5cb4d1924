/* util.h - small helpers shared by every module: number parsing with range
 * checks, whole-file reads, atomic file replacement and the compilation of
 * a regular expression for a search. Nothing here logs. */
#ifndef KSMPILOT_UTIL_H
#define KSMPILOT_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <regex.h>
#include <stdint.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Each parser returns 0, -EINVAL (not a number of that kind) or -ERANGE
 * (outside [min, max]). *out is untouched on failure. */
int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int parse_double(const char *s, double min, double max, double *out);
int parse_bool(const char *s, bool *out);

/* "500ms", "10s", "5min", "1h", "1d", "1w"; a bare number is seconds.
 * Result in ms. */
int parse_duration_ms(const char *s, uint64_t min_ms, uint64_t max_ms, uint64_t *out);

/* A size is either absolute ("512M", "4G", "1024K", "1T", bare = bytes) or a
 * share of MemTotal ("20%", "2.5%"). A bare number that is not a whole
 * number of bytes ("0.2") gives -EDOM. */
struct size_spec {
	bool is_percent;
	double percent;     /* 0..100 when is_percent */
	uint64_t bytes;     /* when !is_percent */
};
int parse_size(const char *s, uint64_t max_bytes, struct size_spec *out);
uint64_t size_resolve(const struct size_spec *s, uint64_t mem_total);
/* Format back into the syntax parse_size() / parse_duration_ms() read;
 * the text reads back to the same value. */
void size_format(const struct size_spec *s, char *buf, size_t len);
void duration_format(uint64_t ms, char *buf, size_t len);
/* regcomp(REG_EXTENDED | REG_NOSUB) of PATTERN for a search (a match
 * anywhere), compiled as "^.*(PATTERN)". glibc's regexec() tries an
 * unanchored pattern again at each start, so one that begins with a repeat
 * ("a+b", "[a-z]+-vm") costs time quadratic in the line: 0.35 s against
 * 16 KiB of 'a'. Behind "^.*" the same search is one pass (0.1 ms). Both
 * match the same strings when every ')' closes a group (cfg_validate()
 * refuses one that does not) and the text has no newline: glibc lets a
 * '^' that follows ".*" match after one. No command line is searched with
 * a newline in it: cmdline_join() makes it a space. Returns regcomp()'s
 * result, or REG_ESPACE. */
int regcomp_search(regex_t *re, const char *pattern);

/* The shortest of %.15g and %.17g that strtod() reads back to v exactly. */
void double_format(double v, char *buf, size_t len);

/* Read a whole regular file (at most max bytes; SIZE_MAX for no limit) into
 * a NUL-terminated malloc()ed buffer. -EISDIR/-EINVAL (not a regular file),
 * -EFBIG, -errno. A FIFO or device gives -EINVAL without blocking. */
int read_file(const char *path, size_t max, char **out, size_t *len);
/* The same for a descriptor the caller opened (and checked with fstat). */
int read_fd(int fd, size_t max, char **out, size_t *len);

/* Replace name in the directory dirfd with data, mode applied with fchmod
 * (the umask does not matter), fsync'd when sync. The data goes to a new
 * file of a name no one can guess (created with O_EXCL, O_NOFOLLOW and
 * O_NONBLOCK: whatever another user planted in the directory is never
 * opened, followed or truncated), checked to be a regular file, then
 * renamed over name. Nothing is left behind on failure. -EINVAL for a
 * name with a '/'. */
int write_file_at(int dirfd, const char *name, const char *data, size_t len, mode_t mode, bool sync);
/* Remove what write_file_at() left of name in dirfd when its process died
 * between the create and the rename (".NAME.<16 hex digits>"), last
 * modified at least min_age seconds ago (0: any): the number removed, or
 * -errno. A write takes milliseconds: where another process may write the
 * same name, a minute tells one that died from one under way. */
int remove_temp_files(int dirfd, const char *name, time_t min_age);
/* write_file_at() in the directory of path, fsync'd: the start-up snapshot. */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* The same, with the fsync only when sync: for files rewritten often whose
 * readers need atomicity, not durability (the metrics; the daemon writes
 * its state files with write_file_at() in the directory it holds). */
int write_file_replace(const char *path, const char *data, size_t len, mode_t mode, bool sync);

/* Open the directory path, walking it from "/" (or the working directory)
 * one component at a time with O_NOFOLLOW. A symlink on the way is
 * followed only if it and its directory belong to root (or the caller)
 * and no one else may write that directory (unless it is sticky): a link
 * planted or swapped in by someone who may write a directory above fails
 * the walk (-ENOTDIR) instead of sending root elsewhere, whether it was
 * there before or came meanwhile. Returns an O_DIRECTORY descriptor or
 * -errno. */
int dir_open_nofollow(const char *path);
/* The walk alone, of an absolute path: -ENOTDIR when a component is a
 * symlink (or not a directory). */
int dir_walk_nofollow(const char *abs_path);
/* unlinkat() path's name in its directory opened with dir_open_nofollow().
 * 0 or -errno. */
int unlink_nofollow(const char *path);

/* Open the directory path (created with mode 0755 when create is set and
 * it is missing) if root can trust what it holds: once symlinks are
 * resolved, it and every directory above it belong to root or to the
 * caller, and none can be written by its group or by others (one above
 * may be if it is sticky, as /tmp is). Returns an O_DIRECTORY descriptor,
 * or -errno: -EPERM when it cannot be trusted, with the reason, naming the
 * directory, in why. */
int dir_open_trusted(const char *path, bool create, char *why, size_t why_len);
/* Confine this process with Landlock, for good: read_fd's tree and its
 * own /proc/self may be read, write_fd's directory read and written (files
 * made, replaced and removed there), and nothing else on any file system. No TCP, no signals
 * or abstract sockets outside the process, where the kernel can say so.
 * The Landlock ABI it was done with; 0 when Landlock cannot be had, with
 * why in *step (the kernel lacks it or has it off, or a seccomp filter
 * such as a container's forbids it: nothing is confined); or -errno, with
 * the call that failed in *step. */
int landlock_confine(int read_fd, int write_fd, const char **step);
/* *step when a seccomp filter refused even the version query. */
#define LANDLOCK_FILTERED "a seccomp filter forbids Landlock, in a container perhaps"

/* pread() the whole of a small file from offset 0 into buf, NUL-terminate,
 * strip one trailing newline. Returns length or -errno. */
ssize_t pread_text(int fd, char *buf, size_t len);
/* The same for the file name under dirfd (AT_FDCWD for a path). */
ssize_t read_text_at(int dirfd, const char *name, char *buf, size_t len);
/* The whole of a kept descriptor's file from offset 0, up to len - 1 bytes,
 * NUL-terminated: a file of the kernel's made of many records (/proc/vmstat)
 * gives at most a page a read. Bytes read, or -errno. */
ssize_t pread_all_text(int fd, char *buf, size_t len);

/* This boot's id (/proc/sys/kernel/random/boot_id) into buf, or "" when it
 * cannot be read or is not one. A boot id: 1 to BOOT_ID_LEN_MAX of [0-9a-f-]. */
#define BOOT_ID_LEN_MAX 36
void boot_id_read(char *buf, size_t len);
bool boot_id_valid(const char *s);

/* Read at most len - 1 bytes of name under dirfd into buf, NUL-terminated,
 * without following a symlink or blocking. Regular files only (every /proc
 * file is one; a FIFO in a fake tree must not hang a walk). Returns the
 * length or -errno. */
ssize_t read_file_at(int dirfd, const char *name, char *buf, size_t len);
/* The n bytes of a command line (/proc/PID/cmdline) in buf made text, in
 * place: its arguments joined by spaces, every other control character a
 * space too (a newline would let a "^" after ".*" match inside it,
 * regcomp_search()), trailing spaces dropped, NUL-terminated (buf holds
 * n + 1 bytes), every other byte as it is. The text guest_cmdline is
 * matched against, the same in the daemon's guest scan, qemu_count() and
 * doctor. Returns the new length. */
size_t cmdline_join(char *buf, size_t n);
/* How much of a command line guest_cmdline is matched against, as if it
 * ended there: the same in the daemon's guest scan, qemu_count() and
 * doctor (any local user starts processes with command lines up to
 * ARG_MAX). */
#define CMDLINE_MATCH_MAX 16384

/* A pattern compiled by regcomp_search(), searched for in the command
 * lines of any local user. glibc's regexec() keeps every state it builds
 * in the regex_t until regfree(), and some patterns build thousands from
 * one crafted line: with "a.{20}c", each 16 KiB line of a and b added
 * about 40 MiB, and each search took longer than the last (0.3 s, 8.8 s at
 * the tenth line, 400 MiB). So the pattern is compiled again before a
 * search once SEARCH_RENEW_BYTES have been searched with it, and the time
 * spent searching since is SEARCH_RENEW_RATIO times what compiling it took:
 * at most 0.31 s a line and 44 MiB in that case. The second condition keeps
 * the compiling a tenth of the searching at most, for a pattern that takes
 * long to compile (up to 0.3 s within cfg_validate()'s limits) against many
 * long lines that are quick to search; a normal pattern compiles in
 * microseconds. */
#define SEARCH_RENEW_BYTES CMDLINE_MATCH_MAX
#define SEARCH_RENEW_RATIO 10u
struct search_re {
	regex_t re;
	char *pattern;          /* to compile it again */
	size_t searched;        /* bytes searched since it was compiled */
	uint64_t compile_ns;    /* what compiling it took */
	uint64_t search_ns;     /* time spent searching since */
	unsigned renewals;      /* times it was compiled again */
};
/* 0, or regcomp()'s error (REG_ESPACE when out of memory); nothing to free
 * then. */
int search_re_init(struct search_re *s, const char *pattern);
void search_re_free(struct search_re *s);
/* Whether the pattern is found in text[0, len); text has no NUL before len
 * and one at len or after (REG_STARTEND bounds the search, but sanitizers'
 * regexec() reads to the NUL). When it is compiled again and that fails
 * (out of memory), the old one is used. s must hold a pattern
 * (search_re_init() returned 0). */
bool search_re_match(struct search_re *s, const char *text, size_t len);

/* Length of the valid UTF-8 sequence at s (at most n bytes), with its code
 * point in *cp; 0 when the bytes there are not valid UTF-8 (overlong forms,
 * surrogates and code points above U+10FFFF included). n must be > 0. */
size_t utf8_seq(const unsigned char *s, size_t n, uint32_t *cp);

/* Make text read from another process (comm, cmdline, file names) safe to
 * log, store in a line-oriented file and print on a terminal: in place,
 * every control character (C0, DEL and the C1 range U+0080..U+009F) and
 * every byte that is not part of valid UTF-8 becomes '?'. Returns s. */
char *text_sanitize(char *s);

/* The length of s cut to at most max bytes between two characters. */
size_t utf8_prefix(const char *s, size_t max);
/* Whether s[i] continues a valid UTF-8 character that starts before it
 * (i within s). */
bool utf8_inside_char(const char *s, size_t i);
/* s in out (len > 4 bytes): whole when it fits, else its end behind "...",
 * cut between two characters. For a path, the end is the file's own name,
 * which is how ksmpilotd and ksmpilotctl name a long one. */
void text_keep_end(char *out, size_t len, const char *s);
/* Copy in to out (len bytes, NUL included; whole characters, cut at the
 * last that fits) with every character that shows as nothing or as a
 * plain space, or moves text around (U+00A0 and the other spaces,
 * zero-width characters, bidirectional controls, a byte order mark, a
 * soft hyphen, fillers, variation selectors, tags, C1 controls) written
 * <U+XXXX>, and every byte that is not UTF-8 \xNN: an operator's text
 * quoted in a message, where "interval" and "interval<U+00A0>" would
 * otherwise read the same. Returns out. */
char *text_mark_invisible(const char *in, char *out, size_t len);
/* The same with those characters left out (bytes that are not UTF-8
 * kept): what the text reads as, to find the key it was meant to be. */
char *text_drop_invisible(const char *in, char *out, size_t len);

/* Monotonic time in ms and in µs. */
uint64_t now_ms(void);
uint64_t now_us(void);

/* The kernel's page size in bytes, read once: what KSM's page counters
 * count (4 KiB on x86, 64 KiB on some arm64 and ppc64el kernels). */
double page_bytes(void);

#endif
