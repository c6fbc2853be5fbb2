#!/usr/bin/env python3
"""Runs the command blocks of README.md and docs/*.md and compares their output with the samples.

Every fenced code block in those files carries a marker on the line before its fence:

    <!-- docs-test: run -->            a console block: `$ command` lines, each followed by the
                                       output it prints (stdout and stderr, merged)
    <!-- docs-test: skip: REASON -->   not run here (GPUs, a real cluster, ...), with the reason

A block without a marker is an error, so a new sample cannot go unchecked by accident; so is a
relative link (or #anchor) that leads nowhere.

Commands of one block run one after another with bash in a scratch folder (the repository's
results/, sbatch/, dashboards/, docs/ and scripts/ linked in), with collbench's binaries first on PATH and
Open MPI allowed to run as root and oversubscribe. `$?` in a command is the exit code of the
previous one. The machine's host name is shown as `node1`.

Output is compared line by line, word by word: words must be equal, except numbers with a decimal
point (times, bandwidths: any value), process ids and timestamps. Integers (sizes, counts, wrong
elements, exit codes) must be equal. A sample line that is only `…` stands for any number of lines.

    docs_commands.py ROOT BIN_DIR            check; exit 1 on any difference
    docs_commands.py ROOT BIN_DIR --update   rewrite the samples from this machine's output
                                             (after a change of wording or field names);
                                             only blocks that differ are rewritten, in full:
                                             put back any `…` lines by hand
"""

import os
import re
import socket
import subprocess
import sys
import tempfile
import time

MARKER = re.compile(r"^\s*<!-- docs-test: (run|skip: (?P<reason>.+?)) -->\s*$")
FENCE = re.compile(r"^(?P<indent>\s*)```")
FLOAT = re.compile(r"^[-+]?\d*\.\d+(e[-+]?\d+)?$", re.IGNORECASE)
VOLATILE = [
    (re.compile(r"Pid +\d+"), "Pid <pid>"),
    (re.compile(r"\b\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z?"), "<time>"),
    (re.compile(r"\bpid \d+"), "pid <pid>"),
    # A verdict line names the placement with the lower busbw, which is down to timing.
    (re.compile(r"\b(out[-_]of[-_]place|in[-_]place): busbw"), "<placement>: busbw"),
]
COMMAND_TIMEOUT = 180


def blocks(path):
    """Yields (marker, reason, start, end, indent, lines): lines between the fences."""
    with open(path, encoding="utf-8") as f:
        text = f.read().split("\n")
    i = 0
    while i < len(text):
        m = FENCE.match(text[i])
        if not m:
            i += 1
            continue
        indent = m.group("indent")
        j = i + 1
        while j < len(text) and not text[j].startswith(indent + "```"):
            j += 1
        k = i - 1
        while k >= 0 and not text[k].strip():
            k -= 1
        marker = MARKER.match(text[k]) if k >= 0 else None
        kind = None if marker is None else marker.group(1).split(":")[0]
        reason = None if marker is None else marker.group("reason")
        body = [line[len(indent):] if line.startswith(indent) else line.lstrip() for line in text[i + 1:j]]
        yield kind, reason, i, j, indent, body
        i = j + 1


def parse_console(body):
    """[(command, [expected lines])]."""
    steps = []
    for line in body:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        elif steps:
            steps[-1][1].append(line)
        else:
            raise ValueError(f"output before the first '$ ' command: {line!r}")
    return steps


def normalize(line):
    for pattern, replacement in VOLATILE:
        line = pattern.sub(replacement, line)
    return line


TOKEN = re.compile(r"[-+]?\d*\.\d+(?:[eE][-+]?\d+)?|\d+|[^\s\d]+")


def words_match(expected, actual):
    """Token by token (words, integers, decimals; spacing ignored): a decimal matches any decimal."""
    e_tokens = TOKEN.findall(normalize(expected))
    a_tokens = TOKEN.findall(normalize(actual))
    if len(e_tokens) != len(a_tokens):
        return False
    return all(e == a or (FLOAT.match(e) and FLOAT.match(a)) for e, a in zip(e_tokens, a_tokens))


def lines_match(expected, actual):
    """Whether `actual` matches `expected`, where a `…` line matches any number of lines."""
    memo = {}

    def go(i, j):
        if (i, j) in memo:
            return memo[(i, j)]
        if i == len(expected):
            result = j == len(actual)
        elif expected[i].strip() == "…":
            result = any(go(i + 1, k) for k in range(j, len(actual) + 1))
        else:
            result = j < len(actual) and words_match(expected[i], actual[j]) and go(i + 1, j + 1)
        memo[(i, j)] = result
        return result

    return go(0, 0)


def shown_host(padding, host):
    """`node1` for this machine's name, keeping right-aligned columns aligned where there is room."""
    if padding:
        padding = " " * max(1, len(padding) - (len("node1") - len(host)))
    return padding + "node1"


