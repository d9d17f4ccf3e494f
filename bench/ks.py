#!/usr/bin/python3
"""bench/ks.py LOG MODEL FROM TO [TRIM] — Kolmogorov-Smirnov test of delays.

LOG    userd's output with the access log in json (--access-log json)
MODEL  uniform:MIN:MAX or lognormal:MEDIAN:P99 (milliseconds), as userd's
       --delay takes it
FROM, TO   the measured window (wrk's start and end), Unix seconds
TRIM   share of the window dropped at each edge (default 0.2)

The sample: the answered (status 200) delayed requests whose start
(time - duration_ms) falls in the middle of the window, [FROM + TRIM*W,
TO - TRIM*W], and early enough that even a long delay ended inside the
window (start <= TO - L, L = MAX for uniform, exp(mu + 4.5 sigma), the
1 - 3.4e-6 quantile, for lognormal).  Selecting by start time does not bias
the delays (in wrk's closed loop a request's delay is independent of when
it starts); keeping late starts would drop the long delays that wrk's end
cut off.

Two statistics, each D = sup |F_n(x) - F(x)| against the model's CDF
    uniform:   F(x) = (x - a) / (b - a) on [a, b]
    lognormal: mu = ln(median), sigma = (ln(p99) - mu) / 2.3263478740408408,
               F(x) = (1 + erf((ln x - mu) / (sigma sqrt 2))) / 2
  drawn   delay_ms, the delay userd drew for the request;
  served  duration_ms, arrival to the answer handed to the kernel, i.e. the
          delay the client was actually given (drawn + lateness);
with the asymptotic critical value at 1 %, 1.6276 / sqrt(n).  Also the
exact lateness of the same sample (late_ms, timer_late_ms): p50 p99 p99.9
max by nearest rank.

Output, one line each (key=value):
  ks drawn n=.. D=.. crit=.. pass=yes|no
  ks served n=.. D=.. crit=.. pass=yes|no
  late response p50=.. p99=.. p999=.. max=..
  late timer p50=.. p99=.. p999=.. max=..
Standard library only.
"""
import calendar
import json
import math
import sys

Z99 = 2.3263478740408408
KS_1PCT = 1.6276


def model_cdf(spec):
    """(CDF, longest delay to wait for, ms) of a delay model."""
    kind, _, rest = spec.partition(":")
    a, b = (float(v) for v in rest.split(":"))
    if kind == "uniform":
        if b <= a:
            raise ValueError("uniform needs MIN < MAX")
        return lambda x: min(1.0, max(0.0, (x - a) / (b - a))), b
    if kind == "lognormal":
        mu = math.log(a)
        sigma = (math.log(b) - mu) / Z99
        if sigma <= 0:
            raise ValueError("lognormal needs MEDIAN < P99")
        return (lambda x: 0.0 if x <= 0 else
                0.5 * (1.0 + math.erf((math.log(x) - mu) / (sigma * math.sqrt(2.0))))), \
            math.exp(mu + 4.5 * sigma)
    raise ValueError("unknown model " + spec)


def ks(xs, cdf):
    """D = sup |F_n - F| over a sample (ties handled as one step)."""
    xs = sorted(xs)
    n = len(xs)
    d = 0.0
    i = 0
    while i < n:
        j = i
        while j < n and xs[j] == xs[i]:
            j += 1
        f = cdf(xs[i])
        d = max(d, abs(f - i / n), abs(j / n - f))
        i = j
    return d


def epoch(stamp):
    """'2026-12-02T03:30:00.123Z' -> Unix seconds."""
    whole, _, frac = stamp.rstrip("Z").partition(".")
    t = calendar.timegm((int(whole[0:4]), int(whole[5:7]), int(whole[8:10]),
                         int(whole[11:13]), int(whole[14:16]), int(whole[17:19]),
                         0, 0, 0))
    return t + (float("0." + frac) if frac else 0.0)


def pct(sorted_xs, q):
    if not sorted_xs:
        return "n/a"
    k = max(0, math.ceil(q * len(sorted_xs)) - 1)
    return "%.3f" % sorted_xs[k]


def main(argv):
    if len(argv) not in (5, 6):
        sys.stderr.write(__doc__)
        return 2
    log, spec, t0, t1 = argv[1], argv[2], float(argv[3]), float(argv[4])
    trim = float(argv[5]) if len(argv) == 6 else 0.2
    cdf, longest = model_cdf(spec)
    w = t1 - t0
    lo, hi = t0 + trim * w, min(t1 - trim * w, t1 - longest / 1000.0)
    drawn, served, late, tlate = [], [], [], []
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            if not line.startswith('{"time"'):
                continue
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if e.get("status") != 200 or "late_ms" not in e:
                continue
            start = epoch(e["time"]) - e["duration_ms"] / 1000.0
            if not lo <= start <= hi:
                continue
            drawn.append(e["delay_ms"])
            served.append(e["duration_ms"])
            late.append(e["late_ms"])
            tlate.append(e["timer_late_ms"])
    n = len(drawn)
    for name, xs in (("drawn", drawn), ("served", served)):
        if n == 0:
            print("ks", name, "n=0 D=n/a crit=n/a pass=n/a")
            continue
        d = ks(xs, cdf)
        crit = KS_1PCT / math.sqrt(n)
        print("ks", name, "n=%d D=%.5f crit=%.5f pass=%s"
              % (n, d, crit, "yes" if d <= crit else "no"))
    for name, xs in (("response", late), ("timer", tlate)):
        xs.sort()
        print("late", name, "p50=%s p99=%s p999=%s max=%s"
              % (pct(xs, 0.5), pct(xs, 0.99), pct(xs, 0.999),
                 "%.3f" % xs[-1] if xs else "n/a"))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
