#!/usr/bin/python3
"""bench/summary.py LATEST_CSV [KS_CSV] — the tables and the targets of the report.

Reads bench/run's latest.csv (and ks.csv) and prints Markdown: the delayed
table (every server and level: req/s and ratio to the bound, errors, server
CPU, CPU per answered request, RSS per waiting connection, and for userd
rows the end-to-end and timer lateness of the window), the userd cost
curve, the zero-delay table, the Kolmogorov-Smirnov table and the
"Targets" section of issue 14, each target evaluated on the numbers of this
run.  Standard library only.
"""
import csv
import math
import os
import sys

STEADY_SKIP_TEXT = f"second {os.environ.get('STEADY_SKIP', '5')}"
ORDER = ["userd", "userd-patched", "userd-patched-slack0", "userd-service", "nginx", "node",
         "aiohttp", "wiremock", "mountebank"]


def num(v):
    """CSV value -> float; '>X' -> inf (above the histogram); n/a -> None."""
    if v is None or v in ("", "n/a"):
        return None
    if v.startswith(">"):
        return math.inf
    try:
        return float(v)
    except ValueError:
        return None


def errors(r):
    return sum(int(r[k] or 0) for k in ("err_connect", "err_read", "err_write",
                                        "err_timeout", "err_non2xx"))


def thousands(x, nd=0):
    return "n/a" if x is None else f"{x:,.{nd}f}"


def late(r, prefix):
    vals = [r.get(f"{prefix}_{q}_ms", "n/a") for q in ("p50", "p99", "p999", "max")]
    if all(v == "n/a" for v in vals):
        return "n/a"
    return " / ".join(v if v.startswith(">") or v == "n/a" else f"{float(v):.2f}"
                      for v in vals)


def key(r):
    s = r["server"]
    return (int(r["conns"]), ORDER.index(s) if s in ORDER else 99)


def delayed_table(rows, scenario, title):
    rs = sorted((r for r in rows if r["scenario"] == scenario), key=key)
    if not rs:
        return
    print(f"### {title}\n")
    print("| conns | server | req/s (ratio to bound) | errors | server CPU % (steady) | CPU µs/req "
          "| RSS/conn KiB | response lateness p50 / p99 / p99.9 / max ms "
          "| timer lateness p50 / p99 / p99.9 / max ms | wrk p99 ms |")
    print("|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|")
    for r in rs:
        ratio = r["ratio"]
        print(f"| {int(r['conns']):,} | {r['server']} | {thousands(num(r['rps']))} "
              f"({ratio}) | {errors(r)} | {r['srv_cpu_pct']} ({r.get('steady_cpu_pct') or 'n/a'}) "
              f"| {r['cpu_us_per_req']} "
              f"| {r['rss_per_conn_kib']} | {late(r, 'late')} "
              f"| {late(r, 'timer_late')} | {r['p99_ms']} |")
    print()


def zero_table(rows):
    rs = [r for r in rows if r["scenario"] == "zero"]
    if not rs:
        return
    servers = [s for s in ORDER if any(r["server"] == s for r in rs)]
    conns = sorted({int(r["conns"]) for r in rs})
    print("### Zero delay\n")
    print("| connections | " + " | ".join(servers) + " |")
    print("|--:|" + "--:|" * len(servers))
    for c in conns:
        cells = []
        for s in servers:
            r = next((r for r in rs if r["server"] == s and int(r["conns"]) == c), None)
            cells.append("—" if r is None else
                         f"{thousands(num(r['rps']))} req/s (p99 {r['p99_ms']} ms, "
                         f"CPU {r['srv_cpu_pct']} %, err {errors(r)})")
        print(f"| {c:,} | " + " | ".join(cells) + " |")
    print()


