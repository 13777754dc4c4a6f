// Regressions of issue 12: "-" means stdin for image import, build and load
// (yargs-parser used to hand the command ''), a container mounted once is not
// mounted a second time (two daemons on one upper disagree), and container
// ls takes docker's --format (templates, json with docker's keys).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { execFileSync, spawnSync } from 'node:child_process'

const strata = path.resolve(import.meta.dirname, '..', '..', 'bin', 'strata')

t.test('stdin as "-", and a container mounted only once', async (t) => {
  const dir = t.testdir({ rootfs: { bin: {}, etc: { motd: 'hello\n' } }, m1: {}, m2: {} })
  fs.copyFileSync('/bin/busybox', `${dir}/rootfs/bin/busybox`)
  fs.chmodSync(`${dir}/rootfs/bin/busybox`, 0o755)
  execFileSync('tar', ['-C', `${dir}/rootfs`, '-cf', `${dir}/rootfs.tar`, '.'])
  const env = { ...process.env, STRATA_ROOT: `${dir}/store`, STRATA_RUN_DIR: `${dir}/run` }
  const run = (args: string[], input?: Buffer) => spawnSync(strata, args, { env, input, encoding: 'utf8', timeout: 60000 })
  t.teardown(() => {
    for (const m of ['m1', 'm2']) {
      if (fs.readFileSync('/proc/mounts', 'utf8').includes(` ${dir}/${m} `)) {
        if (run(['umount', `${dir}/${m}`]).status !== 0) spawnSync('umount', ['-l', `${dir}/${m}`])
      }
    }
  })

  const imp = run(['image', 'import', '-', 'bb:1'], fs.readFileSync(`${dir}/rootfs.tar`))
  t.equal(imp.status, 0, `import - reads stdin (${imp.stderr.trim()})`)
  t.match(imp.stdout, /^sha256:[0-9a-f]{64}\n$/)
  t.equal(run(['image', 'save', '-o', `${dir}/bb.tar`, 'bb:1']).status, 0)
  t.equal(run(['image', 'rm', 'bb:1']).status, 0)
  const load = run(['image', 'load', '-i', '-'], fs.readFileSync(`${dir}/bb.tar`))
  t.equal(load.status, 0, `load -i - reads stdin (${load.stderr.trim()})`)
  t.match(load.stdout, /Loaded image: bb:1/)

  t.equal(run(['container', 'create', '--name', 'dbl', 'bb:1']).status, 0)
  const first = run(['mount', 'dbl', `${dir}/m1`])
  t.equal(first.status, 0, `first mount (${first.stderr.trim()})`)
  const second = run(['mount', 'dbl', `${dir}/m2`])
  t.equal(second.status, 1, 'the second mount of the same container is refused')
  t.match(second.stderr, new RegExp(`EBUSY: dbl is already mounted at ${dir}/m1`))
  t.notOk(fs.readFileSync('/proc/mounts', 'utf8').includes(` ${dir}/m2 `), 'nothing mounted at the second mountpoint')
  t.equal(run(['umount', `${dir}/m1`]).status, 0)
  const again = run(['mount', 'dbl', `${dir}/m2`])
  t.equal(again.status, 0, `once unmounted it mounts elsewhere (${again.stderr.trim()})`)
  t.equal(fs.readFileSync(`${dir}/m2/etc/motd`, 'utf8'), 'hello\n')
  t.equal(run(['umount', `${dir}/m2`]).status, 0)

  const ps = run(['ps', '-a'])
  t.match(ps.stdout, /^CONTAINER ID {3}IMAGE {3,}COMMAND {3,}CREATED {3,}STATUS {3,}PORTS {3,}NAMES\n[0-9a-f]{12} {3}bb:1 {3,}"" {3,}.* ago {3,}Created {3,}dbl\n$/, 'docker\'s columns')
  t.match(run(['ps', '-a', '--format', '{{.Names}}: {{.Status}} ({{.State}})']).stdout, /^dbl: Created \(created\)\n$/)
  t.match(run(['ps', '-a', '--format', 'table {{.Names}}\t{{.Image}}']).stdout, /^NAMES {3,}IMAGE\ndbl {3,}bb:1\n$/, 'table TEMPLATE has headers')
  const json = JSON.parse(run(['ps', '-a', '--format', 'json']).stdout) as Record<string, string>
  t.same(Object.keys(json).sort(), ['Command', 'CreatedAt', 'ID', 'Image', 'Labels', 'Mounts', 'Names', 'Networks', 'Ports', 'RunningFor', 'Size', 'State', 'Status'], 'docker\'s keys')
  t.equal(json.Names, 'dbl')
  t.match(json.CreatedAt, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0000 UTC$/)
  t.equal(run(['ps', '--format', 'json']).stdout, '', 'without -a, no running container: nothing')
  const bad = run(['ps', '--format', '{{.Names'])
  t.equal(bad.status, 1)
  t.match(bad.stderr, /template parsing error/)
})
