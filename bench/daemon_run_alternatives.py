"""The Python side of bench_daemon_run: the alternatives to `interpd run`.

bench_daemon_run starts this script once, with the CPython that interpd
embeds, and drives it over stdin/stdout one command per line, so that the
process pool and the daemon are measured in turns within the same run (the
machine is noisy; interleaving puts both sides under the same noise). Each
command answers with one line of JSON. Latency samples go back raw, in
nanoseconds, so both sides are summarised by the same C++ code.

Commands:
  info                      -> {"python": ..., "start_method": ..., "workers": N}
  apply N                   -> {"ns": [...]}  N sequential pool.apply(one)
  apply_async N             -> {"n": N, "seconds": s}  N apply_async at once, then wait
  client N SOCKET           -> {"ns": [...]}  N sequential `run` calls over the
                               daemon's socket with socket + json, as a user's
                               script would do it
  quit

The pool is created once and kept warm, like the daemon's workers: a
benchmark of pool start-up would be a different question.
"""

import json
import multiprocessing
import socket
import sys
import time


def one():
    # The same work as the daemon's script "1": produce the int 1.
    return 1


def apply_latency(pool, n):
    clock = time.perf_counter_ns
    out = []
    for _ in range(n):
        t0 = clock()
        pool.apply(one)
        out.append(clock() - t0)
    return {"ns": out}


def apply_async_throughput(pool, n):
    # Everything submitted before the first wait: the pool's best case, with
    # its feeder thread batching pickled tasks into the pipe.
    t0 = time.perf_counter()
    pending = [pool.apply_async(one) for _ in range(n)]
    for p in pending:
        p.get()
    return {"n": n, "seconds": time.perf_counter() - t0}


class Client:
    """What a user writes: one Unix socket, json.dumps out, json.loads in."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.next_id = 1

    def run(self, code):
        rid = self.next_id
        self.next_id += 1
        req = {"jsonrpc": "2.0", "id": rid, "method": "run", "params": {"code": code}}
        self.sock.sendall((json.dumps(req) + "\n").encode())
        while True:
            msg = json.loads(self.reader.readline())
            if msg.get("id") == rid:
                break
        result = msg["result"]
        if result["status"] != "ok":
            raise RuntimeError(f"run failed: {msg}")
        return result["value"]

    def close(self):
        self.reader.close()
        self.sock.close()


def client_latency(path, n):
    clock = time.perf_counter_ns
    client = Client(path)
    try:
        client.run("1")  # compiled once, then served from the code cache
        out = []
        for _ in range(n):
            t0 = clock()
            client.run("1")
            out.append(clock() - t0)
        return {"ns": out}
    finally:
        client.close()


def main():
    workers = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    with multiprocessing.Pool(processes=workers) as pool:
        pool.apply(one)  # both workers up before anything is timed
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            cmd = words[0]
            if cmd == "quit":
                break
            if cmd == "info":
                reply = {
                    "python": sys.version.split()[0],
                    "start_method": multiprocessing.get_start_method(),
                    "workers": workers,
                }
            elif cmd == "apply":
                reply = apply_latency(pool, int(words[1]))
            elif cmd == "apply_async":
                reply = apply_async_throughput(pool, int(words[1]))
            elif cmd == "client":
                reply = client_latency(words[2], int(words[1]))
            else:
                reply = {"error": f"unknown command {cmd!r}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()


if __name__ == "__main__":
    main()
