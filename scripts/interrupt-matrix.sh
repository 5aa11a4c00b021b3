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

# What a run of this project can leave: its processes (by the worktree path), loop devices over
# powercut files, mounts of powercut directories, powercut files in /dev/shm, bundles in dist/,
# postgres servers of ours, and ledgers of dead runs.
snapshot() {
  local procs loops mounts shm dist pg ledgers
  # qemu's command line names the project too (it is shared into the guest).
  procs=$(pgrep -f "$root" | wc -l)
  loops=$(losetup -a | grep -c "$root\|powercut" || true)
  mounts=$(grep -c "powercut" /proc/self/mountinfo || true)
  shm=$(find /dev/shm -maxdepth 1 -name 'powercut-*' -newer "$log/start" 2>/dev/null | wc -l)
  dist=$(find dist -maxdepth 1 \( -name 'crashtest-*' -o -name 'record-*' \) -newer "$log/start" 2>/dev/null | wc -l)
  pg=$(pgrep -f "postgres -D $root" | wc -l)
  ledgers=$(ls /run/powercut/stacks 2>/dev/null | while read -r f; do pid=${f%%-*}; [ -d /proc/"$pid" ] || echo "$f"; done | wc -l)
  echo "procs=$procs loops=$loops mounts=$mounts shm=$shm dist=$dist pg=$pg dead-ledgers=$ledgers"
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
      sleep "$delay"
      case $sig in
        INT) kill -INT -- "-$top" 2>/dev/null ;;
        TERM-top) kill -TERM "$top" 2>/dev/null ;;
        # The harness itself (the tsx child running src/cli), as the OOM killer would.
        KILL) kill -KILL "$(pgrep -f "preflight.cjs.*src/cli/$cmd.ts" | head -1)" 2>/dev/null ;;
      esac
      # Wait for the whole group to be gone (a harness unwinding takes seconds), at most 60 s.
      for ((i = 0; i < 600; i++)); do pgrep -g "$top" >/dev/null || break; sleep 0.1; done
      wait "$top" 2>/dev/null
      status=$?
      sleep 1
      left=$(snapshot)
      node --import tsx src/cli/replay.ts --log "$synthetic" --list >/dev/null 2>>"$log/next.err"
      after=$(snapshot)
      printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$cmd" "$sig" "$delay" "$status" "$left" "$after"
      # Anything still running of this group is a finding; do not let it disturb the next run.
      pkill -KILL -g "$top" 2>/dev/null
    done
  done
done
