// A progress bar on a terminal (cli-progress), nothing in a pipe: long work
// shows where it is for a person and stays quiet for scripts.
import cliProgress from 'cli-progress'

export interface Bar {
  update: (done: number, total: number) => void
  stop: () => void
}

export function progressBar (label: string): Bar {
  if (!process.stderr.isTTY) return { update: () => {}, stop: () => {} }
  const bar = new cliProgress.SingleBar({
    format: `${label} [{bar}] {percentage}% | {value}/{total} bytes`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  }, cliProgress.Presets.shades_classic)
  let started = false
  return {
    update: (done, total) => {
      if (!started) { bar.start(total, 0); started = true }
      bar.setTotal(total)
      bar.update(done)
    },
    stop: () => { if (started) bar.stop() },
  }
}

/** Runs `fn` with a bar's update function; the bar goes away afterwards. */
export async function withProgress<T> (label: string, fn: (update: Bar['update']) => Promise<T>): Promise<T> {
  const bar = progressBar(label)
  try {
    return await fn(bar.update)
  } finally {
    bar.stop()
  }
}
