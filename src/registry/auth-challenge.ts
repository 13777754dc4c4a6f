// The WWW-Authenticate challenge of a registry's 401 (RFC 7235): the scheme
// and its parameters, e.g. Bearer realm="https://auth/token",service="reg",
// scope="repository:a/b:pull". Written by hand: the header is one line of
// quoted-string parameters, and the fetch API leaves parsing it to us.
export interface Challenge {
  scheme: string
  params: Record<string, string>
}

export function parseChallenge (header: string | null): Challenge | null {
  if (!header) return null
  const m = /^\s*([A-Za-z][\w-]*)\s*(.*)$/.exec(header)
  if (!m) return null
  const params: Record<string, string> = {}
  const re = /([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]*))\s*,?\s*/g
  let p: RegExpExecArray | null
  while ((p = re.exec(m[2])) !== null) {
    if (p[0] === '') break
    params[p[1].toLowerCase()] = p[2] !== undefined ? p[2].replace(/\\(.)/g, '$1') : p[3]
  }
  return { scheme: m[1].toLowerCase(), params }
}
