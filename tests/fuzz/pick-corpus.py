#!/usr/bin/env python3
"""Pick the few fuzz inputs worth committing: greedy edge coverage on top of the seeds.

`cargo fuzz cmin` keeps every input that adds any feature (thousands after a long run); the
committed corpus stays at about 30 small files, so this measures each candidate's coverage on
its own (libFuzzer's -merge_inner on a one-file control file) and picks, until the limit, the
one that adds the most edges not yet covered by the seeds and the picks so far.

usage: pick-corpus.py FUZZ_BINARY LIMIT SEED_DIR CANDIDATE_DIR...
Prints the chosen candidates, one path a line, with the coverage reached on stderr.
"""
import concurrent.futures
import os
import subprocess
import sys
import tempfile

MAX_BYTES = 4096


def coverage(binary, path):
    """(edges, features) the input reaches when run alone."""
    with tempfile.NamedTemporaryFile("w+", suffix=".merge") as control:
        control.write(f"1\n0\n{path}\n")
        control.flush()
        subprocess.run(
            [binary, "-merge_inner=1", f"-merge_control_file={control.name}"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        control.seek(0)
        edges, features = set(), set()
        for line in control:
            kind, *rest = line.split() or [""]
            if kind == "COV":
                edges = set(map(int, rest[1:]))
            elif kind == "FT":
                features = set(map(int, rest[1:]))
        return edges, features


def main():
    binary, limit, seed_dir, *candidate_dirs = sys.argv[1:]
    seeds = [os.path.join(seed_dir, f) for f in sorted(os.listdir(seed_dir))]
    candidates = [
        os.path.join(d, f)
        for d in candidate_dirs
        for f in sorted(os.listdir(d))
        if os.path.getsize(os.path.join(d, f)) < MAX_BYTES
    ]
    with concurrent.futures.ThreadPoolExecutor(os.cpu_count()) as pool:
        measured = dict(zip(seeds + candidates, pool.map(lambda p: coverage(binary, p), seeds + candidates)))
    every_edge = set().union(*(e for e, _ in measured.values()))
    edges = set().union(*(measured[s][0] for s in seeds))
    features = set().union(*(measured[s][1] for s in seeds))
    print(f"seeds: {len(seeds)} files, {len(edges)} of {len(every_edge)} edges", file=sys.stderr)
    picked = []
    while len(seeds) + len(picked) < int(limit) and candidates:
        best = max(
            candidates,
            key=lambda c: (len(measured[c][0] - edges), len(measured[c][1] - features), -os.path.getsize(c)),
        )
        if not measured[best][1] - features:
            break
        candidates.remove(best)
        edges |= measured[best][0]
        features |= measured[best][1]
        picked.append(best)
        print(best)
    print(
        f"picked {len(picked)}: {len(seeds) + len(picked)} files, {len(edges)} of {len(every_edge)} edges",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
