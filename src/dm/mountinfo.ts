import { readFileSync } from 'node:fs';

// One line of /proc/self/mountinfo, the fields the device layer needs.
export interface MountEntry {
  /** "major:minor" of the mounted device as the kernel reports it (btrfs reports an anonymous 0:N). */
  devId: string;
  mountPoint: string;
  fsType: string;
  source: string;
  options: string;
}

// mountinfo escapes space, tab, newline and backslash as \ooo octal.
function unescape(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

// Parses the text of /proc/self/mountinfo (format: proc(5)); lines that do not fit are skipped.
export function parseMountInfo(text: string): MountEntry[] {
  const entries: MountEntry[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 6 || fields.length < sep + 3) continue;
    entries.push({
      devId: fields[2] ?? '',
      mountPoint: unescape(fields[4] ?? ''),
      options: fields[5] ?? '',
      fsType: fields[sep + 1] ?? '',
      source: unescape(fields[sep + 2] ?? ''),
    });
  }
  return entries;
}

// The current mount table of this process's mount namespace.
export function readMountTable(): MountEntry[] {
  return parseMountInfo(readFileSync('/proc/self/mountinfo', 'utf8'));
}
