# A counter actor: state that lives in one worker interpreter between calls.
#   interpctl spawn counter Counter examples/actors/counter.py
#   interpctl call counter incr 5
class Counter:
    def __init__(self, start=0):
        self.n = start

    def incr(self, by=1):
        self.n += by
        return self.n

    def get(self):
        return self.n

    def on_stop(self):
        # Runs when the actor is stopped (actor.stop, or daemon shutdown).
        pass
