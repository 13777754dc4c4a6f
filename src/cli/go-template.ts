// docker's --format: the subset of Go's text/template that docker users
// write, with docker's functions (json, join, lower, upper, title, split,
// truncate, pad) beside Go's (index, len, printf, print, println, eq, ne,
// lt, le, gt, ge, and, or, not). Actions: fields and chains (.A.B), $ (the
// top), "|" pipelines, parenthesised calls, string/raw/number/bool
// literals, if/else if/else, range/else, with/else, {{- -}} trimming and
// {{/* comments */}}. Values print as Go prints them: lists as [a b],
// objects as map[k:v] (keys sorted), a missing key as <no value>.
//
// Written by hand because no npm package implements enough of Go's
// templates: @ctrl/golang-template (the one maintained one) has no
// pipelines, no printf, no trim markers, no else-if and says it is unsafe
// for user input; gotemplate-node compiles to JS source and eval()s it,
// which a --format string given by anyone must never reach.
//
// Invariant: a template is parsed completely before it runs, so a bad one
// fails before a command prints anything.
import { errnoError } from '../base/errno-error.js'

type Value = unknown
type Fn = (...args: Value[]) => Value

interface Pipe { cmds: Operand[][] }
type Operand =
  | { k: 'field', base: 'dot' | 'root' | Pipe, path: string[] }
  | { k: 'lit', v: Value }
  | { k: 'fn', name: string }
  | { k: 'pipe', pipe: Pipe }
type Node =
  | { k: 'text', text: string }
  | { k: 'action', pipe: Pipe }
  | { k: 'if' | 'range' | 'with', pipe: Pipe, body: Node[], alt: Node[] }

const fail = (msg: string): never => { throw errnoError('EINVAL', `template: ${msg}`) }

/** Go's fmt %v. */
export function goString (v: Value): string {
  if (v === undefined) return '<no value>'
  if (v === null) return '<nil>'
  if (Array.isArray(v)) return `[${v.map(goString).join(' ')}]`
  if (typeof v === 'object') return `map[${Object.keys(v).sort().map((k) => `${k}:${goString((v as Record<string, Value>)[k])}`).join(' ')}]`
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- objects and arrays returned above; what is left is a scalar
  return String(v)
}

function truthy (v: Value): boolean {
  if (Array.isArray(v)) return v.length > 0
  if (v && typeof v === 'object') return Object.keys(v).length > 0
  return !!v
}

