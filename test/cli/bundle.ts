// The CLI's bundle (dist/cli/main.cjs, scripts/bundle-entries.mjs) says what
// tsc's own output (dist/cli/main.js) says: help laid out by yargs (widths
// through the bundle's string-width stand-in, which hands anything but
// printable ASCII, such as the "…" of run's flags, to the real module),
// usage errors, and the version.
import t from 'tap'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { build, type Plugin } from 'esbuild'

const dist = path.resolve(import.meta.dirname, '..', '..', 'dist', 'cli')
const lines = [['--help'], ['image', 'ls', '--help'], ['run', '--help'], ['pull', '--help'], ['mount', '--help'], ['images', '--bogus'], ['nonsense'], ['--version']]

const say = (entry: string, args: string[]): { status: number | null, stdout: string, stderr: string } =>
  spawnSync(process.execPath, [path.join(dist, entry), ...args], { encoding: 'utf8', env: { ...process.env, NODE_EXTRA_CA_CERTS: '' } })

t.test('the bundle answers as tsc\'s output does', async (t) => {
  for (const args of lines) {
    const esm = say('main.js', args)
    const cjs = say('main.cjs', args)
    t.same([cjs.status, cjs.stdout, cjs.stderr], [esm.status, esm.stdout, esm.stderr], `strata ${args.join(' ')}`)
  }
  const run = say('main.cjs', ['run', '--help']).stdout
  t.match(run, /…/, 'run\'s help has a character string-width itself measures')
  t.ok(run.split('\n').every((l) => l.length <= 80), 'and every help line fits yargs\'s 80 columns')
})

t.test('the string-width stand-in measures as each real version does', async (t) => {
  const repo = path.resolve(import.meta.dirname, '..', '..')
  const { lazyStringWidth } = await import(path.join(repo, 'scripts', 'bundle-plugins.mjs')) as { lazyStringWidth: Plugin }
  const dir = t.testdir({})
  const samples = ['', 'plain ascii', '日本語', 'e\u0301', '\u001b[31mred\u001b[0m', 'tab\there', '👍🏽 ok', '…', 'half ｶﾀｶﾅ']
  // Each version strata's dependencies resolve: cliui's, yargs's own, cli-progress's.
  for (const from of ['node_modules/cliui', 'node_modules/yargs', 'node_modules/cli-progress']) {
    const contents = `import w from 'string-width'\nprocess.stdout.write(JSON.stringify(${JSON.stringify(samples)}.map((s) => w(s))))\n`
    const widths = async (plugins: Plugin[], name: string): Promise<number[]> => {
      const file = path.join(dir, `${name}-${path.basename(from)}.cjs`)
      // Resolved from that package's dir, as its own import is.
      await build({ stdin: { contents, resolveDir: path.join(repo, from) }, outfile: file, bundle: true, platform: 'node', format: 'cjs', plugins, logLevel: 'silent' })
      return JSON.parse(spawnSync(process.execPath, [file], { encoding: 'utf8' }).stdout) as number[]
    }
    const real = await widths([], 'real')
    t.same(await widths([lazyStringWidth], 'stand-in'), real, `${from}'s string-width: ${JSON.stringify(real)}`)
    t.ok(real.some((w, i) => w !== samples[i].length), 'the samples include widths that are not the length')
  }
  // What it saves: with only ASCII asked, no version of it is loaded (loading builds an Intl.Segmenter).
  const noSegmenter = 'Intl.Segmenter = class { constructor () { throw new Error("a segmenter was built") } };'
  const asciiOnly = "import w from 'string-width'\nprocess.stdout.write(String(w('plain ascii')))\n"
  const run = async (plugins: Plugin[], name: string): Promise<{ status: number | null, stdout: string }> => {
    const file = path.join(dir, `${name}-ascii.cjs`)
    await build({ stdin: { contents: asciiOnly, resolveDir: path.join(repo, 'node_modules/cliui') }, outfile: file, bundle: true, platform: 'node', format: 'cjs', plugins, banner: { js: noSegmenter }, logLevel: 'silent' })
    return spawnSync(process.execPath, [file], { encoding: 'utf8' })
  }
  t.not((await run([], 'real')).status, 0, 'the real module builds one as it loads')
  t.same(await run([lazyStringWidth], 'stand-in').then((r) => [r.status, r.stdout]), [0, '11'], 'the stand-in, asked only ASCII, does not')
})
