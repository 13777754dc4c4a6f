// strata run beside podman (runc, cgroupfs, --network none) on the same
// image: the same capability sets, the same masked and read-only paths
// under /proc and /sys, /sys read-only, the same devpts options. podman's
// storage and config live in the test dir.
import t from 'tap'
import fs from 'node:fs'
import { execFileSync, spawnSync } from 'node:child_process'
import { containerFixture } from '../fixtures/container-image.js'

/** "path masked|ro" for each /proc and /sys mount of a mountinfo, plus /sys's and devpts' options. */
function isolationOf (mountinfo: string): string[] {
  const out: string[] = []
  for (const line of mountinfo.split('\n').filter(Boolean)) {
    const f = line.split(' ')
    const [root, mnt, opts] = [f[3], f[4], f[5]]
    const sep = f.indexOf('-')
    const fstype = f[sep + 1]
    const superOpts = f[sep + 3] ?? ''
    if (mnt === '/sys') out.push(`/sys ${opts.split(',')[0]}`)
    if (mnt === '/dev/pts') out.push(`/dev/pts ${superOpts.split(',').filter((o) => /^(gid|mode|ptmxmode)=/.test(o)).sort().join(',')}`)
    if (!/^\/(proc|sys)\//.test(mnt) || mnt.startsWith('/sys/fs/cgroup')) continue
    if (root === '/null' || (fstype === 'tmpfs' && opts.startsWith('ro'))) out.push(`${mnt} masked`)
    else if (opts.startsWith('ro')) out.push(`${mnt} ro`)
  }
  return out.sort()
}

const caps = (status: string) => status.split('\n').filter((l) => /^Cap(Inh|Prm|Eff|Bnd|Amb):/.test(l)).join('\n')

t.test('masked and read-only paths and capabilities match podman\'s', async (t) => {
  if (spawnSync('podman', ['--version']).status !== 0) { t.plan(0, 'podman is not installed (scripts/setup installs it)'); return }
  const { dir, ok } = containerFixture(t)
  fs.mkdirSync(`${dir}/podman`)
  fs.writeFileSync(`${dir}/podman/containers.conf`, '[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
  fs.writeFileSync(`${dir}/podman/storage.conf`, `[storage]\ndriver = "vfs"\nrunroot = "${dir}/podman/run"\ngraphroot = "${dir}/podman/graph"\n`)
  const env = { ...process.env, CONTAINERS_CONF: `${dir}/podman/containers.conf`, CONTAINERS_STORAGE_CONF: `${dir}/podman/storage.conf` }
  t.teardown(() => {
    spawnSync('podman', ['rm', '-af'], { env })
    spawnSync('podman', ['system', 'reset', '-f'], { env })
  })
  execFileSync('tar', ['-C', `${dir}/rootfs`, '-cf', `${dir}/podman/rootfs.tar`, '.'])
  execFileSync('podman', ['import', `${dir}/podman/rootfs.tar`, 'localhost/bb:1'], { env, stdio: 'ignore' })
  const cmd = ['sh', '-c', 'cat /proc/self/status; echo ====; cat /proc/self/mountinfo']
  const p = spawnSync('podman', ['run', '--rm', '--network', 'none', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096', 'localhost/bb:1', ...cmd], { env, encoding: 'utf8', timeout: 120000 })
  t.equal(p.status, 0, `podman runs (${p.stderr})`)
  const [pStatus, pMounts] = p.stdout.split('====\n')
  const [sStatus, sMounts] = ok('run', '--rm', 'bb:1', ...cmd).split('====\n')
  t.equal(caps(sStatus), caps(pStatus), 'the same capability sets')
  t.equal(/^Seccomp:\s*(\d)/m.exec(sStatus)?.[1], /^Seccomp:\s*(\d)/m.exec(pStatus)?.[1], 'both filter syscalls')
  // podman also hides /sys/dev/block, which docker (the reference here) does not.
  const podman = isolationOf(pMounts).filter((x) => !x.startsWith('/sys/dev/block '))
  t.same(isolationOf(sMounts), podman, 'the same masked and read-only paths, /sys read-only, devpts options')
  t.ok(podman.length >= 8, 'the comparison saw podman\'s paths')
})
