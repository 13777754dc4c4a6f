// The instructions that set one config field from substituted words:
// WORKDIR (resolved against the current one; the directory itself is made
// by the RUN or COPY that uses it, or by `strata run`, so it lands in that
// step's layer), USER, EXPOSE (PORT[/PROTOCOL], tcp by default), VOLUME,
// MAINTAINER (the image's author) and STOPSIGNAL.
import path from 'node:path'
import { errnoError } from '../../base/errno-error.js'
import { expandWord, expandWords, type Vars } from '../expand-words.js'
import type { Instruction } from '../dockerfile-parser.js'
import { type Handler, stageVars } from '../build-state.js'
import { metaStep, nop, argvText, shellOf } from '../step-commit.js'

export const workdir: Handler = async (b, stage, ins) => {
  const dir = path.posix.resolve(stage.config.config?.WorkingDir || '/', expandWord(ins.args, stageVars(stage), b.escape))
  return metaStep(b, stage, `${shellOf(stage).join(' ')} #(nop) WORKDIR ${dir}`, (c) => { c.WorkingDir = dir })
}

export const user: Handler = async (b, stage, ins) => {
  const who = expandWord(ins.args, stageVars(stage), b.escape).trim()
  return metaStep(b, stage, nop(stage, `USER ${who}`), (c) => { c.User = who })
}

/** EXPOSE's ports as PORT/PROTOCOL; the plan checks them with stand-in values. */
export function exposedPorts (ins: Instruction, vars: Vars, escape: string): string[] {
  return expandWords(ins.args, vars, escape).map((p) => {
    if (!/^\d+(-\d+)?(\/(tcp|udp|sctp))?$/i.test(p)) throw errnoError('EINVAL', `EXPOSE: invalid port "${p}" (PORT or PORT/PROTOCOL)`)
    return p.includes('/') ? p.toLowerCase() : `${p}/tcp`
  })
}

/** VOLUME's paths; the plan checks them with stand-in values. */
export function volumePaths (ins: Instruction, vars: Vars, escape: string): string[] {
  const vols = ins.json ? ins.json.map((x) => expandWord(x, vars, escape)) : expandWords(ins.args, vars, escape)
  if (!vols.length || vols.some((x) => !x)) throw errnoError('EINVAL', 'VOLUME needs at least one path')
  return vols
}

export const expose: Handler = async (b, stage, ins) => {
  const ports = exposedPorts(ins, stageVars(stage), b.escape)
  return metaStep(b, stage, nop(stage, `EXPOSE ${ports.join(' ')}`), (c) => {
    c.ExposedPorts = { ...(c.ExposedPorts ?? {}) }
    for (const p of ports) c.ExposedPorts[p] = {}
  })
}

export const volume: Handler = async (b, stage, ins) => {
  const vols = volumePaths(ins, stageVars(stage), b.escape)
  return metaStep(b, stage, nop(stage, `VOLUME ${argvText(vols)}`), (c) => {
    c.Volumes = { ...(c.Volumes ?? {}) }
    for (const x of vols) c.Volumes[x] = {}
  })
}

export const maintainer: Handler = async (b, stage, ins) => {
  const who = expandWord(ins.args, stageVars(stage), b.escape).trim()
  return metaStep(b, stage, nop(stage, `MAINTAINER ${who}`), (_c, img) => { img.author = who })
}

export const stopsignal: Handler = async (b, stage, ins) => {
  const sig = expandWord(ins.args, stageVars(stage), b.escape).trim()
  return metaStep(b, stage, nop(stage, `STOPSIGNAL ${sig}`), (c) => { c.StopSignal = sig })
}
