// Reads of a directory stream after its end, kernel overlayfs as the oracle.
// Once strata's JS has sent the last entries through a natively opened
// handle it drops its listing, and the loop threads answer the read at the
// end (native/dir-opens.h); a read before the end (seekdir back, rewinddir)
// must reach JS again and get the right entries. perl holds one stream on a
// merged directory big enough for several READDIR replies: it reads to the
// end, reads again, then, with the kernel's cached listing dropped, seeks
// back to positions told during the first pass and rewinds; every pass's
// names must equal the kernel's.
import t, { type Test } from 'tap'
import { spawnSync } from 'node:child_process'
import { strataUnion, type Tree } from '../fixtures/strata-union.js'
import type { Impl } from '../fixtures/mount-overlay.js'

const many = (prefix: string, n: number): Tree =>
  Object.fromEntries(Array.from({ length: n }, (_, i) => [`${prefix}-with-a-longish-name-${String(i).padStart(5, '0')}`, 'x']))

const LAYERS: Tree[] = [
  { big: { ...many('top', 1500), shared: 'top' } },
  { big: { ...many('bottom', 1500), shared: 'bottom', gone: 'g' } },
]

const prepare = ([top]: string[]): void => {
  const r = spawnSync('mknod', [`${top}/big/gone`, 'c', '0', '0'], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`mknod: ${r.stderr}`)
}

// Between the passes perl drops the page cache (the kernel's cached
// listings) so that the seeks reach the daemon.
const SCRIPT = `
$| = 1;
my $dir = $ARGV[0];
my @st = stat $dir or die "stat: $!\\n"; # a lookup first: the opendir is then answered natively
opendir(my $d, $dir) or die "opendir: $!\\n";
my (@names, @pos);
while (1) { push @pos, telldir $d; my $n = readdir $d; last unless defined $n; push @names, $n }
my @again = readdir $d;
print "first ", scalar(@names), " ", join("/", sort @names), "\\n";
print "again ", join("/", @again), "\\n";
system("sync; echo 1 > /proc/sys/vm/drop_caches") == 0 or die "drop_caches\\n";
for my $k (int(@pos / 3), int(2 * @pos / 3)) {
  seekdir $d, $pos[$k];
  my @rest = readdir $d;
  print "from $k ", join("/", @rest), "\\n";
}
rewinddir $d;
my @all = readdir $d;
print "rewound ", join("/", sort @all), "\\n";
`

async function passes (t: Test, impl: Impl): Promise<string[]> {
  const u = await strataUnion(t, LAYERS, prepare, impl)
  const r = spawnSync('perl', ['-e', SCRIPT, `${u.mnt}/big`], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`perl: ${r.stderr}`)
  return r.stdout.split('\n').filter((l) => l !== '')
}

t.test('reads after the end of a directory stream match kernel overlayfs', async (t) => {
  const kernel = await passes(t, 'kernel')
  const strata = await passes(t, 'strata')
  t.match(kernel[0], /^first 3003 /, 'the kernel lists . .. and 3001 names')
  t.equal(kernel.length, 5)
  // Positions are the filesystem's own cookies, so the rest after a seek is
  // compared as a count of names; the names themselves must be the listing's.
  const shape = (lines: string[]): string[] => lines.map((l) => {
    const m = /^from (\d+) (.*)$/.exec(l)
    return m ? `from ${m[1]}: ${m[2].split('/').length} names` : l
  })
  t.same(shape(strata), shape(kernel))
  const first = new Set(strata[0].split(' ')[2].split('/'))
  for (const l of strata.filter((l) => l.startsWith('from '))) {
    t.ok(l.split(' ')[2].split('/').every((n) => first.has(n)), `${l.split(' ').slice(0, 2).join(' ')}: names from the listing`)
  }
})
