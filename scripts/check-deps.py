#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
# deps: python3 dpkg apt
"""Each script declares the Debian packages it needs; check that it does.

A script names its packages in comment lines near the top:

    # deps: redis-server redis-tools etcd-server etcd-client

and installs them before use with `scripts/deps.sh --for "$0"` (which reads
the same lines), so the declaration and the install cannot drift apart.
This check reads every script, finds the external commands it runs (the
first word of each simple command, after `timeout`, `env`, `exec`, `xargs`,
`$SUDO` and the like; shell builtins, keywords, the script's own functions,
variables and paths inside the repository are left out) and asks dpkg which
package owns each one (`dpkg -S` on the resolved path). A command passes
when that package is declared, is pulled in by a declared package's
Depends/Pre-Depends (recursively), or is part of every Debian 12 install
(Essential: yes or Priority: required). A command that is not on this
machine fails, unless a declared package is not installed here (then it
cannot be verified and is listed as unverified). A declared package must be
installed or known to apt.

Scripts checked: scripts/*.sh, scripts/*.py, scripts/bench/*.py, .ci/run
(each with its own `# deps:`). The tests (tests/integration) run after
scripts/test.sh has run scripts/deps.sh; their packages go in its list.

    scripts/check-deps.py [--verbose] [ROOT]     # exit 0 ok, 1 missing, 2 usage
"""

import glob
import os
import re
import shutil
import subprocess
import sys

BUILTINS = set("""
alias bg bind break builtin caller cd command compgen complete compopt continue
declare dirs disown echo enable eval exec exit export false fc fg getopts hash
help history jobs kill let local logout mapfile popd printf pushd pwd read
readarray readonly return set shift shopt source suspend test times trap true
type typeset ulimit umask unalias unset wait . : [ [[ ]] ] if then else elif fi
case esac for select while until do done in function time coproc { } ! ( ) ;;
""".split())
# Words after which the next word is the command that really runs.
WRAPPERS = {"timeout", "env", "exec", "xargs", "nice", "setsid", "sudo", "$SUDO", "nohup", "stdbuf", "flock",
            "time", "!", "then", "do", "else", "if", "while", "until", "elif", "{", "("}
NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.+-]*$")


def script_deps(path):
    deps = []
    with open(path, errors="replace") as f:
        for i, line in enumerate(f):
            if i > 60:
                break
            m = re.match(r"^#\s*deps:\s*(.*)$", line.strip())
            if m:
                deps += [w for w in m.group(1).split() if not w.startswith("#")]
    return deps


def deps_sh_packages(root):
    """The PKGS array of scripts/deps.sh."""
    text = open(os.path.join(root, "scripts/deps.sh")).read()
    m = re.search(r"^PKGS=\((.*?)^\)", text, re.S | re.M)
    pk = []
    for line in (m.group(1) if m else "").splitlines():
        pk += line.split("#", 1)[0].split()
    return pk


def blank_quotes(text):
    """Drop the contents of quoted strings and arithmetic, keeping the code of
    command substitutions $( ... ) wherever they are, so a word inside a
    message is never taken for a command."""
    out, stack, i, n = [], ["code"], 0, len(text)
    while i < n:
        c, top = text[i], stack[-1]
        if top == "sq":
            if c == "'":
                stack.pop()
            i += 1
            continue
        if c == "\\" and i + 1 < n:
            if top == "code":
                out.append(" ")
            i += 2
            continue
        if text.startswith("$((", i):
            depth, i = 2, i + 3
            while i < n and depth:
                depth += {"(": 1, ")": -1}.get(text[i], 0)
                i += 1
            out.append(" 0 ")
            continue
        if text.startswith("$(", i):
            stack.append("sub")
            out.append("\n")
            i += 2
            continue
        if top == "dq":
            if c == '"':
                stack.pop()
                out.append('""')
            elif c == "\n":
                out.append(c)
            i += 1
            continue
        # code or sub
        if c == "'":
            stack.append("sq")
            out.append("''")
        elif c == '"':
            stack.append("dq")
        elif c == ")" and top == "sub":
            stack.pop()
            out.append("\n")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def strip_heredocs_and_comments(text):
    out, lines, i, case_depth, in_array = [], text.splitlines(), 0, 0, False
    while i < len(lines):
        line = lines[i]
        m = re.search(r"<<-?\s*['\"]?([A-Za-z_]+)['\"]?", line)
        # Comments: a # at the start of a word (quotes are blanked later).
        code = re.sub(r"(^|\s)#.*$", "", line)
        if in_array:
            in_array = ")" not in code
            code = ""
        elif re.match(r"^\s*[A-Za-z_][A-Za-z0-9_]*\+?=\($", code.rstrip()):
            in_array, code = True, ""
        if re.search(r"\bcase\b.*\bin\s*$", code):
            case_depth += 1
        elif re.search(r"^\s*esac\b", code):
            case_depth -= 1
        elif case_depth > 0:
            code = re.sub(r"^\s*\(?[^()$=]*\)", " ", code)  # a case pattern
        out.append(code)
        if m and "<<<" not in line:
            tag = m.group(1)
            i += 1
            while i < len(lines) and lines[i].strip() != tag:
                i += 1
        i += 1
    return "\n".join(out)


