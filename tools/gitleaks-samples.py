#!/usr/bin/env python3
"""Regenerates src/test/resources/secrets/gitleaks-samples.tsv from a gitleaks checkout.

gitleaks keeps, next to each rule, the strings the rule must find (`tps`) and must not (`fps`) in
cmd/generate/config/rules/*.go. This reads those Go files (no Go toolchain needed): string literals,
`+` concatenations, []string{...}, append(...), fmt.Sprintf with %s, utils.GenerateSampleSecret(s) and
secrets.NewSecret(<regex>) are evaluated (NewSecret draws a random string matching its regex, seeded
by the rule id, so the output is the same on every run); any other expression is left out.

Usage: tools/gitleaks-samples.py <gitleaks git dir or work tree> [out.tsv]
Only rules of the checkout's config/gitleaks.toml are kept (a few in the Go files are not in it).
Output: one line per sample, "kind<TAB>rule id<TAB>sample"; kind is tp or fp; in the sample a
backslash is written \\\\, a tab \\t, a newline \\n, a carriage return \\r.
"""
import random
import re
import subprocess
import sys

RULES_DIR = "cmd/generate/config/rules"


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


# ---- Go tokens -------------------------------------------------------------------------------

TOKEN = re.compile(r"""
    (?P<ws>[ \t\r]+) | (?P<nl>\n) | (?P<lc>//[^\n]*) | (?P<bc>/\*.*?\*/) |
    (?P<raw>`[^`]*`) | (?P<str>"(?:\\.|[^"\\\n])*") | (?P<rune>'(?:\\.|[^'\\\n])+') |
    (?P<num>\d[\w.]*) | (?P<id>[A-Za-z_]\w*) |
    (?P<op>\.\.\.|:=|\+=|&&|\|\||==|!=|<=|>=|[-+*/%(){}\[\],;:.=<>!&|^])
""", re.S | re.X)


def tokens(src):
    out = []
    pos = 0
    while pos < len(src):
        m = TOKEN.match(src, pos)
        if not m:
            pos += 1
            continue
        pos = m.end()
        kind = m.lastgroup
        if kind in ("ws", "lc", "bc"):
            if kind == "bc" and "\n" in m.group():
                out.append(("nl", "\n"))
            continue
        out.append((kind, m.group()))
    return out


def go_string(kind, text):
    if kind == "raw":
        return text[1:-1].replace("\r", "")
    body = text[1:-1]
    # Go's escapes are close enough to Python's for what rule files use
    return bytes(body, "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")


# ---- secrets.NewSecret: a random string that matches a simple regex ------------------------

