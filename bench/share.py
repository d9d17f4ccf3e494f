#!/usr/bin/python3
"""bench/share.py SCRIPT USERD [KIND] — the CPU share of userd's journal or
capacity path, from the samples of one `perf record --call-graph dwarf`.

SCRIPT is the output of `perf script -F comm,tid,ip,sym,symoff,dso
--no-inline` of userd's samples (one sample: a header line, then its call
chain, innermost frame first, then a blank line); USERD is the binary
(with its symbols: -g).  userd's static functions are mostly inlined, so
each frame inside USERD is expanded into its inline chain with one batch
of `addr2line -a -i -f` (the address of a caller's frame is its return
address: one byte back is the call).  KIND is `journal` or `capacity`
(default: both).

A sample belongs to
- the journal when its chain holds record() (exchange.c: the access-log
  line and the journal's entry; the runs have the access log off, so it is
  the journal's work and the query parsing only it needs) or a journal_*
  function;
- the capacity path when its chain holds one of arrive, begin_service,
  end_service, start_next, queue_deadline, limit_now, resume_all or a
  capacity_* function, and no deeper frame is work that a request does
  without --capacity too (wait_for_deadline, timerq_add, timerq_now,
  aim_at: begin_service's timer, which wait_then_send arms directly when
  capacity is off).

Prints key=value lines: n (samples of userd), unwound (share of samples
whose chain reaches a thread's start: start_thread, clone3, clone or
_start; a chain cut short can hide a frame), and per KIND its count k, the
share p = k/n and its binomial sampling error sqrt(p(1-p)/n), then the
KIND's samples by the function they are in below its entry points (record
and journal_exchange; arrive, end_service and queue_deadline), or
`self:NAME` for an entry point's own code, as `part KIND NAME COUNT`.
"""

import collections
import math
import os
import re
import subprocess
import sys

JOURNAL = {"record", "journal_exchange"}
JOURNAL_PREFIX = ("journal_",)
CAPACITY = {"arrive", "begin_service", "end_service", "start_next",
            "queue_deadline", "limit_now", "resume_all"}
CAPACITY_PREFIX = ("capacity_",)
COMMON = {"wait_for_deadline", "timerq_add", "timerq_now", "aim_at"}
# The entry points, whose callees (or own code: self:NAME) the parts name.
WRAPPERS = {"journal": {"record", "journal_exchange"},
            "capacity": {"arrive", "end_service", "queue_deadline"}}
ROOTS = {"start_thread", "clone3", "clone", "__clone", "__clone3", "_start"}

FRAME = re.compile(r"^\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$")


def base(name):
    """GCC's clones (start_next.constprop.0) and versioned symbols
    (clock_gettime@@GLIBC_2.17) under their plain name."""
    return name.split("@", 1)[0].split(".", 1)[0]


def in_set(name, names, prefixes):
    name = base(name)
    return name in names or name.startswith(prefixes)


def symbols(binary):
    """name -> address of the functions in binary (unique names only)."""
    out = subprocess.run(["nm", "--defined-only", binary], check=True,
                         capture_output=True, text=True).stdout
    seen = collections.defaultdict(set)
    for line in out.splitlines():
        f = line.split()
        if len(f) == 3 and f[1] in "tTwW":
            seen[f[2]].add(int(f[0], 16))
    return {k: next(iter(v)) for k, v in seen.items() if len(v) == 1}


def samples(path):
    """Each sample's frames, innermost first: (symbol, offset, dso)."""
    frames = []
    with open(path, errors="replace") as f:
        for line in f:
            if not line.strip():
                if frames:
                    yield frames
                frames = []
                continue
            m = FRAME.match(line)
            if m is None:
                if frames:          # a header without the blank line before
                    yield frames
                frames = []
                continue
            sym, dso = m.group(2), m.group(3)
            off = 0
            if "+0x" in sym:
                sym, o = sym.rsplit("+0x", 1)
                off = int(o, 16)
            frames.append((sym, off, dso))
    if frames:
        yield frames


def inline_chains(binary, addrs):
    """address -> its inline chain of function names, innermost first."""
    chains = {}
    addrs = sorted(addrs)
    for i in range(0, len(addrs), 2000):
        batch = [hex(a) for a in addrs[i:i + 2000]]
        out = subprocess.run(["addr2line", "-a", "-i", "-f", "-e", binary] + batch,
                             check=True, capture_output=True, text=True).stdout
        cur = None
        lines = out.splitlines()
        k = 0
        while k < len(lines):
            if lines[k].startswith("0x"):
                cur = int(lines[k], 16)
                chains[cur] = []
                k += 1
                continue
            if cur is not None and lines[k] != "??":
                chains[cur].append(lines[k])
            k += 2                  # function, then file:line
    return chains


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    script, binary = sys.argv[1], sys.argv[2]
    kinds = sys.argv[3:] or ["journal", "capacity"]
    name = os.path.basename(binary)
    syms = symbols(binary)
    all_samples = list(samples(script))

    def file_addr(sym, off, leaf):
        a = syms.get(sym)
        return None if a is None else a + off - (0 if leaf else 1)

    wanted = set()
    for s in all_samples:
        for i, (sym, off, dso) in enumerate(s):
            if os.path.basename(dso) == name:
                a = file_addr(sym, off, i == 0)
                if a is not None:
                    wanted.add(a)
    chains = inline_chains(binary, wanted)

    n = len(all_samples)
    unwound = 0
    count = collections.Counter()
    parts = {k: collections.Counter() for k in kinds}
    for s in all_samples:
        names = []                  # innermost first, inline frames expanded
        for i, (sym, off, dso) in enumerate(s):
            a = file_addr(sym, off, i == 0) if os.path.basename(dso) == name else None
            names.extend(chains.get(a) or [sym])
        if any(base(x) in ROOTS for x in names):
            unwound += 1
        outer = names[::-1]         # outermost first
        for kind in kinds:
            if kind == "journal":
                hits = [i for i, x in enumerate(outer) if in_set(x, JOURNAL, JOURNAL_PREFIX)]
                if not hits:
                    continue
            else:
                hits = [i for i, x in enumerate(outer) if in_set(x, CAPACITY, CAPACITY_PREFIX)]
                if not hits or any(base(x) in COMMON for x in outer[hits[0]:]):
                    continue
            count[kind] += 1
            j = hits[0]
            while j < len(outer) and base(outer[j]) in WRAPPERS[kind]:
                j += 1
            parts[kind][base(outer[j]) if j < len(outer) else
                        "self:" + base(outer[j - 1])] += 1
    print(f"n={n}")
    print(f"unwound={unwound / n if n else 0:.4f}")
    for kind in kinds:
        k = count[kind]
        p = k / n if n else 0.0
        err = math.sqrt(p * (1 - p) / n) if n else 0.0
        print(f"{kind} k={k} p={p:.5f} err={err:.5f}")
        for part, c in parts[kind].most_common(8):
            print(f"part {kind} {part} {c}")


if __name__ == "__main__":
    main()