def shell_commands(path):
    text = strip_heredocs_and_comments(open(path, errors="replace").read())
    funcs = set(re.findall(r"^\s*(?:function\s+)?([A-Za-z_][A-Za-z0-9_-]*)\s*\(\)", text, re.M))
    funcs |= set(re.findall(r"^\s*function\s+([A-Za-z_][A-Za-z0-9_-]*)", text, re.M))
    cmds = set()
    text = text.replace("\\\n", " ")
    text = blank_quotes(text)
    text = re.sub(r"[0-9]*(>&|<&|&>)[0-9-]*", " ", text)
    for seg in re.split(r"\|\||&&|[|;&\n`]|<\(|\bthen\b|\bdo\b|\belse\b", text):
        words = seg.split()
        j = 0
        while j < len(words):
            w = words[j].strip('"')
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*\+?=\(", w):  # NAME=(a b c): an array, not commands
                while j < len(words) and not words[j].endswith(")"):
                    j += 1
                j += 1
                continue
            if re.match(r"^[A-Za-z_][A-Za-z0-9_]*(\[[^]]*\])?\+?=", w) or w in ("!", "{", "(") or re.match(r"^[0-9]*[<>]", w):
                j += 1
                continue
            if w in WRAPPERS:
                j += 1
                # skip the wrapper's options and arguments (timeout 300, flock 9, env -u X)
                while j < len(words) and (words[j].startswith("-") or re.match(r"^[0-9.]+[smhd]?$", words[j])
                                          or "=" in words[j]):
                    if words[j] in ("-u", "-n", "-I") and j + 1 < len(words):
                        j += 1
                    j += 1
                continue
            break
        if j >= len(words):
            continue
        w = words[j].lstrip("(")
        if w.startswith('""'):
            continue  # "$VAR"/bin/x: a path made at run time
        w = w.strip('"')
        if w.startswith("/") and os.path.isabs(w) and not w.startswith("/work") and "$" not in w:
            cmds.add(w)  # an absolute system path: /usr/bin/python3
            continue
        if not NAME.match(w) or w in BUILTINS or w in funcs or w.endswith(")"):
            continue
        cmds.add(w)
    return cmds


def python_commands(path):
    """Commands a Python script runs: the first element of list literals
    passed to subprocess / os.exec*, when it is a plain string."""
    text = open(path, errors="replace").read()
    cmds = set()
    for m in re.finditer(r"(?:subprocess\.\w+|Popen|check_output|check_call|run)\(\s*\[\s*['\"]([^'\"]+)['\"]", text):
        w = m.group(1)
        if NAME.match(w) or (w.startswith("/usr") or w.startswith("/bin") or w.startswith("/sbin")):
            cmds.add(w)
    return cmds


class Dpkg:
    def __init__(self):
        out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Status}\t${Essential}\t${Priority}\t"
                              "${Depends}\t${Pre-Depends}\t${Provides}\n"],
                             capture_output=True, text=True).stdout
        self.installed, self.base, self.deps, self.provides = set(), set(), {}, {}
        for line in out.splitlines():
            f = line.split("\t")
            if len(f) < 7 or "install ok installed" not in f[1]:
                continue
            p = f[0]
            self.installed.add(p)
            if f[2] == "yes" or f[3] == "required":
                self.base.add(p)
            names = set()
            for part in (f[4] + "," + f[5]).split(","):
                for alt in part.split("|"):
                    n = alt.strip().split(" ")[0].split(":")[0]
                    if n:
                        names.add(n)
            self.deps[p] = names
            for prov in f[6].split(","):
                n = prov.strip().split(" ")[0]
                if n:
                    self.provides.setdefault(n, set()).add(p)

    def closure(self, pkgs):
        seen, todo = set(), list(pkgs)
        while todo:
            p = todo.pop()
            if p in seen:
                continue
            seen.add(p)
            for q in self.provides.get(p, ()):
                todo.append(q)
            todo.extend(self.deps.get(p, ()))
        return seen

    _files = None

    @classmethod
    def owner(cls, path):
        if cls._files is None:
            cls._files = {}
            for lst in glob.glob("/var/lib/dpkg/info/*.list"):
                pkg = os.path.basename(lst)[:-5].split(":")[0]
                with open(lst, errors="replace") as f:
                    for line in f:
                        if "bin/" in line:
                            cls._files.setdefault(line.rstrip("\n"), []).append(pkg)
        cands = [path]
        real = os.path.realpath(path)
        if real != path:
            cands.append(real)
        # usrmerge: /bin/x is /usr/bin/x
        for c in list(cands):
            if c.startswith("/usr/"):
                cands.append(c[4:])
            else:
                cands.append("/usr" + c)
        for c in cands:
            if c in cls._files:
                return cls._files[c]
        return None