class Gen:
    def __init__(self, pattern, rnd):
        self.p, self.i, self.rnd = pattern, 0, rnd

    def run(self):
        out = self.alt()
        if self.i != len(self.p):
            raise ValueError("unsupported regex " + self.p)
        return out

    def alt(self):
        options = [self.seq()]
        while self.i < len(self.p) and self.p[self.i] == "|":
            self.i += 1
            options.append(self.seq())
        return options[0] if len(options) == 1 else self.rnd.choice(options)

    def seq(self):
        parts = []
        while self.i < len(self.p) and self.p[self.i] not in "|)":
            atom = self.atom()
            lo, hi = self.quant()
            parts.append("".join(atom() for _ in range(self.rnd.randint(lo, hi))))
        return "".join(parts)

    def quant(self):
        p = self.p
        if self.i < len(p) and p[self.i] in "?*+":
            q = p[self.i]
            self.i += 1
            return {"?": (0, 1), "*": (0, 3), "+": (1, 3)}[q]
        m = re.compile(r"\{(\d+)(,(\d*))?\}").match(p, self.i)
        if m:
            self.i = m.end()
            lo = int(m.group(1))
            hi = lo if not m.group(2) else (int(m.group(3)) if m.group(3) else lo + 3)
            return lo, hi
        return 1, 1

    def atom(self):
        p = self.p
        c = p[self.i]
        if c == "(":
            self.i += 1
            if p.startswith("?:", self.i):
                self.i += 2
            elif p.startswith("?i:", self.i):
                self.i += 3
            start = self.i
            self.alt()  # syntax check; regenerate per repetition below
            end = self.i
            self.i += 1
            sub = p[start:end]
            return lambda: Gen(sub, self.rnd).run()
        if c == "[":
            chars = self.charclass()
            return lambda: self.rnd.choice(chars)
        if c == "\\":
            e = p[self.i + 1]
            self.i += 2
            classes = {"d": "0123456789", "w": "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_"}
            if e in classes:
                return lambda: self.rnd.choice(classes[e])
            if e in "bBAz":  # assertions: nothing to write
                return lambda: ""
            return lambda: e
        if c in ".^$":
            raise ValueError("unsupported regex " + p)
        self.i += 1
        return lambda: c

    def charclass(self):
        p = self.p
        self.i += 1
        if p[self.i] == "^":
            raise ValueError("negated class")
        members = []
        while p[self.i] != "]":
            c = p[self.i]
            if c == "\\":
                c = p[self.i + 1]
                self.i += 1
                if c == "d":
                    members.extend("0123456789")
                    self.i += 1
                    continue
                if c == "w":
                    members.extend("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")
                    self.i += 1
                    continue
            if p[self.i + 1] == "-" and p[self.i + 2] != "]":
                hi = p[self.i + 2]
                if hi == "\\":
                    hi = p[self.i + 3]
                    self.i += 1
                members.extend(chr(x) for x in range(ord(c), ord(hi) + 1))
                self.i += 3
            else:
                members.append(c)
                self.i += 1
        self.i += 1
        return members


# ---- evaluating the Go expressions that build tps and fps -------------------------------------

SAMPLE_FORMS = ['{i}Token = "{s}"', "{i}_token: {s}"]  # two of utils.GenerateSampleSecrets' forms


class Eval:
    def __init__(self, toks, rnd):
        self.t, self.i, self.rnd = toks, 0, rnd

    def peek(self, k=0):
        j = self.i
        while j < len(self.t) and self.t[j][0] == "nl":
            j += 1
        j += k
        return self.t[j] if j < len(self.t) else ("eof", "")

    def take(self):
        while self.t[self.i][0] == "nl":
            self.i += 1
        tok = self.t[self.i]
        self.i += 1
        return tok

    def expect(self, v):
        tok = self.take()
        if tok[1] != v:
            raise ValueError("expected %s, got %s" % (v, tok[1]))

    def expr(self):
        value = self.primary()
        while self.peek()[1] == "+":
            self.take()
            right = self.primary()
            value = value + right if isinstance(value, str) and isinstance(right, str) else None
        return value

    def args(self):
        self.expect("(")
        values = []
        while self.peek()[1] != ")":
            values.append(self.expr())
            if self.peek()[1] == "...":
                self.take()
            if self.peek()[1] == ",":
                self.take()
        self.expect(")")
        return values

    def primary(self):
        kind, text = self.take()
        if kind in ("raw", "str"):
            return go_string(kind, text)
        if kind == "num":
            return text
        if text == "[":
            self.expect("]")
            self.take()  # string
            self.expect("{")
            items = []
            while self.peek()[1] != "}":
                items.append(self.expr())
                if self.peek()[1] == ",":
                    self.take()
            self.expect("}")
            return flatten(items)
        if text == "(":
            v = self.expr()
            self.expect(")")
            return v
        if kind != "id":
            raise ValueError("unexpected " + text)
        name = text
        while self.peek()[1] == ".":
            self.take()
            name += "." + self.take()[1]
        if self.peek()[1] != "(":
            return None  # a variable or constant: unknown here
        a = self.args()
        return self.call(name, a)

    def call(self, name, a):
        strs = all(isinstance(x, str) for x in a)
        short = name.split(".")[-1]
        if short == "append":
            return flatten(a[1:])
        if short == "GenerateSampleSecret" and strs:
            return '%s_api_token = "%s"' % (a[0], a[1])
        if short == "GenerateSampleSecrets" and strs:
            return [f.replace("{i}", a[0]).replace("{s}", a[1]) for f in SAMPLE_FORMS]
        if short == "NewSecret" and strs:
            try:
                return Gen(a[0], self.rnd).run()
            except (ValueError, IndexError):
                return None
        if short == "Sprintf" and strs and a:
            try:
                return re.sub(r"%[sqv]", lambda m, it=iter(a[1:]): next(it), a[0])
            except StopIteration:
                return None
        if short == "Repeat" and len(a) == 2 and isinstance(a[0], str) and str(a[1]).isdigit():
            return a[0] * int(a[1])
        helpers = {"Numeric": "[0-9]{%s}", "Hex": "[a-f0-9]{%s}", "AlphaNumeric": "[a-z0-9]{%s}",
                   "AlphaNumericExtendedShort": "[a-z0-9_-]{%s}", "AlphaNumericExtended": "[a-z0-9=_\\-]{%s}",
                   "AlphaNumericExtendedLong": "[a-z0-9\\/=_\\+\\-]{%s}"}
        if short in helpers and strs and len(a) == 1:
            return helpers[short] % a[0]
        if short == "Hex8_4_4_4_12":
            return "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
        return None


