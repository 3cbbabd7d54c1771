"""The Python side of bench_actors: the stdlib's nearest equivalents of an actor.

bench_actors starts this script once, with the CPython that interpd embeds,
and drives it over stdin/stdout one command per line, so that the stdlib
alternatives and interpd are measured in turns within the same run (the
machine is noisy; taking turns puts every side under the same noise). Each
command answers with one line of JSON; latency samples go back raw, in
nanoseconds, so every side is summarised by the same C++ code.

The stdlib equivalents:
  * an object hosted by a `multiprocessing.managers.BaseManager` server
    process, called through its proxy from this (another) process: a named
    object living elsewhere, one call at a time, answered with a result or an
    exception. That is what an actor call is.
  * for one-way messages (actor `send`): a `multiprocessing.Queue` read by a
    process that applies each message to its object. A manager proxy has no
    fire-and-forget call, and a queue is what one would use instead.

Commands:
  info                  -> {"python": ..., "start_method": ...}
  proxy N               -> {"ns": [...]}  N sequential proxy.echo(i) calls
  queue_sends M         -> {"n": M, "seconds": s, "send_seconds": s0}
                           M puts, then wait until the consumer handled them all
  client N SOCKET NAME  -> {"ns": [...]}  N sequential actor.call requests
                           over the daemon's socket with socket + json, as a
                           user's script would do them
  quit
"""

import json
import multiprocessing
import socket
import sys
import time
from multiprocessing.managers import BaseManager


class Echo:
    """The same object as the interpd actor: echo returns its argument."""

    def __init__(self):
        self.n = 0

    def echo(self, x):
        return x

    def bump(self, x=None):
        self.n += 1

    def count(self):
        return self.n


class EchoManager(BaseManager):
    pass


EchoManager.register("Echo", Echo)


def proxy_latency(proxy, n):
    clock = time.perf_counter_ns
    out = [0] * n
    call = proxy.echo
    for i in range(n):
        t0 = clock()
        call(i)
        out[i] = clock() - t0
    return {"ns": out}


def consumer(inbox, done):
    obj = Echo()
    get = inbox.get
    while True:
        m = get()
        if m is None:
            done.put(obj.count())
            obj = Echo()
            continue
        if m == "quit":
            return
        obj.bump(m)


def queue_sends(inbox, done, m):
    # The sender puts every message, then one marker; the consumer answers the
    # marker with its count once it has handled everything before it.
    t0 = time.perf_counter()
    put = inbox.put
    for i in range(m):
        put(i)
    t1 = time.perf_counter()
    put(None)
    handled = done.get()
    t2 = time.perf_counter()
    if handled != m:
        raise RuntimeError(f"consumer handled {handled} of {m}")
    return {"n": m, "seconds": t2 - t0, "send_seconds": t1 - t0}


class Client:
    """What a user writes: one Unix socket, json.dumps out, json.loads in."""

    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(path)
        self.reader = self.sock.makefile("rb")
        self.next_id = 1

    def call(self, name, method, *args):
        rid = self.next_id
        self.next_id += 1
        req = {"jsonrpc": "2.0", "id": rid, "method": "actor.call",
               "params": {"name": name, "method": method, "args": list(args)}}
        self.sock.sendall((json.dumps(req) + "\n").encode())
        while True:
            msg = json.loads(self.reader.readline())
            if msg.get("id") == rid:
                break
        if "error" in msg:
            raise RuntimeError(f"actor.call failed: {msg}")
        return msg["result"]

    def close(self):
        self.reader.close()
        self.sock.close()


def client_latency(path, name, n):
    clock = time.perf_counter_ns
    client = Client(path)
    try:
        for i in range(100):
            client.call(name, "echo", i)
        out = [0] * n
        for i in range(n):
            t0 = clock()
            client.call(name, "echo", i)
            out[i] = clock() - t0
        return {"ns": out}
    finally:
        client.close()


def main():
    manager = EchoManager()
    manager.start()
    proxy = manager.Echo()
    for i in range(200):  # connection made and warm before anything is timed
        proxy.echo(i)
    inbox = multiprocessing.Queue()
    done = multiprocessing.Queue()
    proc = multiprocessing.Process(target=consumer, args=(inbox, done), daemon=True)
    proc.start()
    queue_sends(inbox, done, 1000)
    try:
        for line in sys.stdin:
            words = line.split()
            if not words:
                continue
            cmd = words[0]
            if cmd == "quit":
                break
            if cmd == "info":
                reply = {"python": sys.version.split()[0],
                         "start_method": multiprocessing.get_start_method()}
            elif cmd == "proxy":
                reply = proxy_latency(proxy, int(words[1]))
            elif cmd == "queue_sends":
                reply = queue_sends(inbox, done, int(words[1]))
            elif cmd == "client":
                reply = client_latency(words[2], words[3], int(words[1]))
            else:
                reply = {"error": f"unknown command {cmd!r}"}
            sys.stdout.write(json.dumps(reply) + "\n")
            sys.stdout.flush()
    finally:
        inbox.put("quit")
        proc.join(5)
        manager.shutdown()


if __name__ == "__main__":
    main()
