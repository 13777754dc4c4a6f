// Pull and push progress as docker shows it. On a terminal: one line per
// layer, redrawn in place (cli-progress's MultiBar), with a bar and bytes
// while data moves. In a pipe: a line for each change of a layer's state,
// without the byte counts, so logs stay readable.
import cliProgress from 'cli-progress'
import type { TransferEvents } from '../registry/transfer-events.js'
import { humanSize, shortId } from './format.js'

interface Payload { id: string, status: string, bytes: boolean }

function barText (value: number, total: number): string {
  const width = 50
  const filled = total > 0 ? Math.min(width, Math.floor(width * value / total)) : 0
  return '[' + '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(width - filled) + ']'
}

export interface TransferProgress {
  events: TransferEvents
  stop: () => void
}

export function transferProgress (out: NodeJS.WriteStream = process.stdout): TransferProgress {
  if (!out.isTTY) {
    const last = new Map<string, string>()
    return {
      events: {
        line: (text) => { out.write(text + '\n') },
        layer: (digest, status) => {
          if (last.get(digest) === status) return
          last.set(digest, status)
          out.write(`${shortId(digest)}: ${status}\n`)
        },
      },
      stop: () => {},
    }
  }
  const multi = new cliProgress.MultiBar({
    stream: out,
    hideCursor: true,
    clearOnComplete: false,
    stopOnComplete: false,
    fps: 10,
    format: (_opts, params, payload: Payload) => `${payload.id}: ${payload.status}` +
      (payload.bytes ? ` ${barText(params.value, params.total)}  ${humanSize(params.value)}/${humanSize(params.total)}` : ''),
  })
  const bars = new Map<string, cliProgress.SingleBar>()
  // Lines after the layers (Digest, Status) are printed below them at the end.
  const after: string[] = []
  return {
    events: {
      line: (text) => { if (bars.size === 0) out.write(text + '\n'); else after.push(text + '\n') },
      layer: (digest, status, progress) => {
        let bar = bars.get(digest)
        if (!bar) {
          bar = multi.create(progress?.total ?? 1, 0, { id: shortId(digest), status, bytes: false } satisfies Payload)
          bars.set(digest, bar)
        }
        if (progress) bar.setTotal(progress.total)
        bar.update(progress?.done ?? 0, { id: shortId(digest), status, bytes: !!progress } satisfies Payload)
      },
    },
    stop: () => {
      multi.stop()
      out.write(after.join(''))
    },
  }
}

/** Runs a transfer with docker's progress on stdout (none when quiet). */
export async function withTransferProgress<T> (quiet: boolean | undefined, fn: (events?: TransferEvents) => Promise<T>): Promise<T> {
  const progress = quiet ? null : transferProgress()
  try {
    return await fn(progress?.events)
  } finally {
    progress?.stop()
  }
}
