// A spare's warm-up: before it waits, it serves one throwaway mount of its
// own (a tiny tree in a temp dir) and runs the calls a container start makes
// through it, from libuv's threads (never synchronously: this process
// serves that mount). V8 compiles a function when it first runs and
// optimises it once it has run a while, so the handed-over mount is then
// answered by compiled code: on this machine it cut a spare's mount from
// ~14 to ~9 ms and the first `chroot MNT /bin/true` from ~14 to ~10 ms.
// Native code forgets the throwaway session's nodes when the next one
// starts (fuse-session.cc). A warm-up that fails is skipped: it only costs
// speed, and the spare still serves.
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { native } from '../native/binding.js'
import { parseMountArgs } from '../fuse/mount-options.js'
import { serve } from '../fuse/serve.js'

/** The calls of a container start, and a few of a build step, three times over. */
async function exercise (m: string): Promise<void> {
  const p = fs.promises
  for (let i = 0; i < 3; i++) {
    await p.stat(`${m}/f`)
    await p.readFile(`${m}/f`)
    await p.readdir(m, { withFileTypes: true })
    await p.readdir(`${m}/d${i}/e`)
    await p.readlink(`${m}/s`)
    await p.lstat(`${m}/missing`).catch(() => {})
    await p.appendFile(`${m}/f`, 'x')
    await p.mkdir(`${m}/n${i}`)
    await p.writeFile(`${m}/n${i}/g`, 'y')
    await p.chmod(`${m}/n${i}/g`, 0o600)
    await p.utimes(`${m}/n${i}/g`, 1, 1)
    await p.rename(`${m}/n${i}/g`, `${m}/n${i}/h`)
    await p.symlink('h', `${m}/n${i}/l`)
    await p.unlink(`${m}/n${i}/l`)
    await p.rm(`${m}/d${i}`, { recursive: true })
    // What runc and podman do to a container's root besides.
    await p.chown(m, process.getuid!(), process.getgid!())
    await p.statfs(m)
  }
}

export async function warmUp (): Promise<void> {
  let root: string | undefined
  let served: Promise<number> | undefined
  try {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'strata-warm-up-'))
    const [l, u, w, m] = ['l', 'u', 'w', 'm'].map((n) => path.join(root!, n))
    for (const d of [u, w, m]) fs.mkdirSync(d)
    for (let i = 0; i < 3; i++) {
      fs.mkdirSync(`${l}/d${i}/e`, { recursive: true })
      fs.writeFileSync(`${l}/d${i}/e/g`, 'lower')
    }
    fs.writeFileSync(`${l}/f`, 'lower')
    fs.symlinkSync('f', `${l}/s`)
    const req = parseMountArgs({ mountpoint: m, options: [`lowerdir=${l},upperdir=${u},workdir=${w}`] })
    // serve() has mounted by the time it first waits, i.e. when it returns here.
    served = serve(req, {})
    served.catch(() => {})
    await exercise(m)
  } catch {
    // Not warmed up: slower at first, still right.
  } finally {
    if (served) {
      native.fuseUnmount()
      await served.catch(() => {})
    }
    if (root) fs.rmSync(root, { recursive: true, force: true })
  }
}