def run_block(steps, env, root):
    """Runs the commands; returns [(command, rc, output lines)]."""
    host = socket.gethostname().split(".")[0]
    results = []
    with tempfile.TemporaryDirectory(prefix="collbench-docs.") as work:
        for name in ("results", "sbatch", "dashboards", "docs", "scripts"):
            os.symlink(os.path.join(root, name), os.path.join(work, name))
        last_rc = 0
        for command, _ in steps:
            script = f"(exit {last_rc}); {command}"
            try:
                done = subprocess.run(
                    ["bash", "-o", "pipefail", "-c", script],
                    cwd=work, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT, timeout=COMMAND_TIMEOUT,
                )
                out, last_rc = done.stdout.decode("utf-8", "replace"), done.returncode
            except subprocess.TimeoutExpired:
                out, last_rc = f"(timed out after {COMMAND_TIMEOUT} s)\n", 124
            out = re.sub(rf"( *)\b{re.escape(host)}\b", lambda m: shown_host(m.group(1), host), out)
            lines = out.split("\n")
            if lines and lines[-1] == "":
                lines.pop()
            results.append((command, last_rc, lines))
    return results


LINK = re.compile(r"\]\(([^)\s]+)\)")


def heading_anchors(path):
    """GitHub's anchors of a Markdown file's headings."""
    found = set()
    with open(path, encoding="utf-8") as f:
        for line in f:
            m = re.match(r"^#+ (.*)", line)
            if m:
                found.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return found


def broken_links(root, rel):
    """Relative links (and #anchors into Markdown files) that lead nowhere, outside code blocks."""
    path = os.path.join(root, rel)
    inside, broken = False, []
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if line.lstrip().startswith("```"):
                inside = not inside
            if inside:
                continue
            for m in LINK.finditer(line):
                target = m.group(1)
                if re.match(r"^[a-z]+:", target):
                    continue
                file_part, _, anchor = target.partition("#")
                resolved = os.path.normpath(os.path.join(os.path.dirname(path), file_part)) if file_part else path
                if not os.path.exists(resolved):
                    broken.append(f"{rel}:{number}: link to {target}: no such file")
                elif anchor and resolved.endswith(".md") and anchor not in heading_anchors(resolved):
                    broken.append(f"{rel}:{number}: link to {target}: no such heading")
    return broken


def main():
    root, bin_dir = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    update = "--update" in sys.argv[3:]
    env = dict(os.environ)
    env["PATH"] = f"{bin_dir}:{env.get('PATH', '')}"
    env.update(OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
               OMPI_MCA_rmaps_base_oversubscribe="1", OMPI_MCA_mpi_yield_when_idle="1")
    for var in [v for v in env if v.startswith("COLLBENCH_TEST_")]:
        del env[var]
    files = ["README.md"] + sorted(
        os.path.join("docs", f) for f in os.listdir(os.path.join(root, "docs")) if f.endswith(".md"))
    failures, ran, skipped = 0, 0, 0
    for rel in files:
        path = os.path.join(root, rel)
        for problem in broken_links(root, rel):
            print(f"FAIL {problem}")
            failures += 1
        replacements = []
        for kind, reason, start, end, indent, body in blocks(path):
            where = f"{rel}:{start + 1}"
            if kind is None:
                print(f"FAIL {where}: code block without a '<!-- docs-test: run -->' or "
                      f"'<!-- docs-test: skip: REASON -->' line before it")
                failures += 1
                continue
            if kind == "skip":
                print(f"skip {where}: {reason}")
                skipped += 1
                continue
            steps = parse_console(body)
            started = time.monotonic()
            results = run_block(steps, env, root)
            ran += 1
            new_body, block_ok = [], True
            for (command, expected), (_, rc, actual) in zip(steps, results):
                new_body.append("$ " + command)
                if lines_match(expected, actual):
                    new_body.extend(expected)
                    continue
                block_ok = False
                new_body.extend(actual)
                if not update:
                    print(f"FAIL {where}: `{command}` (exit {rc}) printed:")
                    print("\n".join("    | " + line for line in actual))
                    print("  expected:")
                    print("\n".join("    | " + line for line in expected))
            if block_ok:
                print(f"ok   {where}: {len(steps)} command(s) in {time.monotonic() - started:.1f} s")
            elif update:
                print(f"updated {where}")
                replacements.append((start, end, indent, new_body))
            else:
                failures += 1
        if replacements:
            with open(path, encoding="utf-8") as f:
                text = f.read().split("\n")
            for start, end, indent, new_body in reversed(replacements):
                text[start + 1:end] = [(indent + line) if line else line for line in new_body]
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(text))
    print(f"docs commands: {ran} block(s) run, {skipped} skipped with a reason, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
