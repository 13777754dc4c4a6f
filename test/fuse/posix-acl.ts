// POSIX ACLs through a real strata mount, checked against kernel overlayfs
// doing the same on the same lowers. The session negotiates FUSE's POSIX ACL
// mode (the kernel checks ACLs and caches them per inode, so `ls -l` does not
// ask the daemon for system.posix_acl_access per entry): these guard that
// the kernel's checks and caches agree with the overlay's answers — an ACL
// in a lower grants access, one set through the mount takes effect at once,
// chmod moves the mask, and a default ACL is inherited by new entries.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { strataUnion, writeTree, type Tree, type Union } from '../fixtures/strata-union.js'
import { mountedType, strataBin } from '../fixtures/mount-overlay.js'

const run = (cmd: string, as?: number): { ok: boolean, out: string } => {
  const args = as === undefined ? ['sh', '-c', cmd] : ['setpriv', '--reuid', String(as), '--regid', String(as), '--clear-groups', 'sh', '-c', cmd]
  const r = spawnSync(args[0], args.slice(1), { encoding: 'utf8' })
  return { ok: r.status === 0, out: r.stdout + r.stderr.replace(/^.*: /gm, '') }
}
const sh = (cmd: string): string => {
  const r = run(cmd)
  if (!r.ok) throw new Error(`${cmd}: ${r.out}`)
  return r.out
}

const ALLOWED = 65533
const OTHER = 65531
const tree: Tree = { secret: 'lower secret\n', d: { f: 'f\n' } }
const prepare = (lowers: string[]): void => {
  // root-owned, no access for others; the ACL alone lets ALLOWED read.
  sh(`chmod 0640 ${lowers[0]}/secret && setfacl -m u:${ALLOWED}:r ${lowers[0]}/secret`)
  sh(`chmod 0777 ${lowers[0]}/d`)
}

async function both (t: Test): Promise<Record<'kernel' | 'strata', Union>> {
  return { kernel: await strataUnion(t, [tree], prepare, 'kernel'), strata: await strataUnion(t, [tree], prepare, 'strata') }
}

/** What each of `steps` shows on one mount: access by the users, getfacl, ls -l's mode column. */
function observe (mnt: string, steps: Array<{ cmd: string, as?: number }>): string[] {
  return steps.map(({ cmd, as }) => {
    const r = run(`cd ${mnt} && ${cmd}`, as)
    return `${as ?? 0}$ ${cmd} -> ${r.ok ? 'ok' : 'fails'}: ${r.out.trim()}`
  })
}

if (process.getuid?.() !== 0) {
  t.plan(0, 'needs root: kernel overlay mounts and setpriv to other users')
} else if (spawnSync('setfacl', ['--version']).status !== 0) {
  t.fail('setfacl is missing: scripts/setup installs the acl package')
} else {
  t.test('ACLs from a lower and set through the mount: access, getfacl, ls -l, as kernel overlayfs', async (t) => {
    const u = await both(t)
    const steps = [
      // The lower's ACL decides, before and after a cached check.
      { cmd: 'cat secret', as: ALLOWED }, { cmd: 'cat secret', as: OTHER }, { cmd: 'cat secret', as: ALLOWED },
      { cmd: 'getfacl -n secret' }, { cmd: 'ls -l secret | cut -c1-11' },
      // Set through the mount (a copy-up): OTHER gains access at once.
      { cmd: `setfacl -m u:${OTHER}:r secret` }, { cmd: 'cat secret', as: OTHER }, { cmd: 'getfacl -n secret' },
      // chmod moves the mask: both named users lose read.
      { cmd: 'chmod 0600 secret' }, { cmd: 'cat secret', as: ALLOWED }, { cmd: 'getfacl -n secret' },
      // Removing the ACL: ls -l drops its '+', the owner-only mode decides.
      { cmd: 'setfacl -b secret' }, { cmd: 'cat secret', as: OTHER }, { cmd: 'ls -l secret | cut -c1-11' },
      { cmd: 'getfattr -d -m system.posix_acl secret' },
    ]
    const got = observe(u.strata.mnt, steps)
    t.same(got, observe(u.kernel.mnt, steps), 'every step agrees')
    // The oracle must show the ACLs at work, or agreement proves nothing.
    t.match(got[0], /-> ok: lower secret/, 'the lower ACL grants read')
    t.match(got[1], /-> fails/, 'and only to the named user')
    t.match(got[6], /-> ok: lower secret/, 'an ACL set through the mount takes effect at once')
    t.match(got[9], /-> fails/, 'chmod 0600 masks the named users out')
    t.match(got[12], /-> fails/, 'setfacl -b leaves the owner-only mode')
  })

  t.test('a default ACL set through the mount is inherited by new entries, as kernel overlayfs', async (t) => {
    const u = await both(t)
    const steps = [
      { cmd: `setfacl -d -m u:${ALLOWED}:rwx,g::-,o::- d` },
      { cmd: 'umask 077 && echo new > d/new && mkdir d/sub' },
      { cmd: 'getfacl -n d/new' }, { cmd: 'getfacl -n d/sub' },
      { cmd: 'cat d/new', as: ALLOWED }, { cmd: 'cat d/new', as: OTHER },
      { cmd: 'stat -c %a d/new d/sub' },
    ]
    const got = observe(u.strata.mnt, steps)
    t.same(got, observe(u.kernel.mnt, steps), 'every step agrees')
    t.match(got[2], new RegExp(`user:${ALLOWED}:rw`), 'the new file carries the inherited entry')
    t.match(got[4], /-> ok: new/, 'which grants access despite umask 077')
    t.match(got[5], /-> fails/, 'to that user only')
  })

  t.test('noacl and uidmapping= turn the ACL mode off: ACLs are kept but the mode bits alone decide', async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-acl-'))
    fs.chmodSync(root, 0o755)
    const l = path.join(root, 'l')
    writeTree(l, tree)
    prepare([l])
    for (const [i, extra] of ['noacl', 'uidmapping=0:0:65536,gidmapping=0:0:65536'].entries()) {
      const m = path.join(root, `m${i}`)
      fs.mkdirSync(m)
      const r = spawnSync(strataBin, ['mount', '-o', extra, '--lowerdir', l, m], { encoding: 'utf8' })
      t.teardown(() => { if (mountedType(m)) spawnSync(strataBin, ['umount', m]) })
      t.equal(r.status, 0, `mounted with ${extra} ${r.stderr}`)
      t.match(run(`cat ${m}/secret`, ALLOWED), { ok: false }, `${extra}: the lower ACL no longer grants read`)
      t.match(run(`getfacl -n ${m}/secret`).out, new RegExp(`user:${ALLOWED}:r--`), `${extra}: the ACL is still there to read`)
      t.equal(spawnSync(strataBin, ['umount', m]).status, 0, 'unmounted')
    }
    // Never remove through a mount that failed to go.
    t.teardown(() => { if (!fs.readdirSync(root).some((n) => mountedType(path.join(root, n)))) fs.rmSync(root, { recursive: true, force: true }) })
  })
}
