// The README documents what the package has: every client and push option (read from the shipped .d.ts), every
// error code, every logger namespace in the source. A new option, code or namespace fails here until documented.
import { readFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import { ROOT } from '../../bench/size-lib.mjs'

const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

/** The section of the README under `## title`, up to the next `## `. */
function section (title: string): string {
  const start = README.indexOf(`\n## ${title}\n`)
  expect(start, `README has a "## ${title}" section`).toBeGreaterThan(0)
  const end = README.indexOf('\n## ', start + 1)
  return README.slice(start, end < 0 ? undefined : end)
}

/** The first column's `names` of every table row in `text`. */
function tableNames (text: string): Set<string> {
  const names = new Set<string>()
  for (const line of text.split('\n')) {
    const first = line.match(/^\| ([^|]+) \|/)?.[1]
    // `name`, or `group.name` for an option inside a group
    for (const m of first?.matchAll(/`(?:[A-Za-z]+\.)?([A-Za-z]+)`/g) ?? []) names.add(m[1])
  }
  return names
}

/** Property names of exported interfaces of the built root entry, inherited ones included. */
function properties (...names: string[]): string[] {
  const file = join(ROOT, 'dist/index.d.ts')
  const program = ts.createProgram([file], { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, types: [], noEmit: true })
  const checker = program.getTypeChecker()
  const exports = checker.getExportsOfModule(checker.getSymbolAtLocation(program.getSourceFile(file)!)!)
  return names.flatMap((name) => {
    const symbol = exports.find((s) => s.name === name)
    expect(symbol, `dist/index.d.ts exports ${name}`).toBeDefined()
    const resolved = symbol!.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol!) : symbol!
    return checker.getPropertiesOfType(checker.getDeclaredTypeOfSymbol(resolved)).map((p) => p.name)
  })
}

describe('README', () => {
  it('documents every option of createLightPushClient and of push, with its default', () => {
    const documented = tableNames(section('Options'))
    const options = properties('LightPushClientOptions', 'PushOptions', 'DiscoveryOptions', 'UpkeepOptions')
    expect(options.length).toBeGreaterThan(30)
    expect(options.filter((o) => !documented.has(o))).toEqual([])
  })

  it('its error switch names every LightPushErrorCode (and the snippet checks exhaustiveness with never)', () => {
    const errors = readFileSync(join(ROOT, 'src/errors.ts'), 'utf8')
    const union = errors.slice(errors.indexOf('export type LightPushErrorCode'), errors.indexOf('export interface LightPushErrorOptions'))
    const codes = [...union.matchAll(/\| '([A-Z_]+)'/g)].map((m) => m[1])
    expect(codes.length).toBeGreaterThan(10)
    const snippet = README.match(/<!-- snippet: error-codes -->\s*```ts\n([\s\S]*?)```/)?.[1] ?? ''
    const cases = [...snippet.matchAll(/case '([A-Z_]+)'/g)].map((m) => m[1])
    expect(cases.sort()).toEqual([...codes].sort())
    expect(snippet).toContain('satisfies never')
  })

  it('lists every logger namespace the source uses', () => {
    const used = new Set<string>()
    const walk = (dir: string): void => {
      for (const e of readdirSync(dir, { withFileTypes: true })) {
        const p = join(dir, e.name)
        if (e.isDirectory()) walk(p)
        else if (e.name.endsWith('.ts')) for (const m of readFileSync(p, 'utf8').matchAll(/(?:forComponent\(\s*|componentLogger\([^,()]*,\s*)'([^']+)'/g)) used.add(m[1])
      }
    }
    walk(join(ROOT, 'src'))
    expect(used.size).toBeGreaterThan(0)
    const block = README.slice(README.indexOf('<!-- namespaces -->'), README.indexOf('<!-- /namespaces -->'))
    const listed = new Set([...block.matchAll(/^- `([^`]+)`/gm)].map((m) => m[1]))
    expect([...used].sort()).toEqual([...listed].sort())
  })
})
