// The /proc readers behind the bench's steal and CPU columns: the parsers on
// fixed texts (a command name with spaces and parentheses; a cpu line with
// and without guest fields), and the live readers on this process and a
// child that burns CPU, whose clock must move while an idle one does not.
import t from 'tap'
import { spawnSync } from 'node:child_process'
import { childrenCpuSeconds, hostTicks, parseHostTicks, parseProcessTicks, processCpuSeconds, stealShare } from '../../src/bench/cpu-clock.js'

t.test('parseHostTicks sums the cpu line up to steal', async (t) => {
  const stat = 'cpu  100 5 50 800 10 1 4 30 20 0\ncpu0 50 2 25 400 5 0 2 15 10 0\nintr 1 2 3\n'
  t.same(parseHostTicks(stat), { steal: 30, total: 1000 }, 'guest time is not counted twice')
  t.same(parseHostTicks('cpu  1 2 3 4 5 6 7 8\n'), { steal: 8, total: 36 })
  t.throws(() => parseHostTicks('cpu0 1 2 3 4 5 6 7 8\n'), /no "cpu" line/)
  t.throws(() => parseHostTicks('cpu  1 2 3\n'), /cannot read/)
  t.equal(stealShare({ steal: 30, total: 1000 }, { steal: 80, total: 1500 }), 0.1)
  t.equal(stealShare({ steal: 30, total: 1000 }, { steal: 30, total: 1000 }), 0, 'no tick passed: no steal')
})

t.test('parseProcessTicks counts fields from the last parenthesis', async (t) => {
  // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime ...
  const stat = '42 (a) (b c)) S 1 42 42 0 -1 4194560 10 20 0 0 7 3 11 13 20 0 1 0 100\n'
  t.equal(parseProcessTicks(stat, true), 10, 'utime + stime')
  t.equal(parseProcessTicks(stat, false), 24, 'cutime + cstime')
  t.throws(() => parseProcessTicks('garbage', true), /not a \/proc\/PID\/stat/)
})

t.test('the live clocks move with CPU spent, and a gone process reads 0', async (t) => {
  const h0 = await hostTicks()
  const c0 = await childrenCpuSeconds()
  const busy = spawnSync(process.execPath, ['-e', 'const e = Date.now() + 400; while (Date.now() < e);'])
  t.equal(busy.status, 0)
  const c1 = await childrenCpuSeconds()
  t.ok(c1 - c0 >= 0.2, `a child's 0.4 s of CPU shows in ours: ${(c1 - c0).toFixed(2)} s`)
  const h1 = await hostTicks()
  t.ok(h1.total > h0.total, 'host ticks advance')
  const share = stealShare(h0, h1)
  t.ok(share >= 0 && share < 1, `steal share is a fraction: ${share}`)
  const own = await processCpuSeconds(process.pid)
  t.ok(own > 0, 'this process has used CPU')
  t.equal(await processCpuSeconds(0x3fffffff), 0, 'no such process: 0')
})
