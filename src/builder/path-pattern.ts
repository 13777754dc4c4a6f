// Path patterns as docker's .dockerignore and COPY sources use them, over
// "/"-separated paths relative to the build context: `*` and `?` match
// within one path element, `[…]` a character class (`[!…]` negated), `**`
// any number of elements (including none), the escape `\` a literal
// character.
import path from 'node:path'
import { errnoError } from '../base/errno-error.js'

/** A pattern cleaned as docker cleans it (no leading "/", no "./", no "x/.."). */
export function cleanPattern (p: string): string {
  const c = path.posix.normalize(p.trim()).replace(/^(\/)+/, '').replace(/\/+$/, '')
  return c === '.' ? '' : c
}

export function pathPattern (pattern: string): RegExp {
  const p = cleanPattern(pattern)
  let re = ''
  for (let i = 0; i < p.length; i++) {
    const c = p[i]
    if (c === '*') {
      if (p[i + 1] === '*') {
        // "**/" at any element boundary: zero or more whole elements.
        const atStart = i === 0 || p[i - 1] === '/'
        i++
        if (atStart && p[i + 1] === '/') { re += '(?:.*/)?'; i++ } else re += '.*'
      } else re += '[^/]*'
    } else if (c === '?') {
      re += '[^/]'
    } else if (c === '[') {
      const close = p.indexOf(']', i + 2)
      if (close < 0) throw errnoError('EINVAL', `bad pattern "${pattern}": unclosed [`)
      let cls = p.slice(i + 1, close)
      if (cls.startsWith('!')) cls = '^' + cls.slice(1)
      re += `[${cls.replace(/\\(?!\])/g, '\\\\')}]`
      i = close
    } else if (c === '\\' && i + 1 < p.length) {
      re += p[++i].replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    } else {
      re += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')
    }
  }
  return new RegExp(`^${re}$`)
}

export const hasGlob = (p: string): boolean => /[*?[]/.test(p)