def ks_table(ks):
    if not ks:
        return
    print("### Delay fidelity: Kolmogorov–Smirnov\n")
    print("The sample: answered delayed requests that *started* in the middle "
          f"{100 - 2 * round(100 * float(ks[0]['trim']))} % of the wrk window "
          f"(the first and last {round(100 * float(ks[0]['trim']))} % dropped). "
          "*drawn* = the delay userd drew (`delay_ms`); *served* = arrival to "
          "the answer handed to the kernel (`duration_ms`), i.e. drawn + "
          "lateness. D = sup |F_n − F| against the model's CDF; critical "
          "value at 1 % = 1.6276/√n. Lateness here is exact, from the same "
          "sample's `late_ms` / `timer_late_ms` (access log on, json, to a "
          "file; *dropped* = access-log lines userd lost because the log did "
          "not keep up, from `userd_log_lines_dropped_total`).\n")
    print("| model | server (library) | conns | n | D drawn | D served | critical (1 %) "
          "| drawn | served | response lateness p50 / p99 / p99.9 / max ms "
          "| timer lateness p50 / p99 / p99.9 / max ms | dropped |")
    print("|---|---|--:|--:|--:|--:|--:|---|---|--:|--:|--:|")
    for k in ks:
        lib = "Debian's" if k["server"] == "userd" else "patched"
        print(f"| {k['model']} | {k['server']} ({lib}) | {int(k['conns']):,} | {int(k['n']):,} "
              f"| {k['d_drawn']} | {k['d_served']} | {k['crit']} "
              f"| {'pass' if k['pass_drawn'] == 'yes' else 'FAIL'} "
              f"| {'pass' if k['pass_served'] == 'yes' else 'FAIL'} "
              f"| {k['late_p50']} / {k['late_p99']} / {k['late_p999']} / {k['late_max']} "
              f"| {k['timer_p50']} / {k['timer_p99']} / {k['timer_p999']} / {k['timer_max']} "
              f"| {k.get('log_dropped', 'n/a')} |")
    print()


