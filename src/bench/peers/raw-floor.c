/*
 * The floor: the fastest a single writer can make 4 KiB (or SIZE) durable on this filesystem
 * with the same syscall the WAL uses. With BATCH > 1 it is the ceiling of group commit for BATCH
 * writers: each step writes BATCH entries with one pwrite and makes them durable with one
 * fdatasync, with no CPU spent on collecting, acknowledging or waking anyone. A file is zero-filled and fsync'ed before timing, so each
 * timed pwrite overwrites allocated, written blocks and fdatasync has no metadata to flush
 * (the best case a preallocating WAL can reach). Compiled at bench run time by src/bench/peers/raw-floor.ts.
 *
 * Two steps, so the caller can read device counters around the timed part only:
 *   raw-floor fill PATH FILE_BYTES         zero-fill PATH with real writes, fsync it
 *   raw-floor run PATH ENTRY_BYTES DURATION_MS [BATCH]
 *                                           overwrite PATH from offset 0 (wrapping at its end)
 * stdout of run: "ops <n> ns <elapsed> batch <b>" then one line per pwrite+fdatasync: its latency
 * in nanoseconds (every one of the step's b commits waited that long).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "raw-floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static int fill(const char *path, long long file_bytes) {
  int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0644);
  if (fd < 0) die("open");
  /* Real zero writes, not fallocate: unwritten extents would cost metadata on first write. */
  size_t chunk = 1 << 20;
  char *zeros = calloc(1, chunk);
  if (!zeros) die("calloc");
  for (long long off = 0; off < file_bytes; off += (long long)chunk) {
    size_t n = (size_t)((file_bytes - off) < (long long)chunk ? (file_bytes - off) : (long long)chunk);
    if (pwrite(fd, zeros, n, off) != (ssize_t)n) die("zero-fill pwrite");
  }
  if (fsync(fd) != 0) die("fsync after zero-fill");
  free(zeros);
  close(fd);
  return 0;
}

static int run(const char *path, long long entry, long long duration_ns, long long batch) {
  int fd = open(path, O_WRONLY);
  if (fd < 0) die("open");
  struct stat st;
  if (fstat(fd, &st) != 0) die("fstat");
  const long long step = entry * batch;
  long long file_bytes = (long long)st.st_size - (long long)st.st_size % step;
  if (file_bytes < step) {
    fprintf(stderr, "raw-floor: %s is smaller than one batch of entries; run fill first\n", path);
    return 2;
  }

  char *buf = malloc((size_t)step);
  if (!buf) die("malloc");
  for (long long i = 0; i < step; i++) buf[i] = (char)(i * 31 + 7);

  /* Latencies are kept in memory and printed after timing, so printing costs nothing measured. */
  size_t cap = 1 << 16, n = 0;
  long long *lat = malloc(cap * sizeof *lat);
  if (!lat) die("malloc");

  long long off = 0;
  long long start = now_ns();
  long long end = start + duration_ns;
  long long t = start;
  while (t < end) {
    long long t0 = now_ns();
    if (pwrite(fd, buf, (size_t)step, off) != (ssize_t)step) die("pwrite");
    if (fdatasync(fd) != 0) die("fdatasync");
    t = now_ns();
    if (n == cap) {
      cap *= 2;
      lat = realloc(lat, cap * sizeof *lat);
      if (!lat) die("realloc");
    }
    lat[n++] = t - t0;
    off += step;
    /* Wrap around: keep overwriting the zero-filled region rather than extending the file. */
    if (off + step > file_bytes) off = 0;
  }
  close(fd);

  printf("ops %zu ns %lld batch %lld\n", n, t - start, batch);
  for (size_t i = 0; i < n; i++) printf("%lld\n", lat[i]);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "fill") == 0) {
    long long file_bytes = atoll(argv[3]);
    if (file_bytes <= 0) {
      fprintf(stderr, "raw-floor: bad FILE_BYTES\n");
      return 2;
    }
    return fill(argv[2], file_bytes);
  }
  if ((argc == 5 || argc == 6) && strcmp(argv[1], "run") == 0) {
    long long entry = atoll(argv[3]);
    long long duration_ns = atoll(argv[4]) * 1000000LL;
    long long batch = argc == 6 ? atoll(argv[5]) : 1;
    if (entry <= 0 || duration_ns <= 0 || batch <= 0) {
      fprintf(stderr, "raw-floor: bad ENTRY_BYTES, DURATION_MS or BATCH\n");
      return 2;
    }
    return run(argv[2], entry, duration_ns, batch);
  }
  fprintf(stderr, "usage: raw-floor fill PATH FILE_BYTES | raw-floor run PATH ENTRY_BYTES DURATION_MS [BATCH]\n");
  return 2;
}
