// Output in docker's style: aligned tables, sizes like "12.3MB", times like
// "3 minutes ago", IDs as 12 hex digits.
export function table (rows: string[][]): string {
  if (rows.length === 0) return ''
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)))
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] + 3))).join('').trimEnd()).join('\n') + '\n'
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