class Targets:
    def __init__(self, rows, ks):
        self.rows, self.ks = rows, ks

    def row(self, sc, server, conns):
        return next((r for r in self.rows if r["scenario"] == sc and
                     r["server"] == server and int(r["conns"]) == conns), None)

    @staticmethod
    def verdict(ok):
        return "**met**" if ok else "**missed**"

    def check(self, lines, what, value, limit, unit="", fmt="{:.1f}", lower=True):
        """value <= limit (lower) or >= limit; a line saying by how much."""
        ind = "    - " if what.startswith("  ") else "  - "
        what = what.strip()
        if value is None or limit is None:
            lines.append(f"{ind}{what}: n/a (not measured)")
            return None
        ok = value <= limit if lower else value >= limit
        v = ">" + fmt.format(1000) if math.isinf(value) else fmt.format(value)
        l = fmt.format(limit)
        rel = "≤" if lower else "≥"
        by = ""
        if not ok:
            if math.isinf(value):
                by = " (above the histogram's last bucket)"
            elif limit:
                by = f" (by {fmt.format(abs(value - limit))}{unit}, {value / limit:.2f}× the limit)"
        lines.append(f"{ind}{what}: {v}{unit} (need {rel} {l}{unit}) — {self.verdict(ok)}{by}")
        return ok

    def target1(self, v, lines, oks):
        for c in (10000, 19000):
            p, n = self.row("delayed", v, c), self.row("delayed", "nginx", c)
            if p is None:
                lines.append(f"  - {v}, {c:,}: no row")
                oks.append(None)
                continue
            lines.append(f"  - {v} at {c:,} waiting:")
            oks.append(self.check(lines, "  server CPU vs nginx's", num(p["srv_cpu_pct"]),
                                  num(n["srv_cpu_pct"]) if n else None, " %"))
            self.steady(lines, p, n, 1.0, "    - ")
            oks.append(self.check(lines, "  response lateness p99", num(p["late_p99_ms"]),
                                  2.0, " ms", "{:.2f}"))
            oks.append(self.check(lines, "  response lateness max (bucket upper bound)",
                                  num(p["late_max_ms"]), 10.0, " ms", "{:.2f}"))
            if c == 10000:
                oks.append(self.check(lines, "  throughput ratio to the bound",
                                      num(p["ratio"]), 0.98, "", "{:.3f}", lower=False))
            oks.append(self.check(lines, "  errors", float(errors(p)), 0.0, "", "{:.0f}"))

    @staticmethod
    def steady(lines, r, n, factor, ind):
        """Informational, not a verdict: the same CPU comparison from the
        STEADY_SKIP-th second of the window on, leaving out the start."""
        su, sn = num(r.get("steady_cpu_pct")), num(n.get("steady_cpu_pct")) if n else None
        if su is None or not sn:
            return
        lines.append(f"{ind}(steady state, from the run's {STEADY_SKIP_TEXT} on: {su:.1f} % vs "
                     f"{factor:g}× nginx's {sn:.1f} % = {factor * sn:.1f} %: "
                     f"{su / sn:.2f}× nginx's, {'within' if su <= factor * sn else 'above'} "
                     "the limit; informational, the verdict above is the whole window's)")

    def run(self):
        out = []
        res = {}
        self.run1(res)
        return self.rest(res, out)

    def run1(self, res):
        lines, oks = [], []
        variants = {}
        for v in ("userd-patched", "userd-patched-slack0"):
            if v != "userd-patched" and not any(r["server"] == v for r in self.rows):
                continue
            start = len(oks)
            self.target1(v, lines, oks)
            variants[v] = oks[start:]
        res["1v"] = variants
        res[1] = (oks, lines)

    def rest(self, res, out):
        # 2. Debian's library, 10,000
        lines, oks = [], []
        u, n = self.row("delayed", "userd", 10000), self.row("delayed", "nginx", 10000)
        if u is None:
            lines.append("  - no userd row at 10,000")
            oks.append(None)
        else:
            cu, cn = num(u["srv_cpu_pct"]), num(n["srv_cpu_pct"]) if n else None
            oks.append(self.check(lines, f"server CPU vs 1.5× nginx's ({cn:.1f} %)" if cn is not None else "server CPU vs 1.5× nginx's", cu,
                                  1.5 * cn if cn is not None else None, " %"))
            if cu is not None and cn:
                lines.append(f"  - (that is {cu / cn:.2f}× nginx's CPU)")
            self.steady(lines, u, n, 1.5, "  - ")
            oks.append(self.check(lines, "response lateness p99", num(u["late_p99_ms"]),
                                  5.0, " ms", "{:.2f}"))
        res[2] = (oks, lines)
        # 3. against WireMock and mountebank at 10,000
        lines, oks = [], []
        for s in ("userd", "userd-patched"):
            u = self.row("delayed", s, 10000)
            if u is None:
                continue
            for peer in ("wiremock", "mountebank"):
                p = self.row("delayed", peer, 10000)
                if p is None:
                    lines.append(f"  - {s} vs {peer}: no {peer} row")
                    oks.append(None)
                    continue
                ru, rp = num(u["rps"]), num(p["rps"])
                cu, cp = num(u["cpu_us_per_req"]), num(p["cpu_us_per_req"])
                oks.append(self.check(lines, f"{s} req/s vs 3× {peer}'s ({rp:,.0f})",
                                      ru, 3 * rp if rp else None, "", "{:,.0f}", lower=False))
                if ru and rp:
                    lines.append(f"    - ({ru / rp:.2f}× {peer}'s throughput)")
                oks.append(self.check(lines, f"{s} CPU per request vs a fifth of {peer}'s ({cp} µs)",
                                      cu, cp / 5 if cp else None, " µs"))
                if cu and cp:
                    lines.append(f"    - ({cp / cu:.1f}× less CPU per request than {peer})")
        res[3] = (oks, lines)
        # 4. RSS per waiting connection and zero-delay throughput
        lines, oks = [], []
        for s in ("userd", "userd-patched"):
            for r in sorted((r for r in self.rows if r["scenario"] == "delayed" and
                             r["server"] == s), key=key):
                c = int(r["conns"])
                n = self.row("delayed", "nginx", c)
                oks.append(self.check(lines, f"{s} RSS/conn at {c:,} vs half nginx's",
                                      num(r["rss_per_conn_kib"]),
                                      num(n["rss_per_conn_kib"]) / 2 if n else None,
                                      " KiB", "{:.2f}"))
            for c in (100, 1000):
                r, n = self.row("zero", s, c), self.row("zero", "nginx", c)
                if r is None:
                    continue
                oks.append(self.check(lines, f"{s} zero-delay req/s at {c:,} vs 1.1× nginx's",
                                      num(r["rps"]), 1.1 * num(n["rps"]) if n else None,
                                      "", "{:,.0f}", lower=False))
                if n:
                    lines.append(f"    - ({num(r['rps']) / num(n['rps']):.3f}× nginx's)")
        res[4] = (oks, lines)
        # 5. KS at 1 % for both models at 10,000
        lines, oks = [], []
        for k in self.ks:
            for what in ("drawn", "served"):
                ok = k[f"pass_{what}"] == "yes"
                oks.append(ok)
                lines.append(f"  - {k['model']}, {int(k['conns']):,} waiting, {what}: "
                             f"D = {k['d_' + what]} vs {k['crit']} (n = {int(k['n']):,}) — "
                             f"{self.verdict(ok)}")
        if not self.ks:
            lines.append("  - no KS run")
            oks.append(None)
        res[5] = (oks, lines)

        names = {
            1: "Patched library, 10,000 and 19,000 waiting: CPU ≤ nginx's, "
               "end-to-end lateness p99 ≤ 2 ms and max ≤ 10 ms, ratio ≥ 0.98 at 10,000, errors 0",
            2: "Debian's library, 10,000 waiting, defaults: CPU ≤ 1.5× nginx's, "
               "end-to-end lateness p99 ≤ 5 ms",
            3: "At 10,000 waiting: ≥ 3× WireMock's and mountebank's throughput, "
               "≤ 1/5 of their CPU per answered request",
            4: "Kept: RSS per waiting connection ≤ half nginx's; zero-delay req/s "
               "≥ 1.1× nginx's at 100 and 1,000",
            5: "The delays pass the KS test at 1 % for both models at 10,000 waiting",
        }
        def overall(oks):
            known = [o for o in oks if o is not None]
            if not known:
                return "**not measured**"
            if all(known):
                return "**met**" if len(known) == len(oks) else "**met where measured**"
            return "**partly missed**" if any(known) else "**missed**"

        for i in range(1, 6):
            oks, lines = res[i]
            if i == 1 and len(res["1v"]) > 1:
                v = "; ".join(f"{k}: {overall(o)}" for k, o in res["1v"].items())
                out.append(f"{i}. {names[i]} — {v}")
                out.extend(lines)
                continue
            known = [o for o in oks if o is not None]
            if not known:
                v = "**not measured**"
            elif all(known) and len(known) == len(oks):
                v = "**met**"
            elif all(known):
                v = "**met where measured**"
            elif any(known):
                v = "**partly missed**"
            else:
                v = "**missed**"
            out.append(f"{i}. {names[i]} — {v}")
            out.extend(lines)
        return out


def main(argv):
    if len(argv) not in (2, 3):
        sys.stderr.write(__doc__)
        return 2
    with open(argv[1], newline="") as f:
        rows = list(csv.DictReader(f))
    ks = []
    if len(argv) == 3:
        try:
            with open(argv[2], newline="") as f:
                ks = list(csv.DictReader(f))
        except OSError:
            pass
    delayed_table(rows, "delayed", "Delayed (uniform 0.5–2.0 s): every server")
    delayed_table(rows, "cost", "Cost curve (userd rows only)")
    zero_table(rows)
    ks_table(ks)
    print("## Targets (issue 14)\n")
    print("Evaluated on this run's numbers. Lateness comes from userd's own "
          "histograms, the difference of two /metrics scrapes around the "
          "window: p50/p99/p99.9 interpolated inside the bucket as Prometheus' "
          "`histogram_quantile` does, max = the upper bound of the highest "
          "non-empty bucket (bounds 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 4, 5, 7.5, "
          "10, 25, 50, 100, 250, 1000 ms). The peers expose no such metric: "
          "their only latency figure is wrk's (client side, delay included).\n")
    print("\n".join(Targets(rows, ks).run()))
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
