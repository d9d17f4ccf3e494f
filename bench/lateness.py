#!/usr/bin/python3
"""bench/lateness.py BEFORE AFTER — lateness quantiles of one measured window.

BEFORE and AFTER are two scrapes of userd's /metrics (Prometheus text 0.0.4),
taken just before wrk starts and just after it ends.  The window's histogram
is AFTER minus BEFORE, bucket by bucket, for

    userd_response_lateness_seconds   deadline -> answer handed to the kernel
    userd_timer_lateness_seconds      deadline -> timer fired

and for each it prints one line, in milliseconds:

    NAME count p50 p99 p99.9 max

p50/p99/p99.9 are interpolated linearly inside the bucket that holds the
rank, as Prometheus' histogram_quantile() does (the first bucket's lower
bound is 0; a rank in the +Inf bucket gives the last finite bound, printed
as ">X").  max is the upper bound of the highest non-empty bucket (">X" when
that is +Inf): the histogram cannot tell more.  "n/a" when the metric is
missing or the window observed nothing.  Standard library only.
"""
import math
import re
import sys

METRICS = (("response", "userd_response_lateness_seconds"),
           ("timer", "userd_timer_lateness_seconds"))
BUCKET = re.compile(r'^(\w+)_bucket\{(?:[^}]*,)?le="([^"]+)"[^}]*\}\s+(\S+)')


def buckets(path):
    """{metric: {le (float, inf for +Inf): cumulative count}}"""
    out = {}
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                m = BUCKET.match(line)
                if not m:
                    continue
                le = math.inf if m.group(2) == "+Inf" else float(m.group(2))
                h = out.setdefault(m.group(1), {})
                h[le] = h.get(le, 0.0) + float(m.group(3))
    except OSError:
        pass
    return out


def fmt(x):
    return "%.3f" % (x * 1000)


def quantile(q, les, cum):
    """Prometheus histogram_quantile over sorted bounds and cumulative counts."""
    total = cum[-1]
    rank = q * total
    for i, le in enumerate(les):
        if cum[i] >= rank:
            if math.isinf(le):
                return ">" + fmt(les[i - 1]) if i > 0 else "n/a"
            lo = les[i - 1] if i > 0 else 0.0
            below = cum[i - 1] if i > 0 else 0.0
            inb = cum[i] - below
            if inb <= 0:
                return fmt(le)
            return fmt(lo + (le - lo) * (rank - below) / inb)
    return "n/a"


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    before, after = buckets(argv[1]), buckets(argv[2])
    for name, metric in METRICS:
        a = after.get(metric)
        if not a or math.inf not in a:
            print(name, "0 n/a n/a n/a n/a")
            continue
        b = before.get(metric, {})
        les = sorted(a)
        cum = [max(0.0, a[le] - b.get(le, 0.0)) for le in les]
        for i in range(1, len(cum)):        # keep it monotone
            cum[i] = max(cum[i], cum[i - 1])
        total = cum[-1]
        if total <= 0:
            print(name, "0 n/a n/a n/a n/a")
            continue
        top = next(i for i in range(len(les)) if cum[i] >= total)
        mx = (">" + fmt(les[top - 1])) if math.isinf(les[top]) else fmt(les[top])
        print(name, "%d" % total, quantile(0.5, les, cum), quantile(0.99, les, cum),
              quantile(0.999, les, cum), mx)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
