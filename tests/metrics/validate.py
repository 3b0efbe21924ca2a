#!/usr/bin/python3
"""Check a qualreport --metrics file with a real Prometheus parser.

usage: validate.py FILE [NAME{LABELS}=VALUE ...]

FILE is parsed by prometheus_client's text-format parser (Debian's
python3-prometheus-client), the one node_exporter's format follows; on top
of what that parser accepts, the checks node_exporter's textfile collector
and promtool apply: HELP and TYPE for every family before its samples, no
client-side timestamps, no duplicate series, counters named *_total, a
final newline, and exactly qualreport's seven families (a labelled one
may have no series). Each NAME=VALUE
argument asserts one sample's value (NAME as written in the file, labels
included: 'qualreport_tenants{status="failed"}=1'); VALUE "*" only asserts
that the sample exists. Prints what is wrong and exits 1, else exits 0.
"""
import math
import re
import sys

from prometheus_client.parser import text_string_to_metric_families

FAMILIES = {
    "qualreport_last_run_timestamp_seconds": "gauge",
    "qualreport_last_success_timestamp_seconds": "gauge",
    "qualreport_run_duration_seconds": "gauge",
    "qualreport_exit_code": "gauge",
    "qualreport_tenants": "gauge",
    "qualreport_requests_total": "counter",
    "qualreport_throttled_seconds_total": "counter",
}
NAME = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*$")


def key(name, labels):
    inner = ",".join('%s="%s"' % (k, v.replace("\\", "\\\\")
                                  .replace('"', '\\"').replace("\n", "\\n"))
                     for k, v in sorted(labels.items()))
    return "%s{%s}" % (name, inner) if inner else name


def main():
    path = sys.argv[1]
    text = open(path, encoding="utf-8").read()
    errors = []
    if not text.endswith("\n"):
        errors.append("no newline at the end")

    # The raw lines: HELP and TYPE once each, before the family's samples.
    helped, typed, sampled = set(), {}, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = re.match(r"^# (HELP|TYPE) (\S+) ?(.*)$", line)
        if m:
            kind, name, rest = m.groups()
            seen = helped if kind == "HELP" else typed
            if name in seen:
                errors.append("line %d: a second %s for %s" % (n, kind, name))
            if name in sampled:
                errors.append("line %d: %s of %s after its samples"
                              % (n, kind, name))
            if kind == "HELP":
                helped.add(name)
                if not rest:
                    errors.append("line %d: empty HELP" % n)
            else:
                typed[name] = rest
            continue
        if line.startswith("#") or not line:
            errors.append("line %d: unexpected line %r" % (n, line))
            continue
        name = re.match(r"^[^{ ]*", line).group(0)
        if not NAME.match(name):
            errors.append("line %d: bad metric name %r" % (n, name))
        if name not in helped or name not in typed:
            errors.append("line %d: %s without HELP and TYPE before it"
                          % (n, name))
        sampled.add(name)

    families = list(text_string_to_metric_families(text))
    samples = {}
    for fam in families:
        for s in fam.samples:
            if s.timestamp is not None:
                errors.append("%s has a client-side timestamp" % s.name)
            if fam.type == "counter" and not s.name.endswith("_total"):
                errors.append("counter sample %s is not *_total" % s.name)
            if math.isnan(s.value) or s.value < 0:
                errors.append("%s = %r" % (s.name, s.value))
            k = key(s.name, s.labels)
            if k in samples:
                errors.append("duplicate series %s" % k)
            samples[k] = s.value
    # A family is there when its TYPE is: a labelled one may have no
    # series (no request was made).
    for name, kind in FAMILIES.items():
        if name not in typed:
            errors.append("missing %s" % name)
        elif typed[name] != kind:
            errors.append("%s: TYPE %r, want %r" % (name, typed[name], kind))
    names = {s.name for f in families for s in f.samples} | set(typed)
    for name in sorted(names - set(FAMILIES)):
        errors.append("unknown family %s" % name)

    for arg in sys.argv[2:]:
        k, _, want = arg.rpartition("=")
        if k not in samples:
            errors.append("no sample %s (have: %s)"
                          % (k, ", ".join(sorted(samples))))
        elif want != "*" and samples[k] != float(want):
            errors.append("%s = %r, want %s" % (k, samples[k], want))

    for e in errors:
        print("%s: %s" % (path, e))
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
