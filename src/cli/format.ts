// Output in docker's style: aligned tables (docker's tabwriter: cells padded
// by 3, at least 10 wide), sizes like "12.3MB", times like "3 minutes ago",
// IDs as 12 hex digits; and --format as docker reads it (table, json, or a
// Go template, see go-template.ts).
import { errnoError } from '../base/errno-error.js'
import { execute, parseTemplate } from './go-template.js'

export function table (rows: string[][]): string {
  if (rows.length === 0) return ''
  const widths = rows[0].map((_, i) => Math.max(10, ...rows.map((r) => (r[i] ?? '').length + 3)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]))).join('').trimEnd()).join('\n') + '\n'
}

export interface FormatSpec {
  /** docker's default table template for the command, e.g. "table {{.Repository}}\t{{.Tag}}". */
  table: string
  /** Column headers by field name; others are the field name in capitals. */
  headers: Record<string, string>
}

/**
 * Rows printed as `--format` says: "table" (or nothing) → the default
 * table; "json" → one JSON object per line, as `docker … --format json`;
 * "table TEMPLATE" → a table with headers; any other TEMPLATE → one line
 * per row. The template is parsed before anything is printed.
 */
export function formatRows (rows: object[], format: string | undefined, spec: FormatSpec): string {
  let f = format === undefined || format === '' || format === 'table' ? spec.table : format === 'json' ? '{{json .}}' : format
  const isTable = f.startsWith('table')
  if (isTable) f = f.slice('table'.length).trim()
  // docker's: \t and \n written in a shell's single quotes mean tab and newline.
  f = f.replace(/\\t/g, '\t').replace(/\\n/g, '\n')
  const t = parseTemplate(f)
  const lines = rows.map((r) => execute(t, r))
  if (!isTable) return lines.map((l) => l + '\n').join('')
  // docker's header row: the template run on an object whose every field is its column's name.
  const header = new Proxy({}, { has: () => true, get: (_, k) => spec.headers[String(k)] ?? String(k).toUpperCase() })
  return table([execute(t, header), ...lines].map((l) => l.split('\t')))
}

/** A --format template checked before a command changes or prints anything. */
export function checkFormat (format: string | undefined): void {
  if (format === undefined || format === 'json' || format === 'table') return
  try {
    parseTemplate(format.replace(/^table\s*/, ''))
  } catch (err) {
    throw errnoError('EINVAL', `template parsing error: ${(err as Error).message.replace(/^EINVAL: template: /, '')}`)
  }
}

/** Go's time.Time String(), which docker prints for CreatedAt: "2023-10-26 09:08:17 +0000 UTC". */
export function goTime (iso: string): string {
  const d = new Date(iso)
  return Number.isNaN(d.getTime()) ? iso : d.toISOString().replace('T', ' ').replace(/\.\d+Z$/, ' +0000 UTC').replace(/Z$/, ' +0000 UTC')
}

export function humanSize (bytes: number): string {
  const units = ['B', 'kB', 'MB', 'GB', 'TB']
  let v = bytes
  let u = 0
  while (v >= 1000 && u < units.length - 1) { v /= 1000; u++ }
  return `${u === 0 ? v : v < 10 ? v.toFixed(2) : v < 100 ? v.toFixed(1) : v.toFixed(0)}${units[u]}`
}

export function ago (iso: string | undefined, now = Date.now()): string {
  if (!iso) return 'N/A'
  const s = Math.max(0, (now - Date.parse(iso)) / 1000)
  const steps: Array<[number, string]> = [[60, 'second'], [3600, 'minute'], [86400, 'hour'], [86400 * 7, 'day'], [86400 * 30, 'week'], [86400 * 365, 'month']]
  if (s < 1) return 'Less than a second ago'
  let unit = 'year'
  let n = s / (86400 * 365)
  for (let i = 0; i < steps.length; i++) {
    if (s < steps[i][0]) {
      const div = i === 0 ? 1 : steps[i - 1][0]
      unit = steps[i][1]
      n = s / div
      break
    }
  }
  const k = Math.floor(n)
  return `${k} ${unit}${k === 1 ? '' : 's'} ago`
}

export const shortId = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12)
