#!/usr/bin/env bash
# Rebuild the vendored Uppy bundle: npm packages pinned in package.json -> one minified IIFE and one CSS
# file, plus the licence of every package that went into them. Run by hand when upgrading Uppy and commit
# the output; picstore has no front-end build step at install or run time.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$here/../../src/picstore/web/static/vendor/uppy
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp "$here/package.json" "$here/entry.js" "$here/entry.css" "$work/"
cd "$work"
npm install --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
mkdir -p "$out"
npx esbuild entry.js --bundle --minify --format=iife --target=es2020 --legal-comments=none \
  --metafile=meta.json --outfile="$out/uppy.min.js" --log-level=warning
npx esbuild entry.css --bundle --minify --loader:.svg=dataurl --outfile="$out/uppy.min.css" --log-level=warning
node - "$out" <<'JS'
// LICENSES.txt: each bundled package's name, version and licence text.
const fs = require('fs'), path = require('path')
const out = process.argv[2]
const meta = JSON.parse(fs.readFileSync('meta.json'))
const dirs = new Set()
for (const input of Object.keys(meta.inputs)) {
  const m = input.match(/^(.*node_modules\/(?:@[^/]+\/)?[^/]+)\//)
  if (m) dirs.add(m[1])
}
const parts = []
for (const dir of [...dirs].sort()) {
  const pkg = JSON.parse(fs.readFileSync(path.join(dir, 'package.json')))
  const file = fs.readdirSync(dir).find((f) => /^licen[cs]e/i.test(f))
  const text = file ? fs.readFileSync(path.join(dir, file), 'utf8').trim() : `License: ${pkg.license}`
  parts.push(`${pkg.name} ${pkg.version} (${pkg.license})\n\n${text}\n`)
}
fs.writeFileSync(path.join(out, 'LICENSES.txt'),
  'Licences of the npm packages bundled into uppy.min.js and uppy.min.css (built by assets/uppy/build.sh).\n\n' +
  parts.join('\n' + '-'.repeat(78) + '\n\n'))
console.log(`bundled ${dirs.size} packages`)
JS
ls -l "$out"
