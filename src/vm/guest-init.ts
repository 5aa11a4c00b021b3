// The guest side of the microVM, as text: the initramfs's /init (busybox sh) and, per run, the
// job files the host writes into the shared job directory. Pure functions, so the exact shell
// that runs inside is reviewable and unit-tested.

/** The 9p tag of the per-run job directory (cmd.sh, guest.conf). */
export const JOB_TAG = 'pcjob';
/** The 9p tag of the host's root, shared read-only. */
export const ROOT_TAG = 'hostroot';
/** Where the job directory appears inside the guest's chroot. */
export const GUEST_JOB_DIR = '/run/powercut-job';
/** Printed on the console right before the command runs, and after it with its exit status. */
export const BEGIN_MARK = '@@powercut-begin@@';
export const END_MARK = '@@powercut-end@@';

// Bigger 9p messages cut round trips, which dominate under TCG (node_modules is many small files).
const P9 = 'trans=virtio,version=9p2000.L,msize=262144';

// /init: load modules, mount the host's / read-only over 9p with a tmpfs overlay on top, mount the
// read-write shares at their host paths, chroot, run the job, print its status, power off.
// Nothing here may exit: PID 1 exiting is a kernel panic, which would hide the real error.
export function initScript(kernelRelease: string): string {
  return `#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
exec </dev/null >/dev/console 2>&1
# The serial line would turn every \\n into \\r\\n; the host wants the command's bytes as they are.
stty -onlcr 2>/dev/null
die() { echo "powercut-init: $*"; echo "${END_MARK} 125"; poweroff -f; sleep 60; }
while read -r m; do
  insmod "/lib/modules/${kernelRelease}/$m" || echo "powercut-init: insmod $m failed"
done < /modules.list
mkdir -p /job /lower /rw /newroot
mount -t 9p -o ${P9} ${JOB_TAG} /job || die "cannot mount the job share"
. /job/guest.conf
# cache=loose: the host's root is read-only for the guest and does not change under a test run,
# so the guest may cache it; this is most of the boot-to-command time under TCG.
mount -t 9p -o ${P9},ro,cache=loose ${ROOT_TAG} /lower || die "cannot mount the host root over 9p"
mount -t tmpfs -o mode=0755 tmpfs /rw
mkdir -p /rw/upper /rw/work
mount -t overlay overlay -o lowerdir=/lower,upperdir=/rw/upper,workdir=/rw/work /newroot || die "cannot mount the overlay"
mount -t proc proc /newroot/proc
mount -t sysfs sysfs /newroot/sys
mount -t devtmpfs devtmpfs /newroot/dev
# blktrace talks to the kernel through debugfs (block/<dev>/trace*) and refuses to start without
# it ("Debugfs is not mounted"); tracefs beside it for ftrace. The kernel has both built in.
mount -t debugfs debugfs /newroot/sys/kernel/debug || echo "powercut-init: cannot mount debugfs"
mount -t tracefs tracefs /newroot/sys/kernel/tracing 2>/dev/null
mkdir -p /newroot/dev/pts /newroot/dev/shm
mount -t devpts devpts /newroot/dev/pts
mount -t tmpfs tmpfs /newroot/dev/shm
mount -t tmpfs -o mode=1777 tmpfs /newroot/tmp
mount -t tmpfs -o mode=0755 tmpfs /newroot/run
mkdir -p ${GUEST_JOB_DIR}
mkdir -p /newroot${GUEST_JOB_DIR} /newroot/lib/modules/${kernelRelease}
mount --bind /job /newroot${GUEST_JOB_DIR}
# modprobe inside the chroot (any dm target, any filesystem) finds the cached kernel's modules.
# From /lower, not /newroot: a cache under /tmp would be hidden by the guest's tmpfs there.
[ -n "$KMODDIR" ] && mount --bind "/lower$KMODDIR" /newroot/lib/modules/${kernelRelease}
i=0
for path in $SHARES; do
  # The share may live under a path the guest covers with a tmpfs (a checkout under /tmp): make
  # its mount point in the new root first.
  mkdir -p "/newroot$path"
  mount -t 9p -o ${P9},cache=loose "share$i" "/newroot$path" || die "cannot mount share $path"
  i=$((i + 1))
done
hostname powercut-vm
ip link set lo up 2>/dev/null
echo "${BEGIN_MARK} $(cut -d' ' -f1 /proc/uptime)"
chroot /newroot /bin/sh ${GUEST_JOB_DIR}/cmd.sh
status=$?
sync
echo "${END_MARK} $status"
poweroff -f
sleep 60
`;
}

// Single-quotes a word for POSIX sh.
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface GuestJob {
  argv: readonly string[];
  cwd: string;
  env: Readonly<Record<string, string>>;
}

// cmd.sh: the environment, the working directory and the command, run by the chroot's /bin/sh.
export function jobScript(job: GuestJob): string {
  if (job.argv.length === 0) throw new Error('no command');
  const lines = ['set -e'];
  for (const [k, v] of Object.entries(job.env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`environment name ${JSON.stringify(k)} is not valid`);
    lines.push(`export ${k}=${shellQuote(v)}`);
  }
  // The console is a tty; piping through cat makes the command see a pipe, as under CI or run(),
  // so progress bars and screen redraws do not garble the captured output. dash has no pipefail:
  // the status travels through a file.
  lines.push(
    `cd ${shellQuote(job.cwd)}`,
    'set +e',
    `{ ${job.argv.map(shellQuote).join(' ')}; echo $? > /run/powercut-status; } 2>&1 </dev/null | cat`,
    'exit "$(cat /run/powercut-status)"',
  );
  return lines.join('\n') + '\n';
}

// guest.conf: sourced by /init (paths of the read-write shares, in tag order share0, share1, ...).
export function guestConf(shares: readonly string[], kernelModulesDir: string): string {
  for (const s of [...shares, kernelModulesDir]) {
    if (!/^\/[A-Za-z0-9_@%+=:./-]*$/.test(s)) throw new Error(`path ${JSON.stringify(s)}: only plain absolute paths can be shared into the VM`);
  }
  return `SHARES=${shellQuote(shares.join(' '))}\nKMODDIR=${shellQuote(kernelModulesDir)}\n`;
}
