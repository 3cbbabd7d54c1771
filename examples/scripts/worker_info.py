# Shows where a script runs: its worker slot and interpreter.
import interpd
import sys

print(f"worker {interpd.worker_id()}, interpreter {interpd.interpreter_id()}, Python {sys.version.split()[0]}")
{"worker": interpd.worker_id(), "interpreter": interpd.interpreter_id()}