/** Go's printf verbs people use: %s %v %d %q %x %f %t %%, with flags, width and precision. */
function printf (format: unknown, ...args: Value[]): string {
  let i = 0
  return String(format).replace(/%([-+ 0#]*)(\d+)?(?:\.(\d+))?([svdqxXfteg%])/g, (_m, flags: string, width?: string, prec?: string, verb?: string) => {
    if (verb === '%') return '%'
    if (i >= args.length) return `%!${verb}(MISSING)`
    const a = args[i++]
    let s: string
    switch (verb) {
      case 'd': s = typeof a === 'number' ? String(Math.trunc(a)) : `%!d(${typeof a}=${goString(a)})`; break
      case 'q': s = JSON.stringify(typeof a === 'string' ? a : goString(a)); break
      case 'x': case 'X': s = typeof a === 'number' ? a.toString(16) : Buffer.from(String(a)).toString('hex'); if (verb === 'X') s = s.toUpperCase(); break
      case 'f': case 'e': case 'g': s = typeof a === 'number' ? (verb === 'e' ? a.toExponential(prec ? +prec : 6) : verb === 'g' ? String(a) : a.toFixed(prec ? +prec : 6)) : `%!${verb}(${goString(a)})`; break
      case 't': s = String(!!a); break
      default: s = goString(a); if (prec !== undefined) s = s.slice(0, +prec)
    }
    const w = width ? +width : 0
    if (s.length >= w) return s
    if (flags.includes('-')) return s.padEnd(w)
    return flags.includes('0') && /^[dfxX]$/.test(verb!) ? s.padStart(w, '0') : s.padStart(w)
  })
}

function compare (a: Value, b: Value): number {
  if (typeof a !== typeof b || (typeof a !== 'number' && typeof a !== 'string')) fail(`incompatible types for comparison: ${goString(a)} and ${goString(b)}`)
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0
}

const FUNCS: Record<string, Fn> = {
  // docker's (cli/templates/templates.go)
  json: (v) => JSON.stringify(v ?? null),
  join: (list, sep) => (Array.isArray(list) ? list.map(goString).join(String(sep)) : goString(list)),
  lower: (s) => String(s).toLowerCase(),
  upper: (s) => String(s).toUpperCase(),
  title: (s) => String(s).replace(/\b\w/g, (c) => c.toUpperCase()),
  split: (s, sep) => String(s).split(String(sep)),
  truncate: (s, n) => String(s).slice(0, Number(n)),
  pad: (s, l, r) => ' '.repeat(Number(l)) + String(s) + ' '.repeat(Number(r)),
  // Go's
  index: (v, ...keys) => {
    let cur = v
    for (const k of keys) {
      if (cur === null || cur === undefined) fail('index of untyped nil')
      if (Array.isArray(cur)) {
        if (typeof k !== 'number' || k < 0 || k >= cur.length) fail(`index out of range: ${goString(k)}`)
        cur = cur[k as number]
      } else if (typeof cur === 'object') cur = (cur as Record<string, Value>)[String(k)]
      else fail(`can't index item of type ${typeof cur}`)
    }
    return cur
  },
  len: (v) => (Array.isArray(v) || typeof v === 'string' ? v.length : v && typeof v === 'object' ? Object.keys(v).length : fail(`len of ${goString(v)}`)),
  printf,
  print: (...a) => a.map(goString).join(''),
  println: (...a) => a.map(goString).join(' ') + '\n',
  eq: (a, ...bs) => bs.some((b) => a === b),
  ne: (a, b) => a !== b,
  lt: (a, b) => compare(a, b) < 0,
  le: (a, b) => compare(a, b) <= 0,
  gt: (a, b) => compare(a, b) > 0,
  ge: (a, b) => compare(a, b) >= 0,
  not: (a) => !truthy(a),
  and: (...a) => { for (const x of a) if (!truthy(x)) return x; return a[a.length - 1] },
  or: (...a) => { for (const x of a) if (truthy(x)) return x; return a[a.length - 1] },
}

// ---- lexing the inside of an action ----

type Tok = { t: 'field', v: string[] } | { t: 'root', v: string[] } | { t: 'str' | 'id', v: string } | { t: 'num', v: number } | { t: '|' | '(' | ')' | ':=' }

function lexAction (src: string): Tok[] {
  const toks: Tok[] = []
  let i = 0
  const chain = (): string[] => {
    const parts: string[] = []
    while (src[i] === '.' && /[A-Za-z_]/.test(src[i + 1] ?? '')) {
      i++
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))!
      parts.push(m[0])
      i += m[0].length
    }
    return parts
  }
  while (i < src.length) {
    const c = src[i]
    if (/\s/.test(c)) { i++; continue }
    if (c === '|' || c === '(' || c === ')') { toks.push({ t: c }); i++; continue }
    if (c === '.') {
      if (/[A-Za-z_]/.test(src[i + 1] ?? '')) toks.push({ t: 'field', v: chain() })
      else { toks.push({ t: 'field', v: [] }); i++ }
      continue
    }
    if (c === '$') { i++; toks.push({ t: 'root', v: chain() }); continue }
    if (c === '"') {
      const m = /^"(?:[^"\\\n]|\\.)*"/.exec(src.slice(i))
      if (!m) fail(`unterminated quoted string in ${src}`)
      toks.push({ t: 'str', v: JSON.parse(m![0].replace(/\\'/g, "'")) as string })
      i += m![0].length
      continue
    }
    if (c === '`') {
      const end = src.indexOf('`', i + 1)
      if (end < 0) fail(`unterminated raw quoted string in ${src}`)
      toks.push({ t: 'str', v: src.slice(i + 1, end) })
      i = end + 1
      continue
    }
    let m = /^-?\d+(\.\d+)?/.exec(src.slice(i))
    if (m) { toks.push({ t: 'num', v: Number(m[0]) }); i += m[0].length; continue }
    m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(src.slice(i))
    if (m) { toks.push({ t: 'id', v: m[0] }); i += m[0].length; continue }
    fail(`unexpected "${c}" in ${src}`)
  }
  return toks
}

function parsePipe (toks: Tok[], pos: { i: number }, src: string): Pipe {
  const cmds: Operand[][] = [[]]
  while (pos.i < toks.length) {
    const tk = toks[pos.i]
    if (tk.t === ')') break
    pos.i++
    const cmd = cmds[cmds.length - 1]
    if (tk.t === '|') {
      if (cmd.length === 0) fail(`missing command before "|" in ${src}`)
      cmds.push([])
      continue
    }
    if (tk.t === '(') {
      const inner = parsePipe(toks, pos, src)
      if (toks[pos.i]?.t !== ')') fail(`unclosed "(" in ${src}`)
      pos.i++
      cmd.push({ k: 'pipe', pipe: inner })
      continue
    }
    if (tk.t === 'field') cmd.push({ k: 'field', base: 'dot', path: tk.v })
    else if (tk.t === 'root') cmd.push({ k: 'field', base: 'root', path: tk.v })
    else if (tk.t === 'str' || tk.t === 'num') cmd.push({ k: 'lit', v: tk.v })
    else if (tk.t === 'id') {
      if (tk.v === 'true' || tk.v === 'false') cmd.push({ k: 'lit', v: tk.v === 'true' })
      else if (tk.v === 'nil') cmd.push({ k: 'lit', v: null })
      else if (FUNCS[tk.v]) cmd.push({ k: 'fn', name: tk.v })
      else fail(`function "${tk.v}" not defined`)
    } else fail(`unexpected ${tk.t} in ${src}`)
  }
  if (cmds[cmds.length - 1].length === 0) fail(`missing value in {{${src}}}`)
  // An argument that is a function is a call with no arguments, as in Go.
  for (const cmd of cmds) if (cmd.length > 1 && cmd[0].k !== 'fn') fail(`can't give argument to non-function in {{${src}}}`)
  return { cmds }
}

function parseExpr (src: string): Pipe {
  const toks = lexAction(src)
  const pos = { i: 0 }
  const p = parsePipe(toks, pos, src)
  if (pos.i < toks.length) fail(`unexpected ")" in {{${src}}}`)
  return p
}

// ---- the template's structure ----

export interface Template { nodes: Node[] }

export function parseTemplate (text: string): Template {
  // Split into text and actions, applying {{- and -}}.
  const parts: Array<{ text: string } | { action: string }> = []
  let i = 0
  while (i < text.length) {
    const open = text.indexOf('{{', i)
    if (open < 0) { parts.push({ text: text.slice(i) }); break }
    let before = text.slice(i, open)
    let start = open + 2
    if (text[start] === '-' && /\s/.test(text[start + 1] ?? '')) { before = before.trimEnd(); start++ }
    parts.push({ text: before })
    const close = text.indexOf('}}', start)
    if (close < 0) fail(`unclosed action in ${JSON.stringify(text)}`)
    let end = close
    let trimAfter = false
    if (text[close - 1] === '-' && /\s/.test(text[close - 2] ?? '')) { end = close - 1; trimAfter = true }
    parts.push({ action: text.slice(start, end).trim() })
    i = close + 2
    if (trimAfter) while (i < text.length && /\s/.test(text[i])) i++
  }
  type Frame = { node: Node & { k: 'if' | 'range' | 'with' } | null, list: Node[], inAlt: boolean, elseIf: number }
  const root: Frame = { node: null, list: [], inAlt: false, elseIf: 0 }
  const stack: Frame[] = [root]
  const top = (): Frame => stack[stack.length - 1]
  const open = (k: 'if' | 'range' | 'with', expr: string): void => {
    const node = { k, pipe: parseExpr(expr), body: [], alt: [] }
    top().list.push(node)
    stack.push({ node, list: node.body, inAlt: false, elseIf: 0 })
  }
  for (const p of parts) {
    if ('text' in p) { if (p.text) top().list.push({ k: 'text', text: p.text }); continue }
    const a = p.action
    if (a.startsWith('/*')) { if (!a.endsWith('*/')) fail('unclosed comment'); continue }
    const m = /^(if|range|with|else|end)\b\s*(.*)$/s.exec(a)
    if (!m) { top().list.push({ k: 'action', pipe: parseExpr(a) }); continue }
    const [, kw, rest] = m
    if (kw === 'if' || kw === 'range' || kw === 'with') {
      if (!rest) fail(`missing value for ${kw}`)
      if (kw === 'range' && /:=/.test(rest)) fail('range variables ($i, $v :=) are not supported: use . inside the range')
      open(kw, rest)
    } else if (kw === 'else') {
      const f = top()
      if (!f.node || f.inAlt) fail('unexpected {{else}}')
      f.inAlt = true
      f.list = f.node!.alt
      const elif = /^if\b\s*(.*)$/s.exec(rest)
      if (elif) {
        // {{else if X}} is {{else}}{{if X}} … with one shared {{end}}.
        const elseIf = f.elseIf + 1
        open('if', elif[1])
        top().elseIf = elseIf
      } else if (rest) fail(`unexpected "${rest}" after else`)
    } else {
      if (rest) fail(`unexpected "${rest}" after end`)
      let f = stack.pop()!
      if (!f.node) fail('unexpected {{end}}')
      while (f.elseIf > 0) f = stack.pop()!
    }
  }
  if (stack.length > 1) fail(`unexpected EOF: {{${top().node!.k}}} has no {{end}}`)
  return { nodes: root.list }
}

// ---- running it ----

function field (base: Value, path: string[], strictTop: boolean): Value {
  let cur = base
  for (let i = 0; i < path.length; i++) {
    const name = path[i]
    if (cur === null || cur === undefined) return fail(`nil pointer evaluating .${path.slice(0, i + 1).join('.')}`)
    if (typeof cur !== 'object' || Array.isArray(cur)) return fail(`can't evaluate field ${name} in ${goString(cur)}`)
    if (!(name in (cur))) {
      // The top object is docker's struct (a missing field is a mistake); below it, maps (Labels).
      if (strictTop && i === 0) return fail(`can't evaluate field ${name}`)
      return undefined
    }
    cur = (cur as Record<string, Value>)[name]
  }
  return cur
}

function evalPipe (p: Pipe, dot: Value, root: Value): Value {
  let prev: Value
  let first = true
  for (const cmd of p.cmds) {
    const args = cmd.slice(1).map((o) => evalOperand(o, dot, root))
    if (!first) args.push(prev)
    const head = cmd[0]
    if (head.k === 'fn') prev = FUNCS[head.name](...args)
    else {
      if (args.length) fail('can\'t give argument to non-function')
      prev = evalOperand(head, dot, root)
    }
    first = false
  }
  return prev
}

function evalOperand (o: Operand, dot: Value, root: Value): Value {
  switch (o.k) {
    case 'lit': return o.v
    case 'fn': return FUNCS[o.name]()
    case 'pipe': return evalPipe(o.pipe, dot, root)
    case 'field': return o.base === 'root' ? field(root, o.path, true) : field(dot, o.path, dot === root)
  }
}

function run (nodes: Node[], dot: Value, root: Value, out: string[]): void {
  for (const n of nodes) {
    if (n.k === 'text') out.push(n.text)
    else if (n.k === 'action') out.push(goString(evalPipe(n.pipe, dot, root)))
    else {
      const v = evalPipe(n.pipe, dot, root)
      if (n.k === 'if') run(truthy(v) ? n.body : n.alt, dot, root, out)
      else if (n.k === 'with') { if (truthy(v)) run(n.body, v, root, out); else run(n.alt, dot, root, out) } else {
        const items = Array.isArray(v) ? v : v && typeof v === 'object' ? Object.keys(v).sort().map((k) => (v as Record<string, Value>)[k]) : v === null || v === undefined ? [] : fail(`range can't iterate over ${goString(v)}`)
        if (items.length === 0) run(n.alt, dot, root, out)
        for (const item of items) run(n.body, item, root, out)
      }
    }
  }
}

export function execute (t: Template, data: Value): string {
  const out: string[] = []
  run(t.nodes, data, data, out)
  return out.join('')
}
