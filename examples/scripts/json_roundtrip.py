# Allocation-heavy work: build, dump and reload a nested JSON document.
import json

doc = {"items": [{"id": i, "tags": [f"t{i % 7}", f"g{i % 3}"], "score": i / 3} for i in range(20_000)]}
for _ in range(3):
    doc = json.loads(json.dumps(doc))
len(doc["items"])
