#!/usr/bin/env bash
# Consumer test: packs the built packages (run `npm run build` first), installs the tarballs into
# fresh ESM and CommonJS apps in a temporary folder outside the workspace (npm registry for the
# rest, `ONNXRUNTIME_NODE_INSTALL=skip`), type-checks them with tsc under `nodenext` and `bundler`,
# and runs them: register → recommend with the registry plugin, a Fastify and an Express host app,
# and the trainer's onnxruntime-node and @huggingface/transformers loaded in one process (two
# different onnxruntime-node versions in one process crash with `VERS_1.x not found`).
# Not part of `npm test` (it installs from the npm registry and takes minutes): run it after `npm run build`
# with `bash tests/consumer/run-consumer-test.sh`.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/tunekit-consumer-XXXXXX")"
trap 'rm -rf "${work}"' EXIT
export ONNXRUNTIME_NODE_INSTALL=skip npm_config_onnxruntime_node_install=skip
mkdir -p "${work}/tarballs"
for package in core trainer registry server-adapter; do
  (cd "${root}/packages/${package}" && npm pack --silent --pack-destination "${work}/tarballs" >/dev/null)
done
tarballs=("${work}"/tarballs/*.tgz)
tsc="${root}/node_modules/.bin/tsc"
for flavour in esm cjs; do
  app="${work}/${flavour}"
  mkdir -p "${app}"
  cp "${root}/tests/consumer/${flavour}/"* "${app}/"
  (cd "${app}" && npm install --no-audit --no-fund --prefer-offline --loglevel=error \
    "${tarballs[@]}" fastify@^5 express@^5 @huggingface/transformers@4.3.1 @types/node@^20 @types/express@^5 >/dev/null)
  echo "== ${flavour}: one onnxruntime-node in the dependency graph"
  versions="$(cd "${app}" && find node_modules -path '*/onnxruntime-node/package.json' -not -path '*/onnxruntime-node/*/*' -exec node -p 'require("./" + process.argv[1]).version' {} \; | sort -u)"
  echo "${versions}"
  [ "$(echo "${versions}" | wc -l)" = "1" ] || { echo "more than one onnxruntime-node version"; exit 1; }
  for resolution in nodenext bundler; do
    echo "== ${flavour}: tsc --moduleResolution ${resolution}"
    module=$([ "${resolution}" = bundler ] && echo preserve || echo nodenext)
    (cd "${app}" && "${tsc}" --noEmit --strict --skipLibCheck --types node --target es2022 \
      --module "${module}" --moduleResolution "${resolution}" app.*ts)
  done
  echo "== ${flavour}: run"
  (cd "${app}" && "${tsc}" --strict --skipLibCheck --types node --target es2022 --module nodenext \
    --moduleResolution nodenext --outDir out app.*ts && node out/app.*js)
done
echo "consumer test passed"
