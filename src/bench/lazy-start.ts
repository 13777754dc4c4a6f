// Benchmark: time from `strata image pull` start to the first output of a
// `strata run` that reads a few files, for a full pull and a lazy pull
// (eStargz) of one image (~200 MiB), through a proxy throttled to a realistic
// bandwidth; plus the blob bytes fetched before that output. Run:
//   node dist/bench/lazy-start.js [--mib 192] [--mbps 20] [--runs 3] [--dir D]
// Invariants: the work dir is one this bench made (marker file) and is
// removed at the end; the registry is stopped by PID; each run starts from an
// empty store; the background fill is off, so bytes are those the run needed.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildImageTree } from './build-image-tree.js'
import { freePort, startRegistry } from './registry-server.js'
import { startThrottleProxy } from './throttle-proxy.js'
import { median } from './median.js'

const MARKER = '.strata-bench-lazy'
const cliMain = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'cli', 'main.js')

function strata (root: string, args: string[], onFirstOutput?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliMain, ...args], { env: { ...process.env, STRATA_ROOT: root, STRATA_LAZY_FILL: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { if (!out) onFirstOutput?.(); out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { code === 0 ? resolve(out) : reject(new Error(`strata ${args.join(' ')}: exit ${code}: ${err.trim().split('\n').slice(-2).join(' / ')}`)) })
  })
}

function flag (name: string, dflt: number | string): string {
  const i = process.argv.indexOf(`--${name}`)
  return i > 0 ? process.argv[i + 1] : String(dflt)
}

async function main (): Promise<void> {
  const mib = Number(flag('mib', 192))
  const mbps = Number(flag('mbps', 20))
  const runs = Number(flag('runs', 3))
  const dir = path.resolve(flag('dir', '/var/tmp/strata-bench-lazy'))
  if (fs.existsSync(dir) && !fs.existsSync(path.join(dir, MARKER))) throw new Error(`${dir} exists and is not this bench's`)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, MARKER), '')
  const log = (l: string): void => { process.stderr.write(l + '\n') }
  const port = await freePort()
  fs.mkdirSync(path.join(dir, 'registry'))
  const reg = await startRegistry(dir, path.join(dir, 'registry'), port, path.join(dir, 'registry.log'))
  const proxy = await startThrottleProxy(`http://${reg.host}`, mbps * 1e6)
  try {
    const rootfs = path.join(dir, 'rootfs')
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true })
    fs.mkdirSync(path.join(rootfs, 'etc'))
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'))
    for (const x of ['sh', 'cat', 'wc']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', x))
    fs.writeFileSync(path.join(rootfs, 'etc', 'motd'), 'hello\n')
    log(`building a ${mib} MiB image…`)
    await buildImageTree(rootfs, 2000, mib)
    const src = path.join(dir, 'store-src')
    await strata(src, ['image', 'import', rootfs, 'img:1'])
    await strata(src, ['image', 'tag', 'img:1', `${reg.host}/img:1`])
    log('pushing it as eStargz…')
    await strata(src, ['image', 'push', '--estargz', `${reg.host}/img:1`])
    const res = await fetch(`http://${reg.host}/v2/img/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
    const blobBytes = ((await res.json()) as { layers: Array<{ size: number }> }).layers.reduce((n, l) => n + l.size, 0)
    const ref = `${proxy.host}/img:1`
    const cmd = ['run', '--rm', ref, '/bin/sh', '-c', 'cat /etc/motd /usr/share/d00/f0.dat /usr/share/d01/f1.dat | wc -c']
    const rows: Array<{ mode: string, secs: number[], bytes: number[] }> = []
    for (const mode of ['full', 'lazy']) {
      const row = { mode, secs: [] as number[], bytes: [] as number[] }
      for (let i = 0; i < runs; i++) {
        const root = path.join(dir, `store-${mode}-${i}`)
        proxy.blobBytes = 0
        const t0 = performance.now()
        let first = 0
        await strata(root, ['image', 'pull', '-q', ...(mode === 'lazy' ? ['--lazy'] : []), ref])
        await strata(root, cmd, () => { first = performance.now(); row.bytes.push(proxy.blobBytes) })
        row.secs.push((first - t0) / 1000)
        log(`${mode} run ${i + 1}: ${row.secs.at(-1)!.toFixed(2)} s, ${row.bytes.at(-1)} bytes`)
        fs.rmSync(root, { recursive: true, force: true })
      }
      rows.push(row)
    }
    const full = median(rows[0].secs)
    const lines = [
      `image: ${mib} MiB of big files + 2000 small files, ${blobBytes || '?'} bytes of eStargz blobs; link ${mbps} MB/s; medians of ${runs} run(s)`,
      'time = pull start → first output of `strata run` reading 3 files',
      '',
      'mode   seconds  speed-up  blob bytes fetched  share of image',
      ...rows.map((r) => {
        const s = median(r.secs)
        const b = median(r.bytes)
        return `${r.mode.padEnd(5)}  ${s.toFixed(2).padStart(7)}  ${(full / s).toFixed(2).padStart(7)}x  ${String(Math.round(b)).padStart(18)}  ${blobBytes ? ((100 * b) / blobBytes).toFixed(1).padStart(13) + '%' : '?'}`
      }),
    ]
    process.stdout.write(lines.join('\n') + '\n')
  } finally {
    await proxy.stop()
    await reg.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${(err as Error).message}\n`)
  process.exitCode = 1
})
