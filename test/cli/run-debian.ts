// A real Debian rootfs (debootstrap --variant=minbase, from Debian's mirror)
// imported as an image works inside `strata run`: dpkg -l, a shell script,
// and installing a local .deb, which writes through the union's upper layer.
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')

t.test('debian minbase inside strata run', { timeout: 900000 }, async (t) => {
  const dir = t.testdir({ hello: { DEBIAN: { control: 'Package: strata-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: strata <s@x>\nDescription: a test package\n' }, usr: { bin: { 'strata-hello': '#!/bin/sh\necho hello from a deb\n' } } } })
  const env = { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` }
  t.teardown(() => {
    for (const m of fs.readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m?.startsWith(dir))) spawnSync('umount', ['-l', m])
  })
  const boot = spawnSync('debootstrap', ['--variant=minbase', 'bookworm', `${dir}/rootfs`, 'http://deb.debian.org/debian'], { encoding: 'utf8' })
  t.equal(boot.status, 0, boot.status === 0 ? 'debootstrap made a rootfs' : `debootstrap failed: ${(boot.stderr || boot.stdout).trim().split('\n').slice(-3).join(' / ')}`)
  if (boot.status !== 0) return
  fs.chmodSync(`${dir}/hello/usr/bin/strata-hello`, 0o755)
  execFileSync('dpkg-deb', ['--build', `${dir}/hello`, `${dir}/rootfs/tmp/strata-hello.deb`], { stdio: 'ignore' })
  execFileSync(strata, ['image', 'import', `${dir}/rootfs`, 'debian:12', '-c', 'CMD ["/bin/bash"]'], { env })
  const r = spawnSync(strata, ['run', '--name', 'deb', 'debian:12', '/bin/sh', '-c',
    'set -e; n=$(dpkg -l | grep -c ^ii); echo "packages $n"; for i in 1 2 3; do echo "loop $i"; done; dpkg -i /tmp/strata-hello.deb > /dev/null; strata-hello; dpkg -s strata-hello | grep ^Status'], { env, encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr)
  const lines = r.stdout.trim().split('\n')
  t.ok(Number(lines[0].split(' ')[1]) > 50, `dpkg -l works (${lines[0]})`)
  t.same(lines.slice(1, 4), ['loop 1', 'loop 2', 'loop 3'], 'a shell script runs')
  t.equal(lines[4], 'hello from a deb', 'a local .deb installs and runs')
  t.equal(lines[5], 'Status: install ok installed')
  const diff = execFileSync(strata, ['diff', 'deb'], { env, encoding: 'utf8' })
  t.match(diff, /^A \/usr\/bin\/strata-hello$/m, 'the install went into the container layer')
  t.match(diff, /^C \/var\/lib\/dpkg\/status$/m)
})
