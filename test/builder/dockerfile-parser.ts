// The Dockerfile parser, variable substitution and .dockerignore patterns,
// on their own: continuations, comments, directives, exec vs shell form,
// errors naming the line, $VAR forms and quoting, docker's ignore rules.
import t from 'tap'
import { parseDockerfile, parseInstruction, KNOWN } from '../../src/builder/dockerfile-parser.js'
import { HANDLERS } from '../../src/builder/instructions/handlers.js'
import { expandWords, expandWord, expandPairs } from '../../src/builder/expand-words.js'
import { Dockerignore } from '../../src/builder/dockerignore.js'
import { pathPattern } from '../../src/builder/path-pattern.js'

t.test('continuations, comments, blank lines, keyword case, line numbers', async (t) => {
  const { instructions: ins } = parseDockerfile([
    '# a comment',
    'from busybox:1',
    '',
    'RUN echo one && \\',
    '    # a comment inside a continuation',
    '',
    '    echo two',
    'ENV A=1 \\',
    '  B=2',
    '  # indented comment',
    'cmd ["/bin/sh", "-c", "echo hi"]',
  ].join('\n'))
  t.same(ins.map((i) => [i.cmd, i.line]), [['FROM', 2], ['RUN', 4], ['ENV', 8], ['CMD', 11]])
  t.equal(ins[1].args, 'echo one &&     echo two', 'the escape and newline go, nothing is added')
  t.equal(ins[1].json, null, 'shell form')
  t.equal(ins[2].args, 'A=1   B=2')
  t.same(ins[3].json, ['/bin/sh', '-c', 'echo hi'], 'exec form')
  t.equal(ins[3].original, 'CMD ["/bin/sh", "-c", "echo hi"]')
})

t.test('escape directive, flags, exec form edge cases', async (t) => {
  const { instructions: ins, escape } = parseDockerfile('# escape=`\nFROM x\nRUN dir `\n  c:\\\nCOPY --chown=1:2 --chmod=755 a b\nRUN [ -f /x ] && echo yes\n')
  t.equal(escape, '`')
  t.equal(ins[1].args, 'dir   c:\\', 'backtick continues, backslash is literal')
  t.same(ins[2].flags, { chown: '1:2', chmod: '755' })
  t.equal(ins[2].args, 'a b')
  t.equal(ins[3].json, null, 'a shell test command starting with [ stays shell form')
  t.equal(parseDockerfile('FROM x\n# escape=`\nRUN a \\\n b').instructions[1].args, 'a  b', 'a directive after an instruction is a comment')
})

t.test('errors name the file and line', async (t) => {
  t.throws(() => parseDockerfile('FROM x\n\nFOO bar\n', 'Dockerfile'), { message: 'Dockerfile:3: unknown instruction: FOO', code: 'EINVAL' })
  t.throws(() => parseDockerfile('FROM x\nCMD ["/hello"\n'), { message: /Dockerfile:2: malformed JSON array: \["\/hello"/ })
  t.throws(() => parseDockerfile("FROM x\nENTRYPOINT ['/hello']\n"), { message: /Dockerfile:2: malformed JSON/ }, 'single quotes are not JSON')
  t.throws(() => parseDockerfile('FROM x\nRUN\n'), { message: 'Dockerfile:2: RUN requires at least one argument' })
  t.throws(() => parseDockerfile('FROM x\nCOPY --chown a b\n'), { message: /:2: option --chown needs a value/ })
})

t.test('SHELL, HEALTHCHECK and ONBUILD parse; HEALTHCHECK takes options', async (t) => {
  const { instructions: ins } = parseDockerfile('FROM x\nSHELL ["/bin/bash", "-c"]\nHEALTHCHECK --interval=5m --retries=3 CMD curl -f http://l/\nonbuild RUN echo hi\n')
  t.same(ins.map((i) => i.cmd), ['FROM', 'SHELL', 'HEALTHCHECK', 'ONBUILD'])
  t.same(ins[1].json, ['/bin/bash', '-c'])
  t.same(ins[2].flags, { interval: '5m', retries: '3' })
  t.equal(ins[2].args, 'CMD curl -f http://l/')
  t.equal(ins[3].args, 'RUN echo hi', 'an ONBUILD keeps its trigger as written')
  t.equal(parseInstruction('copy --from=b /a /b', 7).flags.from, 'b', 'one instruction alone (an ONBUILD trigger) parses the same way')
})

t.test('every instruction the parser knows has a handler, and no other', async (t) => {
  t.same(Object.keys(HANDLERS).sort(), [...KNOWN].sort())
})

t.test('variable substitution', async (t) => {
  const v = new Map([['A', 'x y'], ['B', 'b'], ['E', '']])
  // eslint-disable-next-line no-template-curly-in-string -- Dockerfile ${VAR} forms, for the parser to expand
  t.same(expandWords('$B ${B}c ${A}', v), ['b', 'bc', 'x y'], 'a value is never split into words')
  // eslint-disable-next-line no-template-curly-in-string -- Dockerfile ${VAR} forms, for the parser to expand
  t.same(expandWords('${E:-dflt} ${B:-dflt} ${B:+alt} ${E:+alt}x ${NOPE} "$NOPE"', v), ['dflt', 'b', 'alt', 'x', ''], 'defaults and alternatives; an unquoted empty expansion is no word, a quoted one is')
  t.same(expandWords('\'$B\' "$B and \\$B" \\$B a\\ b', v), ['$B', 'b and $B', '$B', 'a b'], 'single quotes literal, double quotes expand, escapes')
  t.equal(expandWord('  $B  c ', v), '  b  c ', 'one word keeps its whitespace')
  t.same(expandPairs('K1=$B K2="two words" K3=', v), [['K1', 'b'], ['K2', 'two words'], ['K3', '']])
  t.same(expandPairs('K the rest $B', v), [['K', 'the rest b']], 'legacy ENV form')
  t.same(expandPairs('NAME', v, '\\', false), [['NAME', undefined]], 'ARG without a default')
  t.equal(expandWord('a`$B', v, '`'), 'a$B', 'the escape directive applies')
  t.throws(() => expandWords('${B', v), { code: 'EINVAL' })
})

t.test('.dockerignore patterns, like docker', async (t) => {
  const ig = new Dockerignore('# comment\n\n*.log\n/secret\nnode_modules\n**/tmp/**\n!keep.log\ndocs\n!docs/README.md\n')
  const ex = (p: string): boolean => ig.excludes(p)
  t.ok(ex('a.log'), '*.log at the top')
  t.notOk(ex('sub/a.log'), '*.log matches one level only')
  t.notOk(ex('keep.log'), '! brings a file back')
  t.ok(ex('secret') && ex('secret/x/y'), 'a leading / is dropped; a dir excludes its contents')
  t.ok(ex('node_modules/a/b.js'))
  t.ok(ex('x/y/tmp/z') && ex('tmp/z'), '** matches any number of dirs, none too')
  t.ok(ex('docs/other.md'))
  t.notOk(ex('docs/README.md'), 'an exception inside an excluded dir')
  t.notOk(ex('src/main.c'))
  t.ok(pathPattern('a?c/[b-d]*.txt').test('abc/coat.txt'))
  t.notOk(pathPattern('a*').test('a/b'), '* stays in one path element')
  t.ok(pathPattern('**/*.go').test('x/y/z.go') && pathPattern('**/*.go').test('z.go'))
})
