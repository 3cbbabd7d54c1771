"""CPU-bound workloads shared by bench_cpu_scaling and its Python helper.

Both sides import this one module (interpd workers through
RuntimeOptions.extra_paths, the helper through its own directory), so the
interpd workers, the threads and the process pool all run the very same
bytecode. Each function takes a size `n` and returns a small int, so the
result can leave any kind of worker cheaply and be checked.
"""

import json
import time


def int_loop(n):
    """Pure integer arithmetic in a Python loop: no allocation to speak of."""
    acc = 0
    for i in range(n):
        acc = (acc + i * i) % 1000003
    return acc


class _Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


def alloc_churn(n):
    """Builds and drops lists, dicts and small objects (GC-tracked).

    A window of recent items is kept alive and dropped in bulk, so the
    allocator both grows and frees memory, and the cyclic GC runs.
    """
    window = []
    total = 0
    for i in range(n):
        p = _Point(i, i + 1)
        d = {"id": i, "p": p, "xs": [i, i + 1, i + 2], "name": "item"}
        window.append([d, p, (i, i)])
        if len(window) >= 512:
            total += len(window)
            window = []
        total += len(d["xs"])
    return total


def _document():
    # About 40 KB of JSON: records with strings, numbers, lists and a nested
    # object, the shape of a typical API payload. Deterministic.
    records = []
    for i in range(120):
        records.append({
            "id": i,
            "name": "user-%04d" % i,
            "email": "user%d@example.org" % i,
            "active": i % 3 != 0,
            "score": i * 1.25,
            "tags": ["t%d" % (i % 7), "t%d" % (i % 11), "group-%d" % (i % 5)],
            "address": {"street": "%d Main Street" % i, "city": "Springfield", "zip": "%05d" % (i * 37)},
            "history": [i, i * 2, i * 3, i * 5, i * 8],
        })
    return {"version": 3, "count": len(records), "records": records}


_DOC = _document()


def json_roundtrip(n):
    """json.dumps then json.loads of a mid-sized document, n times."""
    size = 0
    for _ in range(n):
        text = json.dumps(_DOC)
        back = json.loads(text)
        size += len(text) + back["count"]
    return size


def document_size():
    return len(json.dumps(_DOC))


WORKLOADS = {
    "int_loop": int_loop,
    "alloc_churn": alloc_churn,
    "json_roundtrip": json_roundtrip,
}


def timed(name, n):
    """Runs one unit; returns (its result, the CPU time this thread spent).

    Thread CPU time does not count waiting (for the GIL, for a CPU taken by
    other processes), so it shows whether running units side by side makes
    each one more expensive, independently of how busy the machine is.
    """
    t0 = time.thread_time()
    result = WORKLOADS[name](n)
    return result, time.thread_time() - t0
