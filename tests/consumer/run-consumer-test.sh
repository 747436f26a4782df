#!/usr/bin/env bash
# Consumer test (run by .ci/run after `npm run build`): packs the four packages, installs the tarballs
# into ONE fresh app in a temporary folder outside the workspace (the rest from npm, preferring npm's
# local cache, which `npm ci` of the workspace has just filled), and then, as a user would:
#   1. checks that the installed graph holds ONE onnxruntime-node version;
#   2. type-checks an ES module (app.mts) and a CommonJS module (app.cts) with tsc under `nodenext`
#      and `bundler` resolution (the CJS one is typed through the packages' .d.cts files);
#   3. runs them: train a tiny GPT-2 for 3 steps → registered → recommend, a Fastify and an Express
#      host app, the trainer's onnxruntime-node and @huggingface/transformers in one process, and
#      require() of every subpath each package exports;
#   4. reproduces, on purpose, what check 1 guards against: a second onnxruntime-node version loaded
#      into the same process fails with `libonnxruntime.so.1: version 'VERS_x.y.z' not found`, in
#      either order (Linux x64 only: the error is the Linux dynamic linker's).
# Usage: bash tests/consumer/run-consumer-test.sh   (TUNEKIT_KEEP_CONSUMER=1 keeps the temp folder)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/tunekit-consumer-XXXXXX")"
if [ "${TUNEKIT_KEEP_CONSUMER:-}" = "1" ]; then echo "keeping ${work}"; else trap 'rm -rf "${work}"' EXIT; fi
# The trainer runs on onnxruntime-node's CPU binaries, which are in its npm tarball; `skip` stops its
# install script from downloading the CUDA libraries (no network needed beyond the npm registry).
export ONNXRUNTIME_NODE_INSTALL=skip npm_config_onnxruntime_node_install=skip
started=${SECONDS}
step() { echo "== [$((SECONDS - started))s] $*"; }

step "npm pack"
mkdir -p "${work}/tarballs" "${work}/app"
for package in core trainer registry server-adapter; do
  (cd "${root}/packages/${package}" && npm pack --silent --pack-destination "${work}/tarballs" >/dev/null)
done
tarballs=("${work}"/tarballs/*.tgz)
tsc="${root}/node_modules/.bin/tsc"

step "npm install of the tarballs into ${work}/app"
app="${work}/app"
cp "${root}/tests/consumer/app.mts" "${root}/tests/consumer/app.cts" "${app}/"
echo '{ "name": "tunekit-consumer", "private": true }' >"${app}/package.json"
(cd "${app}" && npm install --no-audit --no-fund --prefer-offline --ignore-scripts --loglevel=error \
  "${tarballs[@]}" fastify@^5 express@^5 @huggingface/transformers@^4.3.1 vitest@^4 \
  @types/node@^20 @types/express@^5 >/dev/null)

# Install scripts: npm ran none (--ignore-scripts). A package compiled by node-gyp (binding.gyp:
# sqlite3 under @keyv/sqlite compiles SQLite from source when no prebuilt binary can be downloaded,
# 6+ minutes on 2 cores; hnswlib-node) that the workspace has in the same version is copied from the
# workspace's node_modules, where `npm ci` has just built it on this machine (same Node ABI). Every
# other package with a script runs it here (`npm rebuild`; onnxruntime-node's skips the CUDA download).
step "install scripts: reuse the workspace's native builds of the same versions, run the other scripts"
rebuild=()
while IFS=$'\t' read -r directory name version; do
  workspace="${root}/node_modules/${name}"
  if [ -f "${app}/${directory}/binding.gyp" ] && [ -f "${workspace}/package.json" ] && \
     [ "$(node -p 'require(process.argv[1]).version' "${workspace}/package.json")" = "${version}" ]; then
    echo "  ${name}@${version}: the workspace's build"
    rm -rf "${app:?}/${directory}" && cp -a "${workspace}" "${app}/${directory}"
  else
    echo "  ${name}@${version}: its script (npm rebuild)"
    rebuild+=("${name}")
  fi
done < <(node "${root}/tests/consumer/packages-with-install-scripts.mjs" "${app}")
if [ "${#rebuild[@]}" -gt 0 ]; then (cd "${app}" && npm rebuild --loglevel=error "${rebuild[@]}" >/dev/null); fi

step "one onnxruntime-node in the dependency graph"
versions="$(cd "${app}" && find node_modules -path '*/onnxruntime-node/package.json' \
  -not -path '*/onnxruntime-node/*/*' -exec node -p 'require("./" + process.argv[1]).version' {} \; | sort -u)"
echo "${versions}"
[ "$(echo "${versions}" | wc -l)" = "1" ] || { echo "FAIL: more than one onnxruntime-node version"; exit 1; }

step "tsc --moduleResolution nodenext (app.mts, app.cts), emitting out/app.mjs and out/app.cjs"
(cd "${app}" && "${tsc}" --strict --skipLibCheck --types node --target es2022 --module nodenext \
  --moduleResolution nodenext --outDir out app.mts app.cts)
step "tsc --moduleResolution bundler (app.mts, app.cts)"
(cd "${app}" && "${tsc}" --noEmit --strict --skipLibCheck --types node --target es2022 \
  --module preserve --moduleResolution bundler app.mts app.cts)

step "run app.mjs (ESM)"
(cd "${app}" && node out/app.mjs)
step "run app.cjs (CommonJS)"
(cd "${app}" && node out/app.cjs)

if [ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ]; then
  installed="${versions}"
  other="${TUNEKIT_SECOND_ORT_VERSION:-1.31.1}"
  [ "${other}" != "${installed}" ] || other="1.29.0"
  step "reproduce the dual-onnxruntime crash: onnxruntime-node ${installed} and ${other} in one process"
  # Only the Linux x64 binding and library of the second version are unpacked (not its 290 MB of
  # other platforms): loading its binding is what `require('onnxruntime-node')` of a second copy does.
  (cd "${work}" && npm pack "onnxruntime-node@${other}" --prefer-offline --silent >/dev/null)
  mkdir -p "${work}/second"
  tar -xzf "${work}/onnxruntime-node-${other}.tgz" -C "${work}/second" package/bin/napi-v6/linux/x64
  second="${work}/second/package/bin/napi-v6/linux/x64/onnxruntime_binding.node"
  cat >"${app}/two-onnxruntimes.cjs" <<'EOF'
// Loads the installed onnxruntime-node (the trainer's) and a second version's binding, in the
// order given; prints the error of the second load, or "no error".
const [order, secondBinding] = process.argv.slice(2);
const fromTrainer = require('node:module').createRequire(require.resolve('@tunekit/trainer'));
const loads = [() => fromTrainer('onnxruntime-node'), () => require(secondBinding)];
if (order === 'second-first') loads.reverse();
loads[0]();
try {
  loads[1]();
  console.log('no error');
} catch (error) {
  console.log(error.message);
}
EOF
  for order in installed-first second-first; do
    message="$(cd "${app}" && node two-onnxruntimes.cjs "${order}" "${second}")"
    echo "${order}: ${message}"
    expected=$([ "${order}" = installed-first ] && echo "${other}" || echo "${installed}")
    case "${message}" in
      *"version \`VERS_${expected}' not found"*) ;;
      *) echo "FAIL: expected the VERS_${expected} error"; exit 1 ;;
    esac
  done
else
  step "dual-onnxruntime reproduction skipped: it is the Linux x64 dynamic linker's error"
fi
step "consumer test passed"
