// The daemon finder and the VmHWM parser, on real processes: a child that
// holds /dev/fuse open with a made-up mount point in its argv is found; one
// without /dev/fuse, or naming another path, is not.
import t from 'tap'
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import { daemonPids, parseVmHwm, peakRssMiB } from '../../src/bench/daemon-peak-rss.js'

t.test('parseVmHwm reads kB as MiB', async (t) => {
  t.equal(parseVmHwm('Name:\tx\nVmPeak:\t  9000 kB\nVmHWM:\t   30720 kB\nVmRSS:\t 100 kB\n'), 30)
  t.throws(() => parseVmHwm('Name:\tx\n'), /VmHWM/)
})

t.test('daemonPids finds the process serving a mount point by argv and /dev/fuse', async (t) => {
  const mnt = `/nonexistent/strata-bench-test-${process.pid}`
  // An idle node with /dev/fuse as its fd 3 and the mount point in argv, like a daemon.
  const fuse = fs.openSync('/dev/fuse', 'r+')
  const start = (withFuse: boolean, arg: string) => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)', arg], { stdio: ['ignore', 'ignore', 'ignore', withFuse ? fuse : 'ignore'] })
    t.teardown(() => { child.kill('SIGKILL') })
    return child
  }
  const served = start(true, mnt)
  start(false, mnt)
  start(true, mnt + '-other')
  fs.closeSync(fuse)
  // The children are ours at once, but give them time to be visible in /proc.
  for (let i = 0; i < 50 && !(await daemonPids(mnt)).length; i++) await new Promise((r) => setTimeout(r, 50))
  t.same(await daemonPids(mnt), [served.pid])
  t.ok((await peakRssMiB(served.pid === undefined ? [] : [served.pid])) > 0, 'a live process has a peak RSS')
})
