#!/usr/bin/env bash
# The main job on the embedded default, run by `./dev run` after a release build.
# Until vaultd exists this shows what is built so far: the akon command line (when built) and the
# process-core benchmark.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
BIN=build/release/bin
if [[ -x $BIN/akon ]]; then
  "$BIN/akon" --help
  echo
fi
exec bench/run --quick
