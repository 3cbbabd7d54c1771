"""The Python-side alternatives the interpd benchmarks measure against.

A bench_* program starts this script with the CPython executable that
interpd embeds (same build, same version) and drives it over a pipe, one JSON
command per line on stdin, one JSON reply per line on stdout. Keeping one
long-lived helper lets the C++ program interleave the alternatives with its
own measurements round by round, so background noise hits both sides alike.

Everything it times uses time.perf_counter_ns() around the measured call
only; pools are created and warmed up by separate commands, outside timing.
Nothing but replies may go to stdout (diagnostics go to stderr).
"""

import concurrent.futures
import json
import multiprocessing
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import cpu_workloads  # noqa: E402  (needs the path above)


def _noop():
    return 1


def _pid_after(delay):
    # Holds the worker a moment so that n calls land on n distinct workers.
    time.sleep(delay)
    return os.getpid()


def _gc_after(delay):
    # A full collection, as any long-running worker eventually does: it
    # writes to the header of every tracked object, inherited ones included.
    import gc
    time.sleep(delay)
    gc.collect()
    return os.getpid()


def _on_every_worker(pool, n, fn):
    """Runs fn(delay) until n distinct workers have run it; returns their pids."""
    pids = set()
    for attempt in range(20):
        pids.update(pool.map(fn, [0.05 * (attempt + 1)] * n, chunksize=1))
        if len(pids) >= n:
            break
    if len(pids) < n:
        raise RuntimeError("only %d of %d workers ran a task" % (len(pids), n))
    return sorted(pids)


