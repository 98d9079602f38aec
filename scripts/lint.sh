#!/usr/bin/env bash
# Lint: clang-format must leave every tracked C++ file unchanged, and clang-tidy (.clang-tidy) must
# pass on src/ and apps/ with the compile commands of the debug build.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
mapfile -t files < <(git ls-files '*.h' '*.cc')
clang-format --dry-run --Werror "${files[@]}"
mapfile -t sources < <(git ls-files 'src/*.cc' 'apps/*.cc' | grep -v '_test\.cc$' | grep -v '_impl\.cc$')
tidy=$(command -v run-clang-tidy || command -v run-clang-tidy-14 || true)
if [[ -n $tidy ]]; then
  "$tidy" -quiet -p build/debug -j "$(nproc)" "${sources[@]}" >/tmp/va-tidy.log 2>&1 || { grep -E "error|warning" /tmp/va-tidy.log | head -50; exit 1; }
else
  for f in "${sources[@]}"; do clang-tidy -quiet -p build/debug "$f"; done
fi
echo "lint: clean"
