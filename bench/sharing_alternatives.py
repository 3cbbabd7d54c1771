"""The alternatives bench_sharing measures interpd's channels against.

Run by bench_sharing (never by hand, though it works by hand) with the CPython
3.13 interpreter that interpd embeds. It reads one JSON command per line on
stdin and answers each with one JSON line on stdout, so one process serves a
whole benchmark run and the C++ side can interleave these runs with its own.

Implementations ("impl"):
  cpq       CPython's own cross-interpreter queue
            (test.support.interpreters.queues, built on _interpqueues),
            syncobj=True (the fastest format: no pickle for int/bytes), used
            as shipped: get() polls and sleeps 10 ms while the queue is empty.
            One side runs in a subinterpreter (own GIL) on a second thread,
            the other in the main interpreter.
  cpq_poll  the same queue with get_nowait() in a busy loop: what the queue
            costs without its sleeping (burns a core while waiting).
  mpq       multiprocessing.Queue between this process and a child process
            (pickle + pipe, a feeder thread in the sender).

Tests ("test"), all timed with time.perf_counter() inside the two sides
(CLOCK_MONOTONIC: comparable across threads and processes):
  tput      one direction, `n` values (kind "int": the loop counter; kind
            "bytes16": one 16-byte bytes object sent again and again); the
            producer records t0 before its first put, the consumer t1 after
            its last get; both record their CPU time (the mp producer: its
            whole process, feeder thread included).
  pingpong  `n` round trips (after `warmup`), int values: put on one queue,
            the peer echoes on another; the measuring side records each RTT.
  payload   `n` messages of `size` bytes, receiver-driven: the receiver asks
            (a token on a second queue), the sender takes t0 and sends, the
            receiver takes t1 once it has the object. "as": "bytes" (copied
            on the way) or "memoryview" (cpq only: 3.13 shares a read-only
            view of the sender's bytes). Addresses of the first byte on both
            sides are returned to show whether a copy was made.
  local     single interpreter, no second thread: per-call cost of
            put_nowait/get_nowait of the high-level Queue and of the raw
            _interpqueues.put/get, for int and 16-byte bytes (best of `reps`
            repetitions of n calls).
"""

import ctypes
import json
import multiprocessing
import sys
import threading
import time

from test.support import interpreters
from test.support.interpreters import queues

pc = time.perf_counter


# ---- Address of a buffer's first byte (works for read-only buffers) ---------

class _PyBuffer(ctypes.Structure):
    _fields_ = [("buf", ctypes.c_void_p), ("obj", ctypes.py_object), ("len", ctypes.c_ssize_t),
                ("itemsize", ctypes.c_ssize_t), ("readonly", ctypes.c_int), ("ndim", ctypes.c_int),
                ("format", ctypes.c_char_p), ("shape", ctypes.c_void_p), ("strides", ctypes.c_void_p),
                ("suboffsets", ctypes.c_void_p), ("internal", ctypes.c_void_p)]


_get_buffer = ctypes.pythonapi.PyObject_GetBuffer
_get_buffer.argtypes = [ctypes.py_object, ctypes.POINTER(_PyBuffer), ctypes.c_int]
_release_buffer = ctypes.pythonapi.PyBuffer_Release
_release_buffer.argtypes = [ctypes.POINTER(_PyBuffer)]


def buffer_address(obj):
    view = _PyBuffer()
    if _get_buffer(obj, ctypes.byref(view), 0) != 0:
        raise RuntimeError("no buffer")
    try:
        return view.buf
    finally:
        _release_buffer(ctypes.byref(view))


# ---- CPython's interpreters queue ---------------------------------------------

# Code run in the subinterpreter. `poll` picks the waiting policy; queues
# arrive through prepare_main. Results go back on `res` (a pickle queue).
SUB_PRELUDE = """
import sys, time
from test.support.interpreters import queues
pc = time.perf_counter
def poller(q):
    get = q.get_nowait
    Empty = queues.QueueEmpty
    def poll():
        while True:
            try:
                return get()
            except Empty:
                pass
    return poll
def getter(q):
    return poller(q) if poll else q.get
"""

# Hot loops in functions (fast locals), like the interpd scripts.
SUB_TPUT = """
def main(n):
    value = bytes(16) if kind == 'bytes16' else None
    getter(ctl)()
    put = q.put
    c0 = time.thread_time()
    t0 = pc()
    if value is None:
        for i in range(n):
            put(i)
    else:
        for i in range(n):
            put(value)
    res.put((t0, pc(), time.thread_time() - c0))
main(n)
"""

SUB_ECHO = """
def main():
    put = pong.put
    get = getter(ping)
    while True:
        x = get()
        put(x)
        if x is None:
            break
main()
"""

SUB_PAYLOAD = """
def main(n, size):
    data = b'\\x01' * size
    addr = id(data) + sys.getsizeof(b'') - 1  # first byte of a bytes object
    t0s = []
    put = q.put
    get_req = getter(req)
    for i in range(n):
        get_req()
        t0 = pc()
        put(memoryview(data) if as_view else data)
        t0s.append(t0)
    get_req()
    res.put((t0s, addr))
main(n, size)
"""