class Helper:
    def __init__(self):
        self.procs = None      # multiprocessing.Pool for the CPU benchmark
        self.threads = None    # ThreadPoolExecutor for the CPU benchmark
        self.rt_pool = None    # multiprocessing.Pool for round trips
        self.mem_pool = None   # multiprocessing.Pool under memory measurement

    # ---- general ----
    def op_info(self, cmd):
        return {
            "python": sys.version.split()[0],
            "executable": sys.executable,
            "implementation": sys.implementation.name,
            "default_start_method": multiprocessing.get_start_method(allow_none=False),
            "pid": os.getpid(),
            "json_document_bytes": cpu_workloads.document_size(),
        }

    # ---- CPU scaling ----
    def op_calibrate(self, cmd):
        """Finds n such that one unit takes about target_s in this process."""
        fn = cpu_workloads.WORKLOADS[cmd["workload"]]
        target = float(cmd["target_s"])
        n = 1000
        while True:
            t0 = time.perf_counter()
            fn(n)
            dt = time.perf_counter() - t0
            if dt >= target / 8 or n > 1 << 34:
                break
            n *= 4
        # Median of three timings at the scaled size, then one correction.
        n = max(1, int(n * target / dt))
        times = []
        for _ in range(3):
            t0 = time.perf_counter()
            fn(n)
            times.append(time.perf_counter() - t0)
        times.sort()
        n = max(1, int(n * target / times[1]))
        return {"n": n, "measured_s": times[1]}

    def op_cpu_setup(self, cmd):
        parallel = int(cmd["parallel"])
        # The process pool first: it forks (the default start method on Linux
        # up to 3.13) and should do so before this process has extra threads.
        if self.procs is None:
            self.procs = multiprocessing.Pool(parallel)
        if self.threads is None:
            self.threads = concurrent.futures.ThreadPoolExecutor(max_workers=parallel)
        # Warm-up: every worker runs a small unit of every workload (sizes
        # from the driver, a fraction of a real unit).
        for name, n in cmd["warm_sizes"].items():
            fn = cpu_workloads.WORKLOADS[name]
            for r in [self.procs.apply_async(fn, (n,)) for _ in range(parallel * 2)]:
                r.get()
            for f in [self.threads.submit(fn, n) for _ in range(parallel * 2)]:
                f.result()
        return {"parallel": parallel, "start_method": multiprocessing.get_start_method()}

    def op_cpu(self, cmd):
        name = cmd["workload"]
        fn = cpu_workloads.timed
        n = int(cmd["n"])
        units = int(cmd["units"])
        mode = cmd["mode"]
        t0 = time.perf_counter_ns()
        if mode == "sequential":
            done = [fn(name, n) for _ in range(units)]
        elif mode == "threads":
            futures = [self.threads.submit(fn, name, n) for _ in range(units)]
            done = [f.result() for f in futures]
        elif mode == "process_pool":
            pending = [self.procs.apply_async(fn, (name, n)) for _ in range(units)]
            done = [p.get() for p in pending]
        else:
            raise ValueError("unknown mode " + mode)
        wall_ns = time.perf_counter_ns() - t0
        return {"wall_s": wall_ns / 1e9, "results": [d[0] for d in done], "unit_cpu_s": [d[1] for d in done]}

    # ---- task round trip ----
    def op_roundtrip_setup(self, cmd):
        if self.rt_pool is None:
            self.rt_pool = multiprocessing.Pool(int(cmd["workers"]))
        for _ in range(200):
            self.rt_pool.apply(_noop)
        return {
            "workers": int(cmd["workers"]),
            "start_method": multiprocessing.get_start_method(),
            # The driver pins these (every thread of each) for the one-CPU run.
            "pids": [os.getpid()] + [p.pid for p in self.rt_pool._pool],
        }

    def op_roundtrip(self, cmd):
        """Latency of pool.apply(_noop), in ns, one call at a time."""
        iters = int(cmd["iters"])
        gap = float(cmd.get("gap_us", 0)) / 1e6
        pool = self.rt_pool
        clock = time.perf_counter_ns
        samples = []
        for _ in range(iters):
            if gap:
                time.sleep(gap)
            t0 = clock()
            r = pool.apply(_noop)
            samples.append(clock() - t0)
            if r != 1:
                raise RuntimeError("bad result %r" % (r,))
        return {"samples_ns": samples}

    def op_throughput(self, cmd):
        """Pipelined: `batch` apply_async calls in flight, then wait for all."""
        total = int(cmd["tasks"])
        batch = int(cmd["batch"])
        pool = self.rt_pool
        t0 = time.perf_counter_ns()
        done = 0
        while done < total:
            k = min(batch, total - done)
            for p in [pool.apply_async(_noop) for _ in range(k)]:
                p.get()
            done += k
        return {"wall_s": (time.perf_counter_ns() - t0) / 1e9, "tasks": total}

    # ---- worker memory ----
    def op_mem_pool(self, cmd):
        """Starts a pool of n workers and makes each run one trivial task."""
        n = int(cmd["workers"])
        method = cmd.get("start_method") or multiprocessing.get_start_method()
        ctx = multiprocessing.get_context(method)
        self.mem_pool = ctx.Pool(n)
        ran = _on_every_worker(self.mem_pool, n, _pid_after)
        children = [p.pid for p in self.mem_pool._pool]  # the worker processes
        return {"workers": n, "start_method": method, "pids": children, "ran_tasks": ran}

    def op_mem_pool_gc(self, cmd):
        """Has every worker of the pool under measurement run gc.collect()."""
        n = len(self.mem_pool._pool)
        return {"ran_gc": _on_every_worker(self.mem_pool, n, _gc_after)}

    def op_mem_pool_close(self, cmd):
        if self.mem_pool is not None:
            self.mem_pool.terminate()
            self.mem_pool.join()
            self.mem_pool = None
        return {}

    def close(self):
        for pool in (self.procs, self.rt_pool, self.mem_pool):
            if pool is not None:
                pool.terminate()
                pool.join()
        if self.threads is not None:
            self.threads.shutdown()


def main():
    helper = Helper()
    out = sys.stdout
    try:
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cmd = json.loads(line)
            if cmd["op"] == "quit":
                break
            try:
                reply = getattr(helper, "op_" + cmd["op"])(cmd)
                reply["ok"] = True
            except Exception as e:  # reported to the driver, which stops
                reply = {"ok": False, "error": "%s: %s" % (type(e).__name__, e)}
            out.write(json.dumps(reply) + "\n")
            out.flush()
    finally:
        helper.close()


if __name__ == "__main__":
    main()
