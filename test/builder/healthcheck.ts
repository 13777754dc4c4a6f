// HEALTHCHECK's option and duration parsing against docker's rules and
// docker's config JSON shape (nanoseconds, zero values left out).
import t from 'tap'
import { parseInstruction } from '../../src/builder/dockerfile-parser.js'
import { parseHealthcheck, parseDuration, formatDuration } from '../../src/builder/instructions/healthcheck.js'

const hc = (line: string) => parseHealthcheck(parseInstruction(line, 1))

t.test('Go durations', async (t) => {
  t.equal(parseDuration('30s', 'x'), 30e9)
  t.equal(parseDuration('1m30s', 'x'), 90e9)
  t.equal(parseDuration('1.5h', 'x'), 5400e9)
  t.equal(parseDuration('250ms', 'x'), 250e6)
  t.equal(parseDuration('0', 'x'), 0)
  t.throws(() => parseDuration('30', 'HEALTHCHECK --interval'), { message: /--interval: invalid duration "30"/ }, 'a unit is required, as Go requires it')
  t.throws(() => parseDuration('5x', 'x'), { code: 'EINVAL' })
  t.same([0, 3e9, 90e9, 3600e9, 1.5e9, 500e6].map(formatDuration), ['0s', '3s', '1m30s', '1h0m0s', '1.5s', '500ms'], "Go's spelling")
})

t.test('the config shape docker writes', async (t) => {
  t.same(hc('HEALTHCHECK --interval=5m --timeout=3s CMD curl -f http://localhost/ || exit 1'),
    { Test: ['CMD-SHELL', 'curl -f http://localhost/ || exit 1'], Interval: 300e9, Timeout: 3e9 }, 'shell form as CMD-SHELL; unset durations left out')
  t.same(hc('HEALTHCHECK --start-period=10s --start-interval=1s --retries=4 CMD ["/bin/check", "-q"]'),
    { Test: ['CMD', '/bin/check', '-q'], StartPeriod: 10e9, StartInterval: 1e9, Retries: 4 }, 'exec form as CMD')
  t.same(hc('HEALTHCHECK NONE'), { Test: ['NONE'] })
  t.same(hc('HEALTHCHECK --retries=0 CMD true'), { Test: ['CMD-SHELL', 'true'] }, 'zero retries is the default, left out')
})

t.test('bad healthchecks', async (t) => {
  t.throws(() => hc('HEALTHCHECK --interval=1us CMD true'), { message: /cannot be less than 1ms/ })
  t.throws(() => hc('HEALTHCHECK --retries=x CMD true'), { message: /--retries takes a whole number/ })
  t.throws(() => hc('HEALTHCHECK NONE now'), { message: /NONE takes no arguments/ })
  t.throws(() => hc('HEALTHCHECK curl x'), { message: /takes CMD command \(or NONE\)/ })
  t.throws(() => hc('HEALTHCHECK CMD ["a", 1]'), { message: /malformed JSON array/ })
})
