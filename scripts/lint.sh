#!/usr/bin/env bash
# Lint: clang-format must leave every tracked C++ file unchanged, and clang-tidy (.clang-tidy) must
# pass on src/ and apps/. Usage: scripts/lint.sh [BUILD_DIR] (a configured build with
# compile_commands.json; default build/debug).
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
BUILD=${1:-build/debug}
mapfile -t files < <(git ls-files '*.h' '*.cc')
clang-format --dry-run --Werror "${files[@]}"
mapfile -t sources < <(git ls-files 'src/*.cc' 'apps/*.cc' | grep -v '_test\.cc$' | grep -v '_impl\.cc$')
tidy=$(command -v run-clang-tidy || command -v run-clang-tidy-14 || true)
if [[ -n $tidy ]]; then
  log=$(mktemp)
  trap 'rm -f "$log"' EXIT
  "$tidy" -quiet -p "$BUILD" -j "$(nproc)" "${sources[@]}" >"$log" 2>&1 || {
    grep -E "error:" "$log" | sed 's/\x1b\[[0-9;]*m//g' | sort -u | head -50
    exit 1
  }
else
  for f in "${sources[@]}"; do clang-tidy -quiet -p "$BUILD" "$f"; done
fi
echo "lint: clean"
