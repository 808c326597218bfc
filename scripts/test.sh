#!/usr/bin/env bash
# The test command: host prerequisites, type check, then every test file.
#   sudo npm test                      # everything
#   sudo npm test -- chapters/02-*     # only some folders or files
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/prereqs.sh
[ -d node_modules ] || npm ci --no-audit --no-fund

echo "typecheck: tsc --noEmit"
npx --no-install tsc --noEmit

roots=("$@")
[ ${#roots[@]} -eq 0 ] && roots=(chapters final book support bench)
mapfile -t files < <(find "${roots[@]}" -name '*.test.ts' \
  -not -path '*/node_modules/*' 2>/dev/null | sort)
if [ ${#files[@]} -eq 0 ]; then
  echo "no test files under ${roots[*]}" >&2
  exit 1
fi
# One file at a time: the tests measure CPU time, memory and bandwidth,
# which neighbours running at once would disturb.
exec node --import tsx --test --test-reporter=spec --test-concurrency=1 "${files[@]}"
