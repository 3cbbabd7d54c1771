# CPU-bound pure Python: count primes below N with trial division.
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 60_000
count = 0
for k in range(2, n):
    d = 2
    while d * d <= k:
        if k % d == 0:
            break
        d += 1
    else:
        count += 1
print(f"primes below {n}: {count}")
count
