"""What interpd needs from CPython, run under mdwe_probe's filter.

config/interpd.service sets MemoryDenyWriteExecute=yes and says CPython
works with it. This script checks that claim with the CPython the daemon is
built against: first that the filter really is in force (otherwise the rest
proves nothing), then the things scripts and the runtime do: import the
standard library, run code in an isolated subinterpreter, call back from C
into Python through ctypes.

Exit status 0 if all is well; 1 with a message per failure otherwise.
"""

import ctypes
import errno
import importlib
import mmap
import sys

failures = []

# --- 1. The filter is in force.
try:
    mmap.mmap(-1, mmap.PAGESIZE, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
    failures.append("a writable+executable mmap was allowed: the filter is not in force")
except PermissionError:
    pass

libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
libc.mprotect.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
page = libc.mmap(None, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_WRITE,
                 mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
if libc.mprotect(page, mmap.PAGESIZE, mmap.PROT_READ | mmap.PROT_EXEC) == 0:
    failures.append("mprotect(PROT_EXEC) was allowed: the filter is not in force")
elif ctypes.get_errno() != errno.EPERM:
    failures.append(f"mprotect(PROT_EXEC) failed with errno {ctypes.get_errno()}, not EPERM")

# --- 2. The standard library, including the C accelerators and the modules
# that compile patterns or load shared libraries at import time.
MODULES = [
    "array", "asyncio", "bz2", "cmath", "collections", "concurrent.futures",
    "csv", "ctypes", "dataclasses", "datetime", "decimal", "email", "fractions", "functools",
    "hashlib", "heapq", "http.client", "json", "logging", "lzma", "math", "pickle", "random",
    "re", "secrets", "select", "socket", "sqlite3", "ssl", "statistics", "struct",
    "subprocess", "textwrap", "threading", "tomllib", "typing", "unicodedata", "urllib.request",
    "uuid", "xml.etree.ElementTree", "zlib", "zoneinfo",
]
for name in MODULES:
    try:
        importlib.import_module(name)
    except Exception as e:  # noqa: BLE001 - every failure is reported
        failures.append(f"import {name}: {e!r}")

import decimal  # noqa: E402
import hashlib  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sqlite3  # noqa: E402

if re.fullmatch(r"(a|b)*c{2,}", "abbacc") is None:
    failures.append("re: a simple pattern did not match")
if json.loads(json.dumps({"x": [1, 2.5, "s"]})) != {"x": [1, 2.5, "s"]}:
    failures.append("json round trip")
if str(decimal.Decimal(1) / decimal.Decimal(7))[:8] != "0.142857":
    failures.append("decimal division")
if hashlib.sha256(b"interpd").hexdigest()[:8] != "e38156bb":
    failures.append("sha256")
with sqlite3.connect(":memory:") as db:
    if db.execute("select 6 * 7").fetchone() != (42,):
        failures.append("sqlite3")

# --- 3. An isolated subinterpreter with its own GIL, as every worker has.
SUBINTERPRETER_CODE = "import json, re, decimal; json.dumps([1]); re.compile('x+')"
try:
    try:
        import _interpreters  # 3.13, interpd's reference version

        interp = _interpreters.create(_interpreters.new_config("isolated"))
        run = _interpreters.exec
    except ImportError:
        import _xxsubinterpreters as _interpreters  # 3.12: isolated by default

        interp = _interpreters.create()
        run = _interpreters.run_string
    try:
        err = run(interp, SUBINTERPRETER_CODE)
        if err is not None:
            failures.append(f"subinterpreter: {err}")
    finally:
        _interpreters.destroy(interp)
except Exception as e:  # noqa: BLE001
    failures.append(f"subinterpreter: {e!r}")

# --- 4. ctypes callbacks: C calling back into Python through a libffi
# closure, the one place CPython can need executable data.
try:
    CMP = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int))
    values = (ctypes.c_int * 5)(5, 1, 4, 2, 3)
    libc.qsort(values, len(values), ctypes.sizeof(ctypes.c_int), CMP(lambda a, b: a[0] - b[0]))
    if list(values) != [1, 2, 3, 4, 5]:
        failures.append(f"ctypes callback: qsort gave {list(values)}")
except Exception as e:  # noqa: BLE001
    failures.append(f"ctypes callback (libffi closures need W+X memory with this libffi): {e!r}")

if failures:
    for f in failures:
        print("FAILED:", f)
    sys.exit(1)
print(f"CPython {sys.version.split()[0]} works under MemoryDenyWriteExecute's rules "
      f"({len(MODULES)} modules, a subinterpreter, ctypes callbacks)")
