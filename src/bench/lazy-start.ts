// The lazy-start rows of `scripts/bench --suite registry`: time from
// `strata image pull` start to the first output of a `strata run` that
// reads a few files, for a full pull and a lazy pull (eStargz) of one image
// (~200 MiB), through a proxy throttled to a realistic bandwidth so that
// transfer dominates as on a real network; plus the blob bytes fetched
// before that output. Library only: runRegistryBench calls it and
// format-registry-table.ts prints it.
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

export interface LazyStartOptions {
  /** MiB of incompressible data in the image's big files. */
  mib: number
  /** The link's bandwidth, in MB/s. */
  mbps: number
  runs: number
  dir: string
  progress?: (line: string) => void
}

export interface LazyStartRow {
  mode: 'full' | 'lazy'
  /** Seconds from pull start to the run's first output, per run. */
  secs: number[]
  /** Blob bytes through the proxy before that output, per run. */
  bytes: number[]
}

export interface LazyStartResult {
  mib: number
  mbps: number
  runs: number
  /** The image's eStargz blobs, as pushed. */
  blobBytes: number
  command: string
  rows: LazyStartRow[]
}

function strata (root: string, args: string[], onFirstOutput?: () => void): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliMain, ...args], { env: { ...process.env, STRATA_ROOT: root, STRATA_LAZY_FILL: '0' }, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => { if (!out) onFirstOutput?.(); out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { err += d.toString() })
    child.on('error', reject)
    child.on('close', (code) => { if (code === 0) resolve(out); else reject(new Error(`strata ${args.join(' ')}: exit ${code}: ${err.trim().split('\n').slice(-2).join(' / ')}`)) })
  })
}

export async function runLazyStart (o: LazyStartOptions): Promise<LazyStartResult> {
  const log = o.progress ?? ((l: string): void => { process.stderr.write(l + '\n') })
  const dir = path.resolve(o.dir)
  if (fs.existsSync(dir) && !fs.existsSync(path.join(dir, MARKER))) throw new Error(`${dir} exists and is not the lazy-start bench's`)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  fs.writeFileSync(path.join(dir, MARKER), '')
  const port = await freePort()
  fs.mkdirSync(path.join(dir, 'registry'))
  const reg = await startRegistry(dir, path.join(dir, 'registry'), port, path.join(dir, 'registry.log'))
  const proxy = await startThrottleProxy(`http://${reg.host}`, o.mbps * 1e6)
  try {
    const rootfs = path.join(dir, 'rootfs')
    fs.mkdirSync(path.join(rootfs, 'bin'), { recursive: true })
    fs.mkdirSync(path.join(rootfs, 'etc'))
    fs.copyFileSync('/bin/busybox', path.join(rootfs, 'bin', 'busybox'))
    for (const x of ['sh', 'cat', 'wc']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', x))
    fs.writeFileSync(path.join(rootfs, 'etc', 'motd'), 'hello\n')
    log(`lazy start: building a ${o.mib} MiB image…`)
    await buildImageTree(rootfs, 2000, o.mib)
    const src = path.join(dir, 'store-src')
    await strata(src, ['image', 'import', rootfs, 'img:1'])
    await strata(src, ['image', 'tag', 'img:1', `${reg.host}/img:1`])
    log('lazy start: pushing it as eStargz…')
    await strata(src, ['image', 'push', '--estargz', `${reg.host}/img:1`])
    const res = await fetch(`http://${reg.host}/v2/img/manifests/1`, { headers: { Accept: 'application/vnd.oci.image.manifest.v1+json' } })
    const blobBytes = ((await res.json()) as { layers: Array<{ size: number }> }).layers.reduce((n, l) => n + l.size, 0)
    const ref = `${proxy.host}/img:1`
    const script = 'cat /etc/motd /usr/share/d00/f0.dat /usr/share/d01/f1.dat | wc -c'
    const rows: LazyStartRow[] = []
    for (const mode of ['full', 'lazy'] as const) {
      const row: LazyStartRow = { mode, secs: [], bytes: [] }
      for (let i = 0; i < o.runs; i++) {
        const root = path.join(dir, `store-${mode}-${i}`)
        proxy.blobBytes = 0
        const t0 = performance.now()
        let first = 0
        await strata(root, ['image', 'pull', '-q', ...(mode === 'lazy' ? ['--lazy'] : []), ref])
        await strata(root, ['run', '--rm', ref, '/bin/sh', '-c', script], () => { first = performance.now(); row.bytes.push(proxy.blobBytes) })
        row.secs.push((first - t0) / 1000)
        log(`lazy start: ${mode} run ${i + 1}/${o.runs}: ${row.secs.at(-1)!.toFixed(2)} s, ${row.bytes.at(-1)} bytes`)
        fs.rmSync(root, { recursive: true, force: true })
      }
      rows.push(row)
    }
    return { mib: o.mib, mbps: o.mbps, runs: o.runs, blobBytes, command: script, rows }
  } finally {
    await proxy.stop()
    await reg.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The rows as the registry table prints them. */
export function formatLazyStart (r: LazyStartResult): string[] {
  const full = median(r.rows.find((x) => x.mode === 'full')?.secs ?? [])
  return [
    `lazy start: pull start → first output of \`strata run\` reading 3 files (${r.command}), through a proxy throttled to ${r.mbps} MB/s;`,
    `  image: ${r.mib} MiB of big files + 2000 small files, ${r.blobBytes} bytes of eStargz blobs; medians of ${r.runs} run(s); background fill off`,
    '',
    'mode   seconds  speed-up  blob bytes fetched  share of image',
    ...r.rows.map((row) => {
      const s = median(row.secs)
      const b = median(row.bytes)
      return `${row.mode.padEnd(5)}  ${s.toFixed(2).padStart(7)}  ${(full / s).toFixed(2).padStart(7)}x  ${String(Math.round(b)).padStart(18)}  ${r.blobBytes ? ((100 * b) / r.blobBytes).toFixed(1).padStart(13) + '%' : '?'}`
    }),
  ]
}
