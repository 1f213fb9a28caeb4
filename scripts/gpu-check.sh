#!/usr/bin/env bash
# One run that proves ccig on a bare x86-64 GPU machine (python3 with a CUDA torch, g++, make;
# no Node, no network), with everything it needs carried in .gpu/ (scripts/gpu-pack.sh fills it):
#   1. environment   GPU, python3's torch and its CUDA, compiler
#   2. node          unpacks Node (.gpu/node.tar.xz) and, where missing, node_modules
#   3. build         the addon against python3's torch (node-gyp with Node's own headers)
#   4. engine        ccig info --engine (libtorch, CUDA, devices)
#   5. tests         test/cuda.test.ts (ops vs CPU, a CUDA training step, checkpoint round trips,
#                    OOM) and test/engine.test.ts, against this libtorch
#   6. bench         the training step, ccig beside bench/pytorch/step.py, same GPU, batch 128
#   7. train         celeba-smile-dear (else celeba-smile) on $CELEBA for --minutes, then a
#                    sample grid and a weights-only checkpoint
#   8. jobs          with --jobs FILE: each line of FILE (bash) in parallel, RUNS set, capped
#   9. collect       at most 8 files into OUTDIR, each under 16 MiB
# Usage: scripts/gpu-check.sh OUTDIR [--cpu] [--minutes M] [--jobs FILE] [--jobs-minutes M]
#          [--jobs-early] [--no-tests] [--no-bench] [--batch N]
#   --cpu          the same stages on the CPU, short (a dry run for a machine without a GPU)
#   --minutes M    CelebA training time (default 2; 0 skips it); CELEBA=folder (default .gpu/celeba)
#   --jobs FILE    training jobs, one bash line each (comments and blank lines skipped), run from
#                  the repo root in parallel with RUNS=<work>/runs and CELEBA set; `ccig` is on PATH
#   --jobs-minutes M  wall-clock cap for the jobs (default 5): then Ctrl-C (a checkpoint is
#                  written), 60 s later killed
#   --jobs-early   start the jobs right after the build, beside the tests; the bench then runs
#                  after the jobs, so it still times a quiet GPU
# OUTDIR gets: summary.txt (every stage, its time and result, the bench table), samples.png,
# results.tar.gz (logs, training log and grids, job reports and logs), checkpoints.tar
# (weights only; split into .partN files of 15 MiB where larger, dropped past the 64 MiB total).
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cd "$here"

out=""
cpu=0
minutes=2
jobs_file=""
jobs_minutes=5
jobs_early=0
run_tests=1
run_bench=1
batch=128
while [ $# -gt 0 ]; do
  case "$1" in
    --cpu) cpu=1; shift ;;
    --minutes) minutes="$2"; shift 2 ;;
    --jobs) jobs_file="$2"; shift 2 ;;
    --jobs-minutes) jobs_minutes="$2"; shift 2 ;;
    --jobs-early) jobs_early=1; shift ;;
    --no-tests) run_tests=0; shift ;;
    --no-bench) run_bench=0; shift ;;
    --batch) batch="$2"; shift 2 ;;
    -h | --help) sed -n '2,30p' "$0"; exit 0 ;;
    -*) echo "gpu-check: unknown option '$1' (see --help)" >&2; exit 2 ;;
    *) if [ -z "$out" ]; then out="$1"; shift; else echo "gpu-check: one OUTDIR only" >&2; exit 2; fi ;;
  esac
