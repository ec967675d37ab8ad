#!/usr/bin/env python3
"""promtext.py FILE [SERIES...] — a strict check of Prometheus text
exposition (format 0.0.4), for the metrics tests; promtool, when
installed, checks the same file too.

Refused: a line that is no HELP, TYPE or sample line; a metric or label
name outside the grammar; a label value with an escape other than \\\\, \\"
and \\n; a TYPE or HELP given twice or after the family's samples; the
samples of one family not in one block; the same series twice; a value
that is no float; a counter whose name does not end in _total or whose
value is negative.

With SERIES (e.g. 'backup_attempts_total' or 'x{timeline="1"}') prints
each one's value, one a line ("absent" if missing); exit 1 on any error.
"""
import math
import re
import sys

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r"[a-zA-Z_][a-zA-Z0-9_]*"
VALUE = r'"(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r"^(%s)(\{(?:%s=%s(?:,%s=%s)*,?)?\})? (\S+)( -?[0-9]+)?$"
                    % (NAME, LABEL, VALUE, LABEL, VALUE))
PAIR = re.compile(r"(%s)=(%s)" % (LABEL, VALUE))
TYPES = {"counter", "gauge", "untyped", "summary", "histogram"}


def family_of(name, types):
    for suffix in ("_bucket", "_sum", "_count"):
        base = name[: -len(suffix)]
        if name.endswith(suffix) and types.get(base) in ("summary", "histogram"):
            return base
    return name


def parse_value(s):
    if s in ("NaN", "+Inf", "-Inf", "Inf"):
        return float(s.replace("Inf", "inf").replace("NaN", "nan"))
    if not re.fullmatch(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?", s):
        raise ValueError(s)
    return float(s)


def check(text):
    errors, series = [], {}
    types, helps, seen, done = {}, {}, set(), set()
    current = None
    if text and not text.endswith("\n"):
        errors.append("the last line has no newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d" % n
        if line.startswith("#"):
            m = re.fullmatch(r"# (HELP|TYPE) (%s) ?(.*)" % NAME, line)
            if not m:
                errors.append("%s: a comment that is no HELP or TYPE line: %r" % (where, line))
                continue
            kind, name, rest = m.groups()
            table = helps if kind == "HELP" else types
            if name in table:
                errors.append("%s: %s of %s given twice" % (where, kind, name))
            if name in done or (name == current and kind == "TYPE"):
                errors.append("%s: %s of %s after its samples" % (where, kind, name))
            if kind == "TYPE" and rest not in TYPES:
                errors.append("%s: unknown type %r" % (where, rest))
            if kind == "HELP" and re.search(r"\\[^\\n]", rest):
                errors.append("%s: bad escape in HELP" % where)
            table[name] = rest
            continue
        if line == "":
            errors.append("%s: an empty line" % where)
            continue
        m = SAMPLE.match(line)
        if not m:
            errors.append("%s: no sample line: %r" % (where, line))
            continue
        name, labels, value = m.group(1), m.group(2) or "", m.group(3)
        fam = family_of(name, types)
        if fam != current:
            if fam in done:
                errors.append("%s: the samples of %s are not in one block" % (where, fam))
            if current is not None:
                done.add(current)
            current = fam
        pairs = PAIR.findall(labels)
        names = [p[0] for p in pairs]
        if len(set(names)) != len(names) or any(x.startswith("__") for x in names):
            errors.append("%s: label names repeated or reserved" % where)
        key = name + ("{" + ",".join("%s=%s" % p for p in sorted(pairs)) + "}" if pairs else "")
        if key in seen:
            errors.append("%s: series %s given twice" % (where, key))
        seen.add(key)
        try:
            v = parse_value(value)
        except ValueError:
            errors.append("%s: %r is no value" % (where, value))
            continue
        if types.get(fam) == "counter":
            if not fam.endswith("_total"):
                errors.append("%s: counter %s does not end in _total" % (where, fam))
            if v < 0 or math.isnan(v):
                errors.append("%s: counter %s is %s" % (where, fam, value))
        if fam not in types or fam not in helps:
            errors.append("%s: %s has no TYPE or HELP before its samples" % (where, fam))
        series[key] = v
    return errors, series


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    errors, series = check(text)
    for e in errors:
        print("promtext: %s: %s" % (sys.argv[1], e), file=sys.stderr)
    for want in sys.argv[2:]:
        v = series.get(want)
        if v is None:
            print("absent")
        elif math.isfinite(v) and v == int(v):
            print("%d" % v)
        else:
            print(repr(v))
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
