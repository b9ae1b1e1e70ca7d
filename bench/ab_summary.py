#!/usr/bin/env python3
"""Medians of A/B benchmark runs: reads lines "<A|B> <batch> <JSON>" (the JSON of master_bench)
and prints a Markdown table of every *_per_sec field per batch size, B / A.
   bench/ab_summary.py RESULTS [label A] [label B]"""
import json
import statistics
import sys

path = sys.argv[1]
label_a = sys.argv[2] if len(sys.argv) > 2 else "A (median)"
label_b = sys.argv[3] if len(sys.argv) > 3 else "B (median)"
rows = {}
for line in open(path):
    side, batch, text = line.split(" ", 2)
    for key, value in json.loads(text).items():
        if key.endswith("_per_sec"):
            rows.setdefault((batch, key), {}).setdefault(side, []).append(value)
print(f"| batch | metric | {label_a} | {label_b} | B / A |")
print("| ---: | --- | ---: | ---: | ---: |")
for (batch, key), sides in sorted(rows.items()):
    a, b = statistics.median(sides["A"]), statistics.median(sides["B"])
    if a:
        print(f"| {batch} | {key} | {a:.0f} | {b:.0f} | {b / a:.2f}x |")