def known_to_apt(pkgs):
    """The subset of pkgs that apt has a candidate for (one apt-cache call)."""
    if not pkgs:
        return set()
    r = subprocess.run(["apt-cache", "policy"] + sorted(pkgs), capture_output=True, text=True)
    known, cur = set(), None
    for line in r.stdout.splitlines():
        if line and not line.startswith(" ") and line.endswith(":"):
            cur = line[:-1].split(":")[0]
        elif cur and line.strip().startswith("Candidate:") and "(none)" not in line:
            known.add(cur)
    return known


def main(argv):
    verbose = "--verbose" in argv
    args = [a for a in argv[1:] if a != "--verbose"]
    if len(args) > 1 or any(a.startswith("-") for a in args):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    root = os.path.abspath(args[0] if args else os.path.join(os.path.dirname(__file__), ".."))
    dp = Dpkg()
    base_pkgs = deps_sh_packages(root)
    own = sorted(glob.glob(os.path.join(root, "scripts/*.sh")) + glob.glob(os.path.join(root, "scripts/*.py"))
                 + glob.glob(os.path.join(root, "scripts/bench/*.py")) + [os.path.join(root, ".ci/run")])
    tests = []
    failures, unverified, checked = [], [], 0
    not_installed_known = None
    for path in own + tests:
        if not os.path.isfile(path):
            continue
        rel = os.path.relpath(path, root)
        declared = script_deps(path)
        if path in tests:
            declared = declared + base_pkgs
        for p in declared:
            if p not in dp.installed:
                if not_installed_known is None:
                    not_installed_known = known_to_apt(set(q for path2 in own + tests if os.path.isfile(path2)
                                                          for q in script_deps(path2)) - dp.installed)
                if p not in not_installed_known:
                    failures.append("%s: declares '%s', which is neither installed nor a Debian package apt knows" % (rel, p))
        allowed = dp.closure(declared) | dp.base
        not_here = [p for p in declared if p not in dp.installed]
        is_py = path.endswith(".py") or open(path, errors="replace").readline().startswith("#!/usr/bin/python")
        cmds = python_commands(path) if is_py else shell_commands(path)
        for c in sorted(cmds):
            checked += 1
            where = c if c.startswith("/") else shutil.which(c)
            if not where:
                if not_here:
                    unverified.append("%s: %s (declared but not installed here: %s)" % (rel, c, " ".join(not_here)))
                else:
                    failures.append("%s: runs '%s', which no installed package provides; declare its package in a '# deps:' line" % (rel, c))
                continue
            owners = Dpkg.owner(where)
            if owners is None:
                if where.startswith("/usr/local/") or "/.pyenv/" in where or where.startswith(os.path.expanduser("~")):
                    failures.append("%s: runs '%s' = %s, not from a Debian package (a fresh machine has no such file)" % (rel, c, where))
                else:
                    failures.append("%s: runs '%s' = %s, owned by no package" % (rel, c, where))
                continue
            if not any(o in allowed for o in owners):
                failures.append("%s: runs '%s' (package %s) without declaring it ('# deps: %s')" % (rel, c, "/".join(owners), owners[0]))
            elif verbose:
                print("ok %s: %s <- %s" % (rel, c, "/".join(owners)))
    for u in unverified:
        print("unverified: " + u)
    for f in failures:
        print("check-deps: " + f, file=sys.stderr)
    print("check-deps: %d scripts, %d commands, %d unverified, %d problems" % (len(own) + len(tests), checked, len(unverified), len(failures)))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
