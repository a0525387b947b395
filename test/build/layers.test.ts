// The source's shape: each folder imports only from the layers below it, and no module reaches itself again
// through its imports. A contract's own folder is the one exception, as in js-libp2p's services: the class file
// imports the types of its folder's index.ts (type-only), which in turn exports the factory made from the class.
import { readFileSync, readdirSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../bench/size-lib.mjs'

const SRC = join(ROOT, 'src')
/** Lower layers first; a module may import its own layer's and lower ones. */
const LAYERS: Record<string, number> = {
  utils: 0, 'errors.ts': 0, proto: 0, 'websockets.ts': 0,
  message: 1,
  protocol: 2,
  peers: 3,
  push: 4, discovery: 4, store: 4,
  service: 5, outbox: 5,
  'client.ts': 6, 'webrtc-transports.ts': 6, rln: 6,
  'index.ts': 7, 'index.node.ts': 7, 'webrtc.ts': 7,
  node: 8
}

interface Edge { to: string, typeOnly: boolean }

function sourceGraph (): Map<string, Edge[]> {
  const graph = new Map<string, Edge[]>()
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, e.name)
      if (e.isDirectory()) walk(path)
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) {
        const edges: Edge[] = []
        for (const m of readFileSync(path, 'utf8').matchAll(/^\s*(import|export)(\s+type)?\b[^'"\n]*?\bfrom\s*['"](\.[^'"]+)['"]/gm)) {
          edges.push({ to: relative(SRC, resolve(dirname(path), m[3]).replace(/\.js$/, '.ts')), typeOnly: m[2] != null })
        }
        graph.set(relative(SRC, path), edges)
      }
    }
  }
  walk(SRC)
  return graph
}

const layerOf = (file: string): string => file.split('/')[0]

describe('source layers', () => {
  const graph = sourceGraph()

  it('every top-level folder or file has a layer', () => {
    expect([...new Set([...graph.keys()].map(layerOf))].filter((l) => !(l in LAYERS))).toEqual([])
  })

  it('no module imports from a layer above its own', () => {
    const up: string[] = []
    for (const [from, edges] of graph) {
      for (const { to } of edges) {
        if (layerOf(from) !== layerOf(to) && LAYERS[layerOf(to)] > LAYERS[layerOf(from)]) up.push(`${from} -> ${to}`)
      }
    }
    expect(up).toEqual([])
  })

  it('no import cycle (but a class file\'s type-only import of its own folder\'s contract, index.ts)', () => {
    const allowed = (from: string, e: Edge): boolean => e.typeOnly && dirname(from) === dirname(e.to) && e.to.endsWith('/index.ts')
    const cycles: string[] = []
    const state = new Map<string, 'open' | 'done'>()
    const stack: string[] = []
    const visit = (file: string): void => {
      state.set(file, 'open')
      stack.push(file)
      for (const e of graph.get(file) ?? []) {
        if (allowed(file, e)) continue
        if (state.get(e.to) === 'open') cycles.push([...stack.slice(stack.indexOf(e.to)), e.to].join(' -> '))
        else if (!state.has(e.to)) visit(e.to)
      }
      stack.pop()
      state.set(file, 'done')
    }
    for (const file of graph.keys()) if (!state.has(file)) visit(file)
    expect(cycles).toEqual([])
  })
})