done
[ -n "$out" ] || { echo "usage: scripts/gpu-check.sh OUTDIR [--cpu] [--minutes M] [--jobs FILE] (see --help)" >&2; exit 2; }
[ -z "$jobs_file" ] || [ -f "$jobs_file" ] || { echo "gpu-check: no jobs file $jobs_file" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
[ -z "$jobs_file" ] || jobs_file=$(cd "$(dirname "$jobs_file")" && pwd)/$(basename "$jobs_file")
pack=${GPU_PACK:-$here/.gpu}
work=${GPU_CHECK_WORK:-/tmp/ccig-gpu-check}
rm -rf "$work"
mkdir -p "$work/logs" "$work/bin" "$work/runs"
export RUNS="$work/runs"
if [ -z "${CELEBA:-}" ] && [ -f "$pack/celeba.tar.xz" ]; then
  # gpu-pack's CelebA subset travels as one file
  tar -xJf "$pack/celeba.tar.xz" -C "$work"
  export CELEBA=$work/celeba
fi
export CELEBA=${CELEBA:-$pack/celeba}
export XDG_CACHE_HOME="$work/cache"
if [ "$cpu" = 1 ]; then
  device=cpu
  export CCIG_TEST_DEVICE=cpu
  bench_args=(--device cpu --batch 16 --seconds 2 --presets pendulum-small)
else
  device=cuda
  bench_args=(--device cuda --batch "$batch" --seconds "${BENCH_SECONDS:-5}")
fi

t_start=$(date +%s)
summary="$work/summary.txt"
: >"$summary"
say() { echo "gpu-check [$(date -u +%H:%M:%S) +$(($(date +%s) - t_start))s] $*" | tee -a "$summary"; }
failed=0
# stage NAME COMMAND...: runs the command with its output in logs/NAME.log (and on the terminal)
stage() {
  local name=$1
  shift
  local t0
  t0=$(date +%s)
  say "== $name: start"
  "$@" 2>&1 | tee "$work/logs/$name.log"
  local rc=${PIPESTATUS[0]}
  local dt=$(($(date +%s) - t0))
  if [ "$rc" = 0 ]; then say "== $name: ok (${dt}s)"; else say "== $name: FAILED, exit $rc (${dt}s; see logs/$name.log)"; failed=$((failed + 1)); fi
  printf '%s\t%s\t%s\n' "$name" "$rc" "$dt" >>"$work/stages.tsv"
  return "$rc"
}

say "ccig gpu-check: device $device, out $out, work $work, $(nproc) cores"

# ---- 1. environment
environment() {
  uname -srm
  command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python3 -c 'import torch, sys; print("python", sys.version.split()[0], "| torch", torch.__version__, "| CUDA", torch.version.cuda, "| GPUs", torch.cuda.device_count())' ||
    echo "python3 has no torch: the addon builds against LIBTORCH or the system libtorch"
  g++ --version | head -1
  make --version | head -1
  if [ "$device" = cuda ] && ! python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
    echo "no CUDA device visible to python3's torch"
    return 1
  fi
}
stage environment environment || { say "stopping: no usable GPU (use --cpu for a dry run)"; exit 1; }
if [ "$device" = cuda ] && command -v nvidia-smi >/dev/null; then
  # GPU memory in use once a second, for the peak of each stage
  nvidia-smi --query-gpu=timestamp,memory.used --format=csv,noheader,nounits -l 1 >"$work/logs/gpu-memory.csv" 2>/dev/null &
  smi_pid=$!
fi

# ---- 2. node
unpack_node() {
  [ -f "$pack/node.tar.xz" ] || { echo "missing $pack/node.tar.xz: run scripts/gpu-pack.sh where Node is"; return 1; }
  mkdir -p "$work/node"
  tar -xJf "$pack/node.tar.xz" -C "$work/node"
  if [ ! -d "$here/node_modules" ]; then
    [ -f "$pack/node_modules.tar.xz" ] || { echo "missing $pack/node_modules.tar.xz"; return 1; }
    tar -xJf "$pack/node_modules.tar.xz" -C "$here"
    echo "node_modules unpacked ($(du -sh "$here/node_modules" | cut -f1))"
  else
    echo "node_modules already present; kept"
  fi
  "$work/node/bin/node" --version
}
stage node unpack_node || { say "stopping: Node is needed for everything after this"; exit 1; }
node="$work/node/bin/node"
export PATH="$work/bin:$work/node/bin:$PATH"
# `ccig` for job lines; node-gyp finds Node's headers beside this node (include/node)
printf '#!/bin/sh\nexec "%s" "%s/bin/ccig.js" "$@"\n' "$node" "$here" >"$work/bin/ccig"
chmod +x "$work/bin/ccig"

# ---- 3. build
# NCCL is new to the build: if the addon does not build with it, build it without (CCIG_NCCL=0)
stage build "$node" scripts/build-native.mjs --force ||
  { export CCIG_NCCL=0 && stage build-without-nccl "$node" scripts/build-native.mjs --force; } ||
  { say "stopping: the addon did not build"; exit 1; }

# ---- 8 (early). jobs beside the other stages
jobs_pids=()
start_jobs() {
  local i=0
  mkdir -p "$work/jobs"
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in '' | '#'*) continue ;; esac
    i=$((i + 1))
    echo "$line" >"$work/jobs/job-$i.sh"
    # its own process group, so Ctrl-C at the cap reaches node under `a && b`
    (cd "$here" && exec setsid bash "$work/jobs/job-$i.sh" >"$work/jobs/job-$i.log" 2>&1) &
    jobs_pids+=("$!")
    say "job $i started (pid $!): $line"
  done <"$jobs_file"
  jobs_deadline=$(($(date +%s) + jobs_minutes * 60))
}
wait_jobs() {
  local alive
  while :; do
    alive=0
    for p in "${jobs_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
    [ "$alive" = 0 ] && break
    if [ "$(date +%s)" -ge "$jobs_deadline" ]; then
      say "jobs: the ${jobs_minutes}-minute cap is reached, $alive still running: Ctrl-C (checkpoints are written), kill in 60 s"
      for p in "${jobs_pids[@]}"; do kill -INT -- "-$p" 2>/dev/null; done
      for _ in $(seq 60); do
        alive=0
        for p in "${jobs_pids[@]}"; do kill -0 "$p" 2>/dev/null && alive=1; done
        [ "$alive" = 0 ] && break
        sleep 1
      done
      for p in "${jobs_pids[@]}"; do kill -KILL -- "-$p" 2>/dev/null; done
      break
    fi
    sleep 5
  done
  local i=0
  for p in "${jobs_pids[@]}"; do
    i=$((i + 1))
    wait "$p"
    say "job $i: exit $? ($(tail -1 "$work/jobs/job-$i.log" | cut -c1-160))"
  done
}
if [ -n "$jobs_file" ] && [ "$jobs_early" = 1 ]; then start_jobs; fi