class CpqRunner:
    """One subinterpreter (own GIL), reused by every cpq/cpq_poll test."""

    def __init__(self):
        self.interp = interpreters.create()
        self.interp.exec("from test.support.interpreters import queues")

    def _start(self, code, **names):
        self.interp.prepare_main(**names)
        errors = []

        def run():
            try:
                self.interp.exec(SUB_PRELUDE + code)
            except Exception as e:  # reported, and the main side times out
                errors.append(repr(e))
                print("subinterpreter failed:", e, file=sys.stderr, flush=True)

        t = threading.Thread(target=run)
        t.start()
        return t, errors

    @staticmethod
    def _getter(q, poll):
        """The receive call, bound: q.get as shipped, or a busy loop."""
        if not poll:
            return q.get
        get = q.get_nowait
        empty = queues.QueueEmpty

        def poll_get():
            while True:
                try:
                    return get()
                except empty:
                    pass
        return poll_get

    def tput(self, poll, kind, n):
        q = queues.create(syncobj=True)
        ctl = queues.create(syncobj=True)
        res = queues.create()
        t, errors = self._start(SUB_TPUT, q=q, ctl=ctl, res=res, poll=poll, kind=kind, n=n)
        get = self._getter(q, poll)
        ctl.put(1)
        x = None
        c0 = time.thread_time()
        for _ in range(n):
            x = get()
        t1 = pc()
        cpu = time.thread_time() - c0
        t0, t0_end, producer_cpu = res.get()
        t.join()
        ok = (x == n - 1) if kind == 'int' else (x == bytes(16))
        return {"t0": t0, "t0_end": t0_end, "t1": t1, "n": n, "producer_cpu": producer_cpu,
                "consumer_cpu": cpu, "ok": ok and not errors}

    def pingpong(self, poll, n, warmup):
        ping = queues.create(syncobj=True)
        pong = queues.create(syncobj=True)
        t, errors = self._start(SUB_ECHO, ping=ping, pong=pong, poll=poll)
        get = self._getter(pong, poll)
        put = ping.put
        rtt = []
        ok = True
        for i in range(warmup + n):
            t0 = pc()
            put(i)
            x = get()
            t1 = pc()
            ok = ok and x == i
            if i >= warmup:
                rtt.append(t1 - t0)
        put(None)
        get()
        t.join()
        return {"rtt": rtt, "ok": ok and not errors}

    def payload(self, poll, size, n, as_view):
        q = queues.create(syncobj=True)
        req = queues.create(syncobj=True)
        res = queues.create()
        t, errors = self._start(SUB_PAYLOAD, q=q, req=req, res=res, poll=poll, size=size, n=n,
                                as_view=as_view)
        get = self._getter(q, poll)
        t1s, addrs = [], []
        ok = True
        for _ in range(n):
            req.put(1)
            x = get()
            t1s.append(pc())
            ok = ok and len(x) == size
            addrs.append(buffer_address(x))
            del x  # views go back before the sender's bytes do
        req.put(1)
        t0s, addr = res.get()
        t.join()
        return {"t0": t0s, "t1": t1s, "addr_sent": addr, "addr_recv": addrs, "ok": ok and not errors}

    def close(self):
        self.interp.close()


# ---- multiprocessing.Queue ----------------------------------------------------

def _mp_producer(q, go, res, kind, n):
    value = bytes(16) if kind == 'bytes16' else None
    go.wait()
    # The whole process: put() only queues; a feeder thread pickles and writes.
    c0 = time.process_time()
    t0 = pc()
    put = q.put
    if value is None:
        for i in range(n):
            put(i)
    else:
        for i in range(n):
            put(value)
    q.close()
    q.join_thread()  # until the feeder has written everything
    res.put((t0, pc(), time.process_time() - c0))


def _mp_echo(ping, pong):
    while True:
        x = ping.get()
        pong.put(x)
        if x is None:
            break


def _mp_sender(q, req, res, size, n):
    data = b'\x01' * size
    t0s = []
    for _ in range(n):
        req.get()
        t0 = pc()
        q.put(data)
        t0s.append(t0)
    req.get()
    res.put((t0s, buffer_address(data)))


