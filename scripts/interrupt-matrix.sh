#!/usr/bin/env bash
# Interrupts real runs at random moments and records what each left behind, before and after the
# next command ran (every command reaps the ledgers of killed runs first). Not part of CI: it
# boots the microVM and takes minutes. Run as root from the project root:
#   bash scripts/interrupt-matrix.sh [ROUNDS] [COMMANDS]    (default 2 rounds of crashtest,fuzz,bench)
# Each round sends SIGINT to the process group (Ctrl-C), SIGTERM to the top pnpm process only (a
# supervisor), and SIGKILL to the harness process, to each command, after a random delay.
# Prints one tab-separated line per interruption.
set -uo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}
IFS=, read -r -a commands <<<"${2:-crashtest,fuzz,bench}"
root=$PWD
log=.cache/interrupt-matrix
mkdir -p "$log"
synthetic=$log/next.log
# The "next command": the cheapest one that reaps (replay lists a tiny log).
node --import tsx -e "import('./test/fixtures/log-writes/synthetic-log.ts').then(m => require('node:fs').writeFileSync('$synthetic', new m.SyntheticLog().fill(2, 2, 7).flush().toBuffer()))"

argv_of() {
  case $1 in
    crashtest) echo "pnpm crashtest --strategy fdatasync --trials 2" ;;
    fuzz) echo "pnpm fuzz --check test/fixtures/recordings" ;;
    bench) echo "pnpm bench --duration 1 --strategy fdatasync --peers none --no-charts --out $log/bench-out" ;;
  esac
}
max_delay() { case $1 in crashtest) echo 50 ;; fuzz) echo 20 ;; bench) echo 8 ;; esac; }

# What a run left: of the resources its ledger ever listed (copied while it ran), those still
# present; plus dist bundles and /dev/shm files of this run that no ledger named.
ledgers=$log/ledgers
export POWERCUT_LEDGER_DIR=$ledgers
snapshot() {
  local own dist
  own=$(node --import tsx scripts/interrupt-leftovers.ts "$log/seen")
  dist=$(find dist -maxdepth 1 \( -name 'crashtest-*' -o -name 'record-*' \) -newer "$log/start" 2>/dev/null | wc -l)
  echo "$own; dist=$dist"
}

printf 'command\tsignal\tafter_s\texit\tleft_behind\tafter_next_command\n'
for ((r = 0; r < rounds; r++)); do
  for cmd in "${commands[@]}"; do
    for sig in INT TERM-top KILL; do
      touch "$log/start"
      delay=$((RANDOM % $(max_delay "$cmd") + 1))
      # Its own process group, like a terminal job or a supervised service.
      setsid bash -c "exec $(argv_of "$cmd")" >"$log/$cmd-$sig-$r.out" 2>&1 &
      top=$!
      rm -rf "$log/seen"; mkdir -p "$log/seen"
      for ((i = 0; i < delay * 5; i++)); do cp "$ledgers"/*.json "$log/seen/" 2>/dev/null; sleep 0.2; done
      case $sig in
        INT) kill -INT -- "-$top" 2>/dev/null ;;
        TERM-top) kill -TERM "$top" 2>/dev/null ;;
        # The harness itself (the tsx child running src/cli), as the OOM killer would; looked up in
        # this run's own process group only (other work on the machine runs the same commands).
        KILL) victim=$(pgrep -g "$top" -f "preflight.cjs.*src/cli/$cmd.ts" | head -1); [ -n "$victim" ] && kill -KILL "$victim" ;;
      esac
      # Wait for the whole group to be gone (a harness unwinding takes seconds), at most 60 s.
      for ((i = 0; i < 600; i++)); do pgrep -g "$top" >/dev/null || break; sleep 0.1; done
      wait "$top" 2>/dev/null
      status=$?
      sleep 1
      cp "$ledgers"/*.json "$log/seen/" 2>/dev/null
      left=$(snapshot)
      node --import tsx src/cli/replay.ts --log "$synthetic" --list >/dev/null 2>>"$log/next.err"
      after=$(snapshot)
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$cmd" "$sig" "$delay" "$status" "$left" "$after"
      # Anything still running of this group is a finding; do not let it disturb the next run.
      pkill -KILL -g "$top" 2>/dev/null
    done
  done
done