# ---- 4. engine
stage engine "$node" bin/ccig.js info --engine

# ---- 4b. NCCL: one rank under torchrun's convention trains 20 tiny steps on GPU 0 (issue 16)
if [ "$cpu" = 0 ]; then
  stage nccl env WORLD_SIZE=1 RANK=0 LOCAL_RANK=0 MASTER_ADDR=127.0.0.1 MASTER_PORT=29577 \
    "$node" bin/ccig.js train --preset tiny --steps 20 --device cuda --out "$work/nccl-run" --json
fi

# ---- 5. tests
if [ "$run_tests" = 1 ]; then
  # TESTS_PATTERN=regex runs only the tests whose names match
  stage tests "$node" --import tsx --test --test-concurrency=1 ${TESTS_PATTERN:+--test-name-pattern "$TESTS_PATTERN"} test/cuda.test.ts test/engine.test.ts
fi

# ---- 6. bench (with --jobs-early: after the jobs, on a quiet GPU)
bench_stage() {
  presets=""
  for p in pendulum-dear celeba-smile-dear; do
    "$node" --import tsx -e "import('./src/model/config.ts').then((m) => process.exit(m.PRESET_NAMES.includes('$p') ? 0 : 1))" && presets="$presets${presets:+,}$p"
  done
  [ -n "$presets" ] || presets=pendulum,celeba-smile
  [ "$cpu" = 1 ] || bench_args+=(--presets "$presets")
  [ "$jobs_early" = 1 ] || [ ${#jobs_pids[@]} = 0 ] || say "bench: NOTE the GPU is shared with ${#jobs_pids[@]} running jobs"
  stage bench "$node" --import tsx bench/index.ts train "${bench_args[@]}"
}
if [ "$run_bench" = 1 ] && [ "$jobs_early" = 0 ]; then bench_stage; fi

# ---- 7. train on CelebA for a fixed time
if [ "$minutes" != 0 ]; then
  preset=celeba-smile-dear
  "$node" --import tsx -e "import('./src/model/config.ts').then((m) => process.exit(m.PRESET_NAMES.includes('$preset') ? 0 : 1))" || preset=celeba-smile
  train_args=(--preset "$preset" --data "$CELEBA" --device "$device" --out "$work/train" --steps 1000000)
  [ "$cpu" = 1 ] && train_args+=(--batch-size 8)
  celeba_train() {
    [ -f "$CELEBA/list_attr_celeba.txt" ] || { echo "no CelebA at CELEBA=$CELEBA (list_attr_celeba.txt missing)"; return 1; }
    echo "training $preset for $minutes min on $device; CELEBA=$CELEBA ($(ls "$CELEBA/img_align_celeba" | wc -l) images)"
    # Ctrl-C at the time limit: the trainer finishes its step and writes a checkpoint
    timeout -s INT -k 90 "${minutes}m" "$node" bin/ccig.js train "${train_args[@]}"
    local rc=$?
    [ "$rc" = 0 ] || [ "$rc" = 124 ] || [ "$rc" = 130 ] || return "$rc"
    [ -f "$work/train/checkpoint.safetensors" ] || { echo "no checkpoint written"; return 1; }
    tail -1 "$work/train/log.jsonl"
    "$node" bin/ccig.js sample --checkpoint "$work/train/checkpoint.safetensors" --n 64 --out "$work/samples.png" --device "$device"
    "$node" --import tsx scripts/export-checkpoint.ts "$work/train/checkpoint.safetensors" "$work/checkpoint-$preset.safetensors"
  }
  stage train celeba_train
fi

# ---- 8. jobs (after the checks)
if [ -n "$jobs_file" ]; then
  [ "$jobs_early" = 1 ] || start_jobs
  say "== jobs: waiting (cap ${jobs_minutes} min from their start)"
  wait_jobs
fi
if [ "$run_bench" = 1 ] && [ "$jobs_early" = 1 ]; then bench_stage; fi

# ---- 9. collect: at most 8 files, each under 16 MiB, 64 MiB in all
collect() {
  local stash="$work/collect"
  mkdir -p "$stash/logs"
  cp -r "$work/logs/." "$stash/logs/"
  [ -f "$work/stages.tsv" ] && cp "$work/stages.tsv" "$stash/"
  if [ -d "$work/train" ]; then
    mkdir -p "$stash/train"
    cp "$work/train/log.jsonl" "$work/train/config.json" "$stash/train/" 2>/dev/null
    # the last sample and reconstruction grids the trainer wrote
    for kind in samples recon; do
      last=$(ls "$work/train/samples/$kind-"*.png 2>/dev/null | tail -1)
      [ -n "$last" ] && cp "$last" "$stash/train/"
    done
  fi
  local ckpts=()
  for c in "$work"/checkpoint-*.safetensors; do [ -f "$c" ] && ckpts+=("$c"); done
  if [ -d "$work/jobs" ]; then
    cp -r "$work/jobs" "$stash/jobs"
    # each job's small outputs; checkpoints weights-only into checkpoints.tar
    (cd "$RUNS" && find . \( -name report.json -o -name report.html -o -name log.jsonl -o -name config.json -o -name '*.md' \) -size -8M -print0 |
      tar --null -cf "$stash/jobs/runs.tar" -T - 2>/dev/null)
    while IFS= read -r c; do
      name=$(echo "${c#"$RUNS"/}" | tr '/' '_')
      "$node" --import tsx scripts/export-checkpoint.ts "$c" "$work/jobckpt-$name" >/dev/null 2>&1 && ckpts+=("$work/jobckpt-$name")
    done < <(find "$RUNS" -name checkpoint.safetensors 2>/dev/null | sort)
  fi
  tar -C "$stash" -czf "$out/results.tar.gz" .
  [ -f "$work/samples.png" ] && cp "$work/samples.png" "$out/samples.png"
  # checkpoints while they fit: 64 MiB in all, summary and results first
  local budget=$((60 * 1024 * 1024 - $(du -cb "$out"/* | tail -1 | cut -f1)))
  mkdir -p "$work/ckpt"
  for c in "${ckpts[@]}"; do
    size=$(stat -c %s "$c")
    if [ "$size" -lt "$budget" ]; then
      cp "$c" "$work/ckpt/$(basename "$c")"
      budget=$((budget - size))
    else
      say "collect: $(basename "$c") ($((size / 1048576)) MiB) does not fit in what may come back; left out"
    fi
  done
  if [ -n "$(ls "$work/ckpt")" ]; then tar -C "$work/ckpt" -cf "$out/checkpoints.tar" .; fi
  # files over 15 MiB travel in parts: cat NAME.part* > NAME
  for f in "$out"/*; do
    if [ "$(stat -c %s "$f")" -gt $((15 * 1048576)) ]; then
      split -b 15M -d -a 1 "$f" "$f.part"
      rm "$f"
    fi
  done
  ls -la "$out"
  n=$(ls "$out" | wc -l)
  [ "$n" -le 7 ] || { echo "too many files to come back ($n); keep summary, samples, results"; ls "$out"/checkpoints.tar* 2>/dev/null | xargs -r rm; }
}
stage collect collect

[ -n "${smi_pid:-}" ] && kill "$smi_pid" 2>/dev/null
total=$(($(date +%s) - t_start))
{
  echo
  cat "$work/logs/engine.log" 2>/dev/null
  if [ -s "$work/logs/gpu-memory.csv" ]; then
    echo "GPU memory in use, peak over the whole check (nvidia-smi): $(cut -d, -f2 "$work/logs/gpu-memory.csv" | sort -n | tail -1) MiB"
  fi
  echo
  echo "stage times (s):"
  column -t -s $'\t' "$work/stages.tsv" 2>/dev/null || cat "$work/stages.tsv"
  if [ -f "$work/logs/bench.log" ]; then
    echo
    grep -A 12 'training-step benchmark' "$work/logs/bench.log"
  fi
  if [ -f "$work/logs/tests.log" ]; then
    echo
    grep -E '^# (tests|pass|fail|skipped)|^not ok' "$work/logs/tests.log"
  fi
} >>"$summary"
say "done in ${total}s: $failed stage(s) failed; files in $out (reassemble parts with cat NAME.part* > NAME)"
cp "$summary" "$out/summary.txt"
[ "$failed" = 0 ]
