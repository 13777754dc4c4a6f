// The native → JS request contract: both generated sides are what
// native/fuse-requests.json says today, the built addon was made from that
// same declaration, and the decoder puts every declared field under its own
// name (a shifted field is what made mkdir take its mode as the uid).
import t from 'tap'
import fs from 'node:fs'
import path from 'node:path'
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { native } from '../../src/native/binding.js'
import { decodeRequest, FUSE_REQUESTS_DIGEST, FUSE_OP_NAMES, FuseOp } from '../../src/native/fuse-requests.js'

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const schema = JSON.parse(fs.readFileSync(path.join(root, 'native', 'fuse-requests.json'), 'utf8')) as {
  requests: Array<{ op: string, fields: Array<[string, string]> }>
}

t.test('the generated header and decoder are up to date', async (t) => {
  const r = spawnSync(process.execPath, [path.join(root, 'scripts', 'gen-fuse-requests.mjs'), '--check'], { encoding: 'utf8' })
  t.equal(r.status, 0, r.stderr || 'generated files match native/fuse-requests.json')
})

t.test('the built addon speaks the same declaration', async (t) => {
  t.equal(native.fuseRequestsDigest, FUSE_REQUESTS_DIGEST)
})

// The C++ side pushes in declared order by construction (the generator
// writes both); the up-to-date check above keeps the two from diverging.
t.test('each request decodes its fields by name', async (t) => {
  const header = fs.readFileSync(path.join(root, 'native', 'fuse-requests.h'), 'utf8')
  schema.requests.forEach((req, i) => {
    // eslint-disable-next-line @typescript-eslint/no-unsafe-enum-assignment -- walks every opcode by number, FuseOp starts at 1
    const op = (i + 1) as FuseOp
    t.equal(FUSE_OP_NAMES[op], req.op, `${req.op} has code ${op}`)
    t.match(header, new RegExp(`OP_${req.op} = ${op},`), `${req.op} has the same code in C++`)
    // Feed distinct values in wire order; each must come out under its name.
    const wire: unknown[] = []
    const want: Record<string, unknown> = {}
    for (const [name, kind] of req.fields) {
      if (kind === 'caller') {
        const c = { uid: wire.length + 1000, gid: wire.length + 2000, umask: wire.length + 3000 }
        wire.push(c.uid, c.gid, c.umask)
        want[name] = c
      } else {
        const v = kind === 'name' ? `v${wire.length}` : wire.length + 7
        wire.push(v)
        want[name] = v
      }
    }
    const got = decodeRequest(op, 42, 9, ...(wire as [unknown, unknown, unknown, unknown, unknown, unknown]))
    t.same(got, { op, id: 42, ino: 9, ...want }, `${req.op} fields by name`)
  })
})

t.test('mkdir carries mode and caller apart', async (t) => {
  const r = decodeRequest(FuseOp.MKDIR, 1, 1, 'd', 0o755, 65533, 65532, 0o22)
  t.same(r, { op: FuseOp.MKDIR, id: 1, ino: 1, name: 'd', mode: 0o755, caller: { uid: 65533, gid: 65532, umask: 0o22 } })
})
