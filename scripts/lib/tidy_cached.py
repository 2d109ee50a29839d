#!/usr/bin/env python3
"""clang-tidy over the files of a compile database, skipping what it already found clean.

clang-tidy costs 5-15 s of CPU per file here (RapidJSON, gtest, the STL), and scripts/lint runs
it over every source in each CI run although most files did not change. A clean result is
recorded under a key of everything that decides it: the bytes of the file and of every header it
includes (as its own flags find them: `-M`), the flags, every .clang-tidy from its folder up and
clang-tidy's version.
Only clean results are kept; a file with findings is checked again every time. Nothing packaged
does this (run-clang-tidy has no cache), hence these few lines.

usage: tidy_cached.py BUILD_DIR ROOT REGEX JOBS CACHE_DIR [--extra-arg=...]...
"""
import concurrent.futures
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys


def deps_command(entry):
    """The file's own compile command, made to list what it includes (-M) instead of compiling."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    if os.path.basename(args[0]) == "ccache":
        args = args[1:]
    out, skip = [], False
    for a in args:
        if skip:
            skip = False
            continue
        if a == "-o":
            skip = True
            continue
        if a == "-c" or a.startswith("-M"):
            continue
        out.append(a)
    return out + ["-M"]


def key_of(entry, root, fixed):
    """Everything clang-tidy's verdict on the file depends on: the bytes of the file and of every
    header it includes (comments and NOLINTs included), its flags, and each .clang-tidy from its
    folder up to the checkout's root."""
    cmd = deps_command(entry)
    rule = subprocess.run(cmd, cwd=entry["directory"], capture_output=True, check=True).stdout
    files = rule.decode().replace("\\\n", " ").split()[1:]  # "target: dep dep ..."
    h = hashlib.sha256(fixed)
    h.update(" ".join(cmd).replace(root, "@ROOT@").encode())
    for f in files:
        path = os.path.realpath(os.path.join(entry["directory"], f))
        h.update(path.replace(root, "@ROOT@").encode() + b"\0")
        with open(path, "rb") as data:
            h.update(hashlib.sha256(data.read()).digest())
    folder = os.path.dirname(os.path.realpath(entry["file"]))
    while True:
        config = os.path.join(folder, ".clang-tidy")
        if os.path.exists(config):
            with open(config, "rb") as data:
                h.update(config.replace(root, "@ROOT@").encode() + data.read())
        if folder == root or os.path.dirname(folder) == folder:
            break
        folder = os.path.dirname(folder)
    return h.hexdigest()


def main():
    build, root, regex, jobs, cache = sys.argv[1:6]
    extra = sys.argv[6:]
    root = os.path.realpath(root)
    os.makedirs(cache, exist_ok=True)
    version = subprocess.run(["clang-tidy", "--version"], capture_output=True, text=True).stdout
    fixed = version.encode() + " ".join(extra).encode()
    with open(os.path.join(build, "compile_commands.json")) as f:
        entries = [e for e in json.load(f) if re.search(regex, e["file"])]

    def check(entry):
        key = key_of(entry, root, fixed)
        marker = os.path.join(cache, key)
        if os.path.exists(marker):
            return entry["file"], True, True, ""
        run = subprocess.run(["clang-tidy", "-p", build, "-quiet", *extra, entry["file"]],
                             capture_output=True, text=True)
        text = run.stdout + run.stderr
        clean = run.returncode == 0 and not re.search(r"(error|warning): ", run.stdout)
        if clean:
            open(marker, "w").close()
        return entry["file"], clean, False, text

    failed = cached = 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=int(jobs)) as pool:
        for name, clean, hit, text in pool.map(check, entries):
            cached += hit
            if not clean:
                failed += 1
                sys.stderr.write(f"clang-tidy: {name}\n{text}\n")
    print(f"clang-tidy: {len(entries)} files, {cached} unchanged since a clean check, "
          f"{failed} with findings")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
