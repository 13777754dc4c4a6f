// FUSE request counting from the kernel's tracepoint, on a real
// fuse-overlayfs mount (a peer, so this test does not depend on strata's
// daemon): reading files through the mount counts OPEN and READ for that
// connection; requests to another FUSE mount are not counted.
import t from 'tap'
import { execFileSync } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { countOpcodes, RequestCounter, requestCountingUnavailable } from '../../src/bench/request-counter.js'
import { fuseConnection, isMounted } from '../../src/bench/mount-system.js'
import { topOpcodes } from '../../src/bench/format-table.js'

t.test('countOpcodes reads trace lines', async (t) => {
  const lines = [
    '   cat-1234 [001] ..... 5.1: fuse_request_send: connection 52 req 8 opcode 1 (FUSE_LOOKUP) len 45',
    '   cat-1234 [001] ..... 5.2: fuse_request_send: connection 52 req 10 opcode 15 (FUSE_READ) len 80',
    '   cat-1234 [001] ..... 5.3: fuse_request_send: connection 52 req 12 opcode 1 (FUSE_LOOKUP) len 45',
    'garbage',
  ]
  t.same(countOpcodes(lines), { LOOKUP: 2, READ: 1 })
  t.equal(topOpcodes({ READ: 1, LOOKUP: 2, OPEN: 1 }, 2), 'LOOKUP 2, OPEN 1')
  t.equal(topOpcodes(undefined), '-')
})

t.test('counts one connection\'s requests, not another\'s', { skip: requestCountingUnavailable() }, async (t) => {
  // Not t.testdir: its removal would run before the unmounts registered after it.
  const dir = fs.mkdtempSync('/tmp/strata-request-counter-')
  const mounted: string[] = []
  t.teardown(async () => {
    for (const mnt of mounted) if (await isMounted(mnt)) execFileSync('fusermount3', ['-u', mnt])
    fs.rmSync(dir, { recursive: true, force: true })
  })
  fs.mkdirSync(path.join(dir, 'l'))
  for (const [f, text] of [['a', 'alpha\n'], ['b', 'beta\n'], ['c', 'gamma\n']]) fs.writeFileSync(path.join(dir, 'l', f), text)
  const mount = (u: string, w: string, m: string): string => {
    const mnt = path.join(dir, m)
    for (const d of [u, w, m]) fs.mkdirSync(path.join(dir, d))
    execFileSync('fuse-overlayfs', ['-o', `lowerdir=${path.join(dir, 'l')},upperdir=${path.join(dir, u)},workdir=${path.join(dir, w)}`, mnt], { stdio: 'ignore' })
    mounted.push(mnt)
    return mnt
  }
  const mnt = mount('u', 'w', 'm')
  const other = mount('u2', 'w2', 'm2')
  const conn = await fuseConnection(mnt)
  if (conn === undefined) throw new Error(`${mnt}: not a FUSE mount`)
  const counter = await RequestCounter.start(conn)
  // Children do the reads: fuse-overlayfs serves them, not this process, but
  // a child keeps the rule simple.
  execFileSync('cat', [path.join(mnt, 'a'), path.join(mnt, 'b'), path.join(mnt, 'c')])
  execFileSync('cat', [path.join(other, 'a'), path.join(other, 'b')])
  const counts: Partial<Record<string, number>> = await counter.stop()
  t.ok((counts.OPEN ?? 0) >= 3, `3 opens counted: ${JSON.stringify(counts)}`)
  t.ok((counts.READ ?? 0) >= 3, 'reads counted')
  t.ok((counts.OPEN ?? 0) < 5, 'the other mount\'s opens are not')
  t.notOk(fs.readdirSync('/sys/kernel/tracing/instances').some((n) => n === `strata-bench-${process.pid}`), 'trace instance removed')
})