def flatten(items):
    out = []
    for x in items:
        if isinstance(x, list):
            out.extend(y for y in x if isinstance(y, str))
        elif isinstance(x, str):
            out.append(x)
    return out


def functions(toks):
    """(start, end) token ranges of top-level func bodies."""
    i = 0
    while i < len(toks):
        if toks[i] == ("id", "func"):
            j = i
            while j < len(toks) and toks[j][1] != "{":
                j += 1
            depth, k = 0, j
            while k < len(toks):
                if toks[k][1] == "{":
                    depth += 1
                elif toks[k][1] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                k += 1
            yield j, k
            i = k
        i += 1


def samples(repo):
    import tomllib
    in_config = {r["id"] for r in tomllib.loads(git(repo, "show", "HEAD:config/gitleaks.toml"))["rules"]}
    files = [f for f in git(repo, "ls-tree", "--name-only", "HEAD", RULES_DIR + "/").split() if f.endswith(".go")]
    for f in sorted(files):
        toks = tokens(git(repo, "show", "HEAD:" + f))
        for start, end in functions(toks):
            body = toks[start:end]
            rule = None
            for i in range(len(body) - 2):
                if body[i] == ("id", "RuleID") and body[i + 1][1] == ":" and body[i + 2][0] in ("str", "raw"):
                    rule = go_string(*body[i + 2])
                    break
            if rule is None or rule not in in_config:
                continue  # rules kept in the Go files but not in the default configuration
            rnd = random.Random(rule)
            got = {"tp": [], "fp": []}
            for i in range(len(body) - 1):
                name = body[i][1]
                if name in ("tps", "fps") and body[i + 1][1] in (":=", "=") and (i == 0 or body[i - 1][0] == "nl"):
                    ev = Eval(body, rnd)
                    ev.i = i + 2
                    try:
                        v = ev.expr()
                    except (ValueError, IndexError):
                        continue
                    got["tp" if name == "tps" else "fp"].extend(flatten([v]))
            for kind in ("tp", "fp"):
                seen = set()
                for s in got[kind]:
                    if s and s not in seen:
                        seen.add(s)
                        yield kind, rule, s


def escape(s):
    return s.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    repo = sys.argv[1]
    out = sys.argv[2] if len(sys.argv) > 2 else "src/test/resources/secrets/gitleaks-samples.tsv"
    commit = git(repo, "rev-parse", "HEAD").strip()
    rows = list(samples(repo))
    with open(out, "w", encoding="utf-8", newline="\n") as w:
        w.write("# gitleaks %s, %s by tools/gitleaks-samples.py; kind, rule id, sample (\\\\ \\t \\n \\r escaped)\n"
                % (commit, RULES_DIR))
        for kind, rule, s in rows:
            w.write("%s\t%s\t%s\n" % (kind, rule, escape(s)))
    tps = sum(1 for r in rows if r[0] == "tp")
    print("%s: %d true positives, %d false positives, %d rules" % (out, tps, len(rows) - tps, len({r[1] for r in rows})))


if __name__ == "__main__":
    main()
