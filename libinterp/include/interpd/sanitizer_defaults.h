// Sanitizer defaults for a binary that embeds CPython. Include this header
// in exactly ONE translation unit of such a binary (the one with main); in
// builds without ASan it defines nothing.
//
// CPython keeps some memory until exit on purpose (interned strings, static
// types' caches, obmalloc's arena map) and, in 3.12/3.13, leaks part of
// every destroyed subinterpreter. LeakSanitizer would report those at exit
// and turn a clean shutdown into exit status 1. Only allocations made from
// libpython are suppressed, so a leak in interpd's own code is still
// reported.
#ifndef INTERPD_SANITIZER_DEFAULTS_H_
#define INTERPD_SANITIZER_DEFAULTS_H_

#if defined(__SANITIZE_ADDRESS__)
extern "C" const char* __lsan_default_suppressions() {
  return "leak:libpython3\n"
         "leak:_PyObject_Malloc\n"
         "leak:PyMem_RawMalloc\n";
}
extern "C" const char* __asan_default_options() {
  // CPython's obmalloc and its signal handling are not ASan-aware.
  return "detect_stack_use_after_return=0:handle_segv=1:allow_user_segv_handler=1";
}
#endif

#endif  // INTERPD_SANITIZER_DEFAULTS_H_
