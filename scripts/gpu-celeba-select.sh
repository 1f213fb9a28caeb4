#!/usr/bin/env bash
# One GPU window for issue 14: `celeba-smile-small` trained from scratch on several seeds at once,
# its weights kept every SNAP steps (--snapshot-every), each snapshot from step FROM on evaluated on
# the VALIDATION faces (ccig eval --split valid), and the top KEEP by scripts/face-select.mjs's rule
# brought back as weights; the test faces stay on the machine that prepared the window.
# Prepare here (x86-64, npm ci done):
#   npm run build                  # dist/: the device runs the compiled CLI (no tsx there)
#   scripts/gpu-pack.sh --celeba ../shared/datasets/celeba-8k --celeba-splits train,valid --no-tsx
#   cp ~/.cache/ccig/oracles/oracle-celeba-*-3000-*.safetensors .gpu/oracle.safetensors
# then on the device, with carry [".gpu", "dist"]:   bash scripts/gpu-celeba-select.sh "$OUT"
# A dry run here: bash scripts/gpu-celeba-select.sh /tmp/out --cpu   (tiny steps, CPU)
# Env: SEEDS ("0 1 2"), SNAP (500), FROM (3000), KEEP (3), TRAIN_SECONDS (330), EVAL_SECONDS (150),
#      STEPS (the preset's), EVAL_N (1000 = every validation face).
# OUT gets summary.txt, results.tar.gz (training logs and configs, validation reports without
# images, the ranking, each seed's last sample grid: CelebA faces, never to be committed) and
# the chosen weights as checkpoints.tar.partN (cat them back together).
set -uo pipefail
out=${1:?usage: gpu-celeba-select.sh OUT [--cpu]}
cpu=0
[ "${2:-}" = --cpu ] && cpu=1
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"
mkdir -p "$out"
out=$(cd "$out" && pwd)
work=${WORK:-/tmp/ccig-window}
rm -rf "$work"
mkdir -p "$work/runs" "$work/evals" "$work/logs"
export XDG_CACHE_HOME="$work/cache"
SEEDS=${SEEDS:-0 1 2}
SNAP=${SNAP:-500}
FROM=${FROM:-3000}
KEEP=${KEEP:-3}
TRAIN_SECONDS=${TRAIN_SECONDS:-330}
EVAL_SECONDS=${EVAL_SECONDS:-150}
EVAL_N=${EVAL_N:-1000}
celeba=$work/celeba
tar -xJf .gpu/celeba.tar.xz -C "$work" || { echo "no .gpu/celeba.tar.xz (scripts/gpu-pack.sh --celeba ...)"; exit 1; }
oracle=$here/.gpu/oracle.safetensors
t0=$(date +%s)
say() { echo "window [+$(($(date +%s) - t0))s] $*" | tee -a "$work/summary.txt"; }

if [ "$cpu" = 1 ]; then
  device=cpu
else
  device=cuda
  mkdir -p "$work/node"
  tar -xJf .gpu/node.tar.xz -C "$work/node" || { say "no Node in .gpu/"; exit 1; }
  export PATH="$work/node/bin:$PATH"
  [ -d node_modules ] || tar -xJf .gpu/node_modules.tar.xz -C "$here"
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee -a "$work/summary.txt"
  node scripts/build-native.mjs --force >"$work/logs/build.log" 2>&1 || { say "the addon did not build"; tail -40 "$work/logs/build.log"; exit 1; }
fi
say "ready on $device: node $(node --version), $(ls "$celeba/img_align_celeba" | wc -l) faces carried"
node bin/ccig.js info --engine 2>&1 | tee -a "$work/summary.txt"

# ---- training: every seed at once until TRAIN_SECONDS (SIGINT writes a checkpoint)
steps=()
[ -n "${STEPS:-}" ] && steps=(--steps "$STEPS")
for s in $SEEDS; do
  timeout -s INT -k 30 "$TRAIN_SECONDS" node bin/ccig.js train --preset celeba-smile-small --data "$celeba" \
    --seed "$s" --snapshot-every "$SNAP" "${steps[@]}" --device "$device" --threads 1 --json \
    --out "$work/runs/seed$s" >"$work/logs/train-seed$s.log" 2>&1 &
done
wait
for s in $SEEDS; do say "seed $s: $(tail -c 300 "$work/logs/train-seed$s.log" | tr '\n' ' ')"; done

# ---- validation: every snapshot from step FROM on, a few at a time, until EVAL_SECONDS
eval_end=$(($(date +%s) + EVAL_SECONDS))
for f in "$work"/runs/seed*/snapshots/step-*.safetensors; do
  [ -f "$f" ] || continue
  step=$((10#$(basename "$f" .safetensors | sed 's/step-//')))
  [ "$step" -ge "$FROM" ] && echo "$step $f"
done | sort -k1,1nr | cut -d' ' -f2- >"$work/to-evaluate.txt"
say "evaluating $(wc -l <"$work/to-evaluate.txt") snapshots on the validation faces"
evaluate() {
  local f=$1 name left
  name=$(basename "$(dirname "$(dirname "$f")")")-$(basename "$f" .safetensors)
  left=$((eval_end - $(date +%s)))
  [ "$left" -gt 10 ] || return 0
  timeout -s INT -k 5 "$left" node bin/ccig.js eval --checkpoint "$f" --data "$celeba" --split valid \
    --n "$EVAL_N" --oracle "$oracle" --resamples 0 --device "$device" --threads 1 \
    --out "$work/evals/$name" >"$work/logs/eval-$name.log" 2>&1
}
export -f evaluate
export eval_end work celeba oracle device EVAL_N
xargs -P "${EVAL_PARALLEL:-8}" -I{} bash -c 'evaluate "$@"' _ {} <"$work/to-evaluate.txt"
reports=("$work"/evals/*/report.json)
say "validation reports: ${#reports[@]}"
node scripts/face-select.mjs --keep "$KEEP" --write "$work/chosen.txt" "${reports[@]}" 2>&1 | tee "$work/ranking.md"

# ---- what comes back: at most 8 files of under 16 MiB, 64 MiB in all
stash=$work/stash
mkdir -p "$stash"
cp "$work/summary.txt" "$work/ranking.md" "$stash/"
cp -r "$work/logs" "$stash/logs"
for r in "$work"/runs/seed*; do
  mkdir -p "$stash/runs/$(basename "$r")"
  cp "$r/log.jsonl" "$r/config.json" "$stash/runs/$(basename "$r")/" 2>/dev/null
  last=$(ls "$r"/samples/samples-*.png 2>/dev/null | tail -1)
  [ -n "$last" ] && cp "$last" "$stash/runs/$(basename "$r")/"
done
for d in "$work"/evals/*/; do
  [ -f "$d/report.json" ] && mkdir -p "$stash/evals" && cp "$d/report.json" "$stash/evals/$(basename "$d").json"
done
tar -C "$stash" -czf "$out/results.tar.gz" .
mkdir -p "$work/chosen"
while read -r c; do
  [ -n "$c" ] && cp "$c" "$work/chosen/$(basename "$(dirname "$(dirname "$c")")")-$(basename "$c")"
done <"$work/chosen.txt"
if [ -n "$(ls "$work/chosen")" ]; then
  tar -C "$work/chosen" -cf "$work/checkpoints.tar" .
  split -b 15M -d -a 1 "$work/checkpoints.tar" "$out/checkpoints.tar.part"
fi
say "done"
cp "$work/summary.txt" "$out/summary.txt"
ls -la "$out"
