#!/usr/bin/env bash
# Alternate base and new runs of compare_moves.py (each --repeat 1), then summarise.
#   benchmarks/compare_moves.sh BASE_PY NEW_PY [extra compare_moves.py args...]
# Env: ROUNDS (default 3), OUT (default compare_moves.out): writes $OUT/base.jsonl and
# $OUT/new.jsonl (appended to, so an existing folder accumulates runs).
# Run from anywhere but a repository root with `python -c`: the script is run by path.
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 BASE_PY NEW_PY [compare_moves.py args...]" >&2; exit 2
fi
base_py=$1; new_py=$2; shift 2
here=$(cd "$(dirname "$0")" && pwd)
script=$here/compare_moves.py
out=${OUT:-compare_moves.out}
mkdir -p "$out"
for r in $(seq 1 "${ROUNDS:-3}"); do
    echo "== round $r: base" >&2
    "$base_py" "$script" --repeat 1 --label base --jsonl "$out/base.jsonl" "$@"
    echo "== round $r: new" >&2
    "$new_py" "$script" --repeat 1 --label new --jsonl "$out/new.jsonl" "$@"
done
"$new_py" "$script" --summarize "$out/base.jsonl" "$out/new.jsonl"
