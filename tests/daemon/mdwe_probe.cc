// mdwe_probe: runs a command under the same seccomp rules systemd installs
// for MemoryDenyWriteExecute=yes, so the claim in config/interpd.service
// ("CPython works with it") is checked here rather than discovered in
// production.
//
//   mdwe_probe PROGRAM [ARGS...]
//
// The rules, for the native architecture, each failing with EPERM as
// systemd's do:
//   mmap           with PROT_WRITE and PROT_EXEC both set
//   mprotect       with PROT_EXEC set (so nothing is made executable later)
//   pkey_mprotect  with PROT_EXEC set
//   shmat          with SHM_EXEC set
// Newer systemd uses the kernel's prctl(PR_SET_MDWE) when it can, which is
// slightly more lenient (it allows mprotect(PROT_EXEC) on a mapping that was
// executable already); passing the stricter seccomp form passes both.
//
// Exit status: PROGRAM's, or 77 (skip) when this system cannot install the
// filter, or 127 if PROGRAM cannot be run.
//
// Thread safety: a single-threaded program; the filter is installed before
// exec and inherited by everything PROGRAM starts.
//
// Invariants:
//   1. Only the four calls above are ever refused; every other system call,
//      and calls of other architectures, are allowed.
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstddef>
#include <cstdio>
#include <cstring>

namespace {

constexpr int kSkip = 77;

#if defined(__x86_64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_X86_64;
#elif defined(__aarch64__)
constexpr unsigned kNativeArch = AUDIT_ARCH_AARCH64;
#else
constexpr unsigned kNativeArch = 0;  // not written for this architecture
#endif

constexpr unsigned kArchOffset = offsetof(seccomp_data, arch);
constexpr unsigned kNrOffset = offsetof(seccomp_data, nr);
// The low 32 bits of the third argument (prot, or shmflg for shmat): both
// supported architectures are little-endian.
constexpr unsigned kArg2Offset = offsetof(seccomp_data, args) + 2 * sizeof(__u64);

sock_filter Load(unsigned offset) {
  return sock_filter{static_cast<__u16>(BPF_LD | BPF_W | BPF_ABS), 0, 0, offset};
}
sock_filter Return(unsigned value) { return sock_filter{static_cast<__u16>(BPF_RET | BPF_K), 0, 0, value}; }
// Jumps are relative: `jt`/`jf` instructions are skipped when the test is
// true/false.
sock_filter JumpIfEqual(unsigned k, __u8 jt, __u8 jf) {
  return sock_filter{static_cast<__u16>(BPF_JMP | BPF_JEQ | BPF_K), jt, jf, k};
}
sock_filter JumpIfAnyBit(unsigned k, __u8 jt, __u8 jf) {
  return sock_filter{static_cast<__u16>(BPF_JMP | BPF_JSET | BPF_K), jt, jf, k};
}
sock_filter And(unsigned k) { return sock_filter{static_cast<__u16>(BPF_ALU | BPF_AND | BPF_K), 0, 0, k}; }

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s PROGRAM [ARGS...]\n", argv[0]);
    return 2;
  }
  if (kNativeArch == 0) {
    std::printf("SKIPPED: mdwe_probe only knows the x86-64 and arm64 system call tables\n");
    return kSkip;
  }
  const unsigned deny = SECCOMP_RET_ERRNO | EPERM;
  const unsigned allow = SECCOMP_RET_ALLOW;
  const sock_filter program[] = {
      /*  0 */ Load(kArchOffset),
      /*  1 */ JumpIfEqual(kNativeArch, 1, 0),
      /*  2 */ Return(allow),
      /*  3 */ Load(kNrOffset),
      /*  4 */ JumpIfEqual(__NR_mmap, 0, 5),  // not mmap: to 10
      /*  5 */ Load(kArg2Offset),
      /*  6 */ And(PROT_WRITE | PROT_EXEC),
      /*  7 */ JumpIfEqual(PROT_WRITE | PROT_EXEC, 0, 1),
      /*  8 */ Return(deny),
      /*  9 */ Return(allow),
      /* 10 */ JumpIfEqual(__NR_mprotect, 1, 0),       // mprotect: to 12
      /* 11 */ JumpIfEqual(__NR_pkey_mprotect, 0, 4),  // neither: to 16
      /* 12 */ Load(kArg2Offset),
      /* 13 */ JumpIfAnyBit(PROT_EXEC, 0, 1),
      /* 14 */ Return(deny),
      /* 15 */ Return(allow),
      /* 16 */ JumpIfEqual(__NR_shmat, 0, 3),  // not shmat: to 20
      /* 17 */ Load(kArg2Offset),
      /* 18 */ JumpIfAnyBit(SHM_EXEC, 0, 1),
      /* 19 */ Return(deny),
      /* 20 */ Return(allow),
  };
  sock_fprog fprog{static_cast<unsigned short>(sizeof program / sizeof program[0]),
                   const_cast<sock_filter*>(program)};

  // Unprivileged seccomp requires no_new_privs, as systemd's NoNewPrivileges=.
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 || prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) != 0) {
    std::printf("SKIPPED: cannot install a seccomp filter here (%s); a container may forbid it\n",
                std::strerror(errno));
    return kSkip;
  }
  execvp(argv[1], argv + 1);
  std::fprintf(stderr, "mdwe_probe: cannot run %s: %s\n", argv[1], std::strerror(errno));
  return 127;
}
