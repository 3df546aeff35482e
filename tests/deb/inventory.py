# An inventory report: JSON in, sorted tables, decimal money, a digest out.
# Run by the deb-py-script case (scripts/conformance.sh) in its scratch directory.
import hashlib
import json
import sys
from collections import defaultdict
from decimal import Decimal, ROUND_HALF_EVEN

rows = []
with open("table.txt") as f:
    for line in f:
        name, qty, colour, price = line.split()
        rows.append({"name": name, "qty": int(qty), "colour": colour, "price": Decimal(price)})

by_colour = defaultdict(list)
for r in rows:
    by_colour[r["colour"]].append(r)

total = Decimal(0)
for colour in sorted(by_colour):
    items = sorted(by_colour[colour], key=lambda r: (-r["qty"], r["name"]))
    value = sum((r["price"] * r["qty"] for r in items), Decimal(0))
    total += value
    print(f"{colour:8} {len(items)} {value.quantize(Decimal('0.01'), ROUND_HALF_EVEN):>10}",
          ", ".join(r["name"] for r in items))
print("total", total, "mean", (total / len(rows)).quantize(Decimal("0.0001")))

doc = json.dumps([{**r, "price": str(r["price"])} for r in rows], sort_keys=True)
with open("inventory.json", "w") as out:
    out.write(doc + "\n")
print("sha256", hashlib.sha256(doc.encode()).hexdigest())
back = json.loads(doc)
assert [r["name"] for r in back] == [r["name"] for r in rows]
sys.exit(0 if total > 0 else 1)
