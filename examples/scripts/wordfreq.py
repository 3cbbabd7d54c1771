# Reads text from stdin (or uses a built-in sample) and returns the most
# common words: the final expression is the script's result.
import collections
import re
import sys

text = sys.stdin.read() or "the quick brown fox jumps over the lazy dog " * 2000
words = re.findall(r"[a-z']+", text.lower())
top = collections.Counter(words).most_common(3)
print(f"{len(words)} words, {len(set(words))} distinct")
dict(top)
