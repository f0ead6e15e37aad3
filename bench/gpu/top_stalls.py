"""Reads `ncu --page source --csv --print-source sass` on stdin and prints the
N SASS lines with the most warp-stall samples (usage: top_stalls.py N)."""
import csv, sys

rows = list(csv.reader(sys.stdin))
if not rows:
    sys.exit("no source page")
# A preamble ("Kernel Name", ...) precedes the header row.
start = next((i for i, r in enumerate(rows) if "Source" in r), None)
if start is None:
    sys.exit("no header row with a Source column: %r" % rows[:3])
header, rows = rows[start], rows[start:]
def column(*words):
    for i, name in enumerate(header):
        if all(w.lower() in name.lower() for w in words):
            return i
    return None
samples = column("Warp Stall Sampling (All")
if samples is None:
    samples = column("Stall", "Sampl")
source = column("Source")
executed = column("Instructions Executed")
print("columns:", header)
def num(x):
    try:
        return float(x.replace(",", ""))
    except ValueError:
        return 0.0
body = rows[1:]
total = sum(num(r[samples]) for r in body if len(r) > samples) or 1
print(f"total stall samples {total:.0f}, {len(body)} SASS lines")
for r in sorted(body, key=lambda r: -num(r[samples]) if len(r) > samples else 0)[: int(sys.argv[1])]:
    print(f"{100 * num(r[samples]) / total:5.1f}%  exec={r[executed] if executed is not None else '?':>10}  {r[source]}")
