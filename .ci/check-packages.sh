#!/usr/bin/env bash
# Package checks on the built packages (run after `npm run build`): publint (manifest, exports,
# files) and @arethetypeswrong/cli (types resolve for import and require under node16/nodenext and
# bundler; node10 is not a target, so subpaths are not checked there).
set -euo pipefail
cd "$(dirname "$0")/.."
for directory in packages/*/; do
  echo "== ${directory}"
  npx publint --strict "${directory}"
  (cd "${directory}" && npx attw --pack . --profile node16 --format ascii)
done
