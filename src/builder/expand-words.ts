// Dockerfile words, as docker's shell-like lexer makes them: $VAR, ${VAR},
// ${VAR:-default} and ${VAR:+alternative} substituted, single quotes
// literal, double quotes grouping (with $ expanded inside), the escape
// character making the next character literal. A substituted value is never
// split into several words. Used for FROM, COPY, ADD, ENV, ARG, LABEL,
// EXPOSE, VOLUME, USER, WORKDIR and STOPSIGNAL (RUN, CMD and ENTRYPOINT are
// left to the shell).
import { errnoError } from '../base/errno-error.js'

export type Vars = ReadonlyMap<string, string>

const NAME = /[A-Za-z_][A-Za-z0-9_]*/y

/**
 * Lexes `text` into words (split at unquoted whitespace), or into one word
 * with whitespace kept when `split` is false.
 */
export function expandWords (text: string, vars: Vars, escape = '\\', split = true): string[] {
  const words: string[] = []
  let cur = ''
  let inWord = false
  // An unquoted expansion to nothing makes no word, as in a shell.
  let quoted = false
  let i = 0
  const variable = (): string => {
    // At text[i] === '$'.
    i++
    if (text[i] === '{') {
      const close = text.indexOf('}', i)
      if (close < 0) throw errnoError('EINVAL', `missing "}" in "${text}"`)
      const body = text.slice(i + 1, close)
      i = close + 1
      const m = /^([A-Za-z_][A-Za-z0-9_]*)(?::([-+])([\s\S]*))?$/.exec(body)
      if (!m) throw errnoError('EINVAL', `bad substitution "\${${body}}" in "${text}"`)
      const v = vars.get(m[1])
      if (m[2] === '-') return v || (expandWords(m[3], vars, escape, false)[0] ?? '')
      if (m[2] === '+') return v ? expandWords(m[3], vars, escape, false)[0] ?? '' : ''
      return v ?? ''
    }
    NAME.lastIndex = i
    const m = NAME.exec(text)
    if (!m) return '$'
    i += m[0].length
    return vars.get(m[0]) ?? ''
  }
  while (i < text.length) {
    const c = text[i]
    if (split && /\s/.test(c)) {
      if (inWord && (cur !== '' || quoted)) words.push(cur)
      cur = ''
      inWord = false
      quoted = false
      i++
      continue
    }
    inWord = true
    if (c === escape) {
      if (i + 1 < text.length) cur += text[i + 1]
      i += 2
    } else if (c === "'") {
      quoted = true
      const close = text.indexOf("'", i + 1)
      if (close < 0) throw errnoError('EINVAL', `unmatched ' in "${text}"`)
      cur += text.slice(i + 1, close)
      i = close + 1
    } else if (c === '"') {
      quoted = true
      i++
      while (i < text.length && text[i] !== '"') {
        if (text[i] === escape && i + 1 < text.length && (text[i + 1] === '"' || text[i + 1] === '$' || text[i + 1] === escape)) {
          cur += text[i + 1]
          i += 2
        } else if (text[i] === '$') {
          cur += variable()
        } else {
          cur += text[i++]
        }
      }
      if (i >= text.length) throw errnoError('EINVAL', `unmatched " in "${text}"`)
      i++
    } else if (c === '$') {
      cur += variable()
    } else {
      cur += c
      i++
    }
  }
  if (inWord && (cur !== '' || quoted || !split)) words.push(cur)
  return words
}

/** The whole text as one word (whitespace kept), substituted and unquoted. */
export function expandWord (text: string, vars: Vars, escape = '\\'): string {
  return expandWords(text, vars, escape, false)[0] ?? ''
}

/**
 * KEY=VALUE pairs (ENV, LABEL, ARG), or the legacy `KEY some value` form
 * when `legacy` and the first word has no "=".
 */
export function expandPairs (text: string, vars: Vars, escape = '\\', legacy = true): Array<[string, string | undefined]> {
  const first = /^(\S+)(\s+([\s\S]*))?$/.exec(text.trim())
  if (legacy && first && !first[1].includes('=') && first[3] !== undefined) return [[first[1], expandWord(first[3], vars, escape)]]
  return expandWords(text, vars, escape).map((w) => {
    const eq = w.indexOf('=')
    return eq < 0 ? [w, undefined] : [w.slice(0, eq), w.slice(eq + 1)]
  })
}
