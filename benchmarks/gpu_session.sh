#!/usr/bin/env bash
# The GPU figures, as one prepared command per call of the lent machine (a call runs at most 10
# minutes, a session has 15 minutes of device time in all, the machine's start included).
#
#   ../shared/device/prepare.sh                                   # once, here: fills .device/
#   device run, carry [".device"], timeout_s 600:
#     source .device/activate.sh && bash benchmarks/gpu_session.sh proof
#
# Stages, most needed first:
#   proof   tests/test_gpu.py, bench_train.py, then the 50-trial search (bench_search.py), its new
#           trials stopped in time for the best to be evaluated with 3 seeds
#   pareto  the Pareto search of the wide space, likewise
#   workers bench_workers.py: 16 candidates with 1, 2, 4 and 8 worker processes
# Each step has a time limit and appends to $OUT/log as it goes; on exit, whatever the records
# and reference results hold is packed into $OUT/results.tgz, so a call cut short still brings
# back what it measured. Unpack it here with `tar xzf results.tgz` at the project's root.
set -uo pipefail
stage=${1:-proof}
budget=${BUDGET:-550}  # seconds for the whole stage, inside the call's 600
out=${OUT:-/tmp/nas-gpu-session}
mkdir -p "$out" results
export PYTHONUNBUFFERED=1
log=$out/log

left() { echo $((budget - SECONDS)); }

step() {  # step LIMIT_SECONDS COMMAND...: run it, logged, stopped with Ctrl-C at its limit
  local limit=$1 start=$SECONDS
  shift
  echo "== $(date -u +%FT%TZ) $* (limit ${limit} s)" | tee -a "$log"
  timeout --signal=INT --kill-after=30 "$limit" "$@" 2>&1 | tee -a "$log"
  echo "== exit ${PIPESTATUS[0]} after $((SECONDS - start)) s" | tee -a "$log"
}

pack() {
  tar czf "$out/results.tgz" --ignore-failed-read benchmarks/results results/reference results/bench.db \
    2>/dev/null
  echo "== packed $(tar tzf "$out/results.tgz" | wc -l) entries into results.tgz after ${SECONDS} s" | tee -a "$log"
}
trap pack EXIT

{ nvidia-smi -L; python -c "import sys, torch; print(sys.version.split()[0], torch.__version__)"; } 2>&1 | tee -a "$log"
case $stage in
  proof)
    step 150 python -m pytest -p no:cacheprovider -n 0 tests/test_gpu.py
    step 150 python benchmarks/bench_train.py
    # 3 seeds of 20 epochs on 60,000 images, the export and the plots: about a minute
    # --pruner median: the defaults of `nas search --trials 50` (issue 11)
    step "$(left)" python benchmarks/bench_search.py --trials 50 --pruner median --timeout "$(($(left) - 90))" ;;
  pareto)
    # 3 budgets' best, 3 seeds each: about 2 minutes
    step "$(left)" python benchmarks/bench_search.py --objective pareto --space wide --trials 50 \
      --timeout "$(($(left) - 150))" ;;
  workers)
    step "$(left)" python benchmarks/bench_workers.py --trials 16 --workers 2 4 8 ;;
  *)
    echo "unknown stage $stage: use proof, pareto or workers" >&2
    exit 2 ;;
esac
