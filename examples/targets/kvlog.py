#!/usr/bin/env python3
"""A tiny append-only key-value log crash-tested through powercut's target protocol.
  run [--ack-before-sync]   append records to $POWERCUT_DATA/kv.log; one 'KEY DIGEST' line on fd 3 per ack
  check                     print 'KEY DIGEST' per surviving record; exit 1 if the log is damaged
--ack-before-sync is the planted bug: it acknowledges each record at once but syncs every 64th only."""
import hashlib, os, sys, zlib

LOG = os.path.join(os.environ['POWERCUT_DATA'], 'kv.log')
digest = lambda value: hashlib.sha256(value).hexdigest()[:16]

def run(ack_before_sync):
    acks = os.fdopen(3, 'w', buffering=1)
    marked = os.fdopen(int(os.environ['POWERCUT_MARKED_FD'])) if 'POWERCUT_MARKED_FD' in os.environ else None
    fd = os.open(LOG, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.fsync(fd)
    os.fsync(os.open(os.environ['POWERCUT_DATA'], os.O_RDONLY))  # the new file's name is durable too
    for i in range(10**9):
        key, value = f'k{i}', os.urandom(100 + i % 900)
        record = f'{key} {value.hex()}'.encode()
        os.write(fd, b'%08x %s\n' % (zlib.crc32(record), record))
        if not ack_before_sync or i % 64 == 63:
            os.fsync(fd)
        acks.write(f'{key} {digest(value)}\n')  # the acknowledgement: after the fsync (unless the bug)
        marked and marked.readline()  # log-writes mode: go on once the harness marked it in the device log

def check():
    lines = open(LOG, 'rb').read().split(b'\n') if os.path.exists(LOG) else []
    good = []
    for n, line in enumerate(lines[:-1]):  # after the last newline: a torn, unacknowledged tail
        crc, _, record = line.partition(b' ')
        if crc and record and int(crc, 16) == zlib.crc32(record):
            good.append(record.decode().split(' '))
        elif any(lines[n + 1 : -1]):  # a bad record before good ones: damage, not a torn tail
            sys.exit(print(f'kv.log: record {n} is damaged', file=sys.stderr) or 1)
        else:
            break
    for key, value in good:
        print(key, digest(bytes.fromhex(value)))

run('--ack-before-sync' in sys.argv) if sys.argv[1:2] == ['run'] else check()