class MpqRunner:
    def __init__(self):
        # forkserver: children fork from a clean process, not from this one
        # (which has a subinterpreter and threads).
        self.ctx = multiprocessing.get_context("forkserver")

    def tput(self, kind, n):
        q, res, go = self.ctx.Queue(), self.ctx.Queue(), self.ctx.Event()
        p = self.ctx.Process(target=_mp_producer, args=(q, go, res, kind, n))
        p.start()
        go.set()
        x = None
        get = q.get
        c0 = time.thread_time()
        for _ in range(n):
            x = get()
        t1 = pc()
        cpu = time.thread_time() - c0
        t0, t0_end, producer_cpu = res.get(timeout=120)
        p.join()
        ok = (x == n - 1) if kind == 'int' else (x == bytes(16))
        return {"t0": t0, "t0_end": t0_end, "t1": t1, "n": n, "producer_cpu": producer_cpu,
                "consumer_cpu": cpu, "ok": ok and p.exitcode == 0}

    def pingpong(self, n, warmup):
        ping, pong = self.ctx.Queue(), self.ctx.Queue()
        p = self.ctx.Process(target=_mp_echo, args=(ping, pong))
        p.start()
        put, get = ping.put, pong.get
        rtt = []
        ok = True
        for i in range(warmup + n):
            t0 = pc()
            put(i)
            x = get()
            t1 = pc()
            ok = ok and x == i
            if i >= warmup:
                rtt.append(t1 - t0)
        put(None)
        get()
        p.join()
        return {"rtt": rtt, "ok": ok and p.exitcode == 0}

    def payload(self, size, n):
        q, req, res = self.ctx.Queue(), self.ctx.Queue(), self.ctx.Queue()
        p = self.ctx.Process(target=_mp_sender, args=(q, req, res, size, n))
        p.start()
        t1s, addrs = [], []
        ok = True
        for _ in range(n):
            req.put(1)
            x = q.get()
            t1s.append(pc())
            ok = ok and len(x) == size
            addrs.append(buffer_address(x))
            del x
        req.put(1)
        t0s, addr = res.get(timeout=120)
        p.join()
        # Another process: the addresses are of different address spaces and
        # prove nothing; the bytes were pickled and piped (copied) anyway.
        return {"t0": t0s, "t1": t1s, "addr_sent": addr, "addr_recv": addrs,
                "ok": ok and p.exitcode == 0, "separate_process": True}


# ---- Single-interpreter cost (no second thread, no wake-up) -------------------

def local_costs(n, reps):
    """ns per call in one interpreter, the best of `reps` repetitions of n
    calls: fill n into an empty queue, then drain them."""
    import _interpqueues
    out = {}
    q = queues.create(syncobj=True)
    qid, unboundop = q.id, q._unbound[0]
    rput, rget = _interpqueues.put, _interpqueues.get
    put, get = q.put_nowait, q.get_nowait

    def best(name, fn):
        out[name] = min(fn() for _ in range(reps)) / n * 1e9

    for kind in ("int", "bytes16"):
        values = list(range(n)) if kind == "int" else [bytes(16)] * n

        def fill():
            t0 = pc()
            for v in values:
                put(v)
            t = pc() - t0
            for _ in values:
                get()
            return t

        def drain():
            for v in values:
                put(v)
            t0 = pc()
            for _ in values:
                get()
            return pc() - t0

        def raw_fill():
            t0 = pc()
            for v in values:
                rput(qid, v, 0, unboundop)
            t = pc() - t0
            for _ in values:
                rget(qid)
            return t

        def raw_drain():
            for v in values:
                rput(qid, v, 0, unboundop)
            t0 = pc()
            for _ in values:
                rget(qid)
            return pc() - t0

        best(f"queue_put_nowait_{kind}", fill)
        best(f"queue_get_nowait_{kind}", drain)
        best(f"raw_put_{kind}", raw_fill)
        best(f"raw_get_{kind}", raw_drain)
    values = list(range(n))

    def loop_abs():
        f = abs
        t0 = pc()
        for v in values:
            f(v)
        return pc() - t0

    best("loop_abs", loop_abs)
    return out


def main():
    cpq = None
    mpq = None
    print(json.dumps({"ready": True, "python": sys.version.split()[0]}), flush=True)
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        cmd = json.loads(line)
        impl, test = cmd.get("impl"), cmd["test"]
        try:
            if test == "quit":
                break
            if test == "local":
                out = local_costs(cmd["n"], cmd["reps"])
            elif impl in ("cpq", "cpq_poll"):
                cpq = cpq or CpqRunner()
                poll = impl == "cpq_poll"
                if test == "tput":
                    out = cpq.tput(poll, cmd["kind"], cmd["n"])
                elif test == "pingpong":
                    out = cpq.pingpong(poll, cmd["n"], cmd["warmup"])
                elif test == "payload":
                    out = cpq.payload(poll, cmd["size"], cmd["n"], cmd.get("as") == "memoryview")
                else:
                    raise ValueError(f"unknown test {test}")
            elif impl == "mpq":
                mpq = mpq or MpqRunner()
                if test == "tput":
                    out = mpq.tput(cmd["kind"], cmd["n"])
                elif test == "pingpong":
                    out = mpq.pingpong(cmd["n"], cmd["warmup"])
                elif test == "payload":
                    out = mpq.payload(cmd["size"], cmd["n"])
                else:
                    raise ValueError(f"unknown test {test}")
            else:
                raise ValueError(f"unknown impl {impl}")
        except Exception as e:
            out = {"error": f"{type(e).__name__}: {e}"}
        print(json.dumps(out), flush=True)
    if cpq is not None:
        cpq.close()


if __name__ == "__main__":
    main()
