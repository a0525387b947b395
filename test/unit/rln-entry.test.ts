// waku-lightpush/rln stays apart: nothing else in the package loads it, it loads zerokit only when asked, and
// its entry has nothing Node-only (the file storage lives beside it, for waku-lightpush/node).
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const SRC = fileURLToPath(new URL('../../src/', import.meta.url))

function sources (dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => e.isDirectory()
    ? sources(join(dir, e.name))
    : e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [])
}
const imports = (file: string): string[] =>
  [...readFileSync(file, 'utf8').matchAll(/^\s*(?:import|export)(?!\s+type\b)[^'"\n]*?\bfrom\s*['"]([^'"]+)['"]|(?<!typeof )\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm)].map((m) => m[1] ?? m[2] ?? '')
const local = (file: string, spec: string): string => relative(SRC, resolve(dirname(file), spec).replace(/\.js$/, '.ts'))

describe('the RLN entry', () => {
  it('no module outside src/rln imports it but Node-side ones (src/node: the validator, the devnet, the CLI, its entry)', () => {
    const users = sources().filter((f) => !relative(SRC, f).startsWith('rln/'))
      .flatMap((f) => imports(f).filter((s) => s.startsWith('.') && local(f, s).startsWith('rln/')).map(() => relative(SRC, f)))
    expect(users).toContain('node/rln-validator.ts')
    // The client, the service and the browser entry never load RLN: only the app does, through waku-lightpush/rln.
    expect([...new Set(users)].filter((f) => !f.startsWith('node/'))).toEqual([])
  })

  it('loads @waku/zerokit-rln-wasm only by a dynamic import (a missing optional peer fails loadZerokit, not the import)', () => {
    const rln = sources(join(SRC, 'rln'))
    const staticZerokit = rln.filter((f) => /^\s*import\s+(?!type\b)[^'"\n]*from\s*['"]@waku\/zerokit-rln-wasm['"]/m.test(readFileSync(f, 'utf8')))
    expect(staticZerokit).toEqual([])
    expect(readFileSync(join(SRC, 'rln/zerokit.ts'), 'utf8')).toMatch(/await import\('@waku\/zerokit-rln-wasm'\)/)
  })

  it('its entry reaches no node: module statically (the file storage is not part of it)', () => {
    const seen = new Set<string>()
    const nodeOnly: string[] = []
    const walk = (file: string): void => {
      if (seen.has(file)) return
      seen.add(file)
      for (const s of imports(file)) {
        if (s.startsWith('node:')) nodeOnly.push(`${relative(SRC, file)} -> ${s}`)
        else if (s.startsWith('.')) walk(join(SRC, local(file, s)))
      }
    }
    walk(join(SRC, 'rln/index.ts'))
    expect(seen.size).toBeGreaterThan(10)
    expect(nodeOnly).toEqual([])
    expect([...seen].map((f) => relative(SRC, f))).not.toContain('rln/file-storage.ts')
    // The worker script is started by URL, never imported: a bundler makes it a bundle of its own.
    expect([...seen].map((f) => relative(SRC, f))).not.toContain('rln/rln-worker.ts')
  })

  it('starts the package\'s worker with the one form bundlers recognise, and the worker script never starts one', () => {
    const load = readFileSync(join(SRC, 'rln/load.ts'), 'utf8')
    expect(load).toContain("new Worker(new URL('./rln-worker.js', import.meta.url), { type: 'module' })")
    const walk = (file: string, seen = new Set<string>()): Set<string> => {
      if (seen.has(file)) return seen
      seen.add(file)
      for (const s of imports(file)) if (s.startsWith('.')) walk(join(SRC, local(file, s)), seen)
      return seen
    }
    const inWorker = [...walk(join(SRC, 'rln/rln-worker.ts'))].map((f) => relative(SRC, f))
    expect(inWorker).not.toContain('rln/load.ts')
    expect(inWorker.filter((f) => /^(?!\s*(?:\*|\/\/)).*new Worker\(/m.test(readFileSync(join(SRC, f), 'utf8')))).toEqual([])
  })
})
