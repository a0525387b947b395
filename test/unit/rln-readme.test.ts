// The README's RLN snippets ("Pushing to The Waku Network with your membership") type-check against the
// package's source, as a user's TypeScript would check them against the package: a renamed option or export
// fails here. (They need a membership and The Waku Network to run, so they are only type-checked.)
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const README = readFileSync(join(ROOT, 'README.md'), 'utf8')

function snippet (name: string): string {
  const match = README.match(new RegExp(`<!-- snippet: ${name} -->\\s*\`\`\`ts\\n([\\s\\S]*?)\`\`\``))
  if (match == null) throw new Error(`README.md has no snippet "${name}"`)
  return match[1] as string
}

describe('README: Pushing to The Waku Network with your membership', () => {
  it('is a section of the README, with the browser and the Node.js snippet', () => {
    expect(README).toContain('\n## Pushing to The Waku Network with your membership\n')
    expect(snippet('rln-browser')).toContain('createLightPushClient({ rln: prover })')
    expect(snippet('rln-node')).toContain('fileMessageIds(')
  })

  it('its snippets type-check against the package\'s entries (waku-lightpush, /rln, /node)', () => {
    const dir = join(ROOT, 'node_modules/.cache/waku-lightpush-rln-readme')
    mkdirSync(dir, { recursive: true })
    const files = ['rln-browser', 'rln-node'].map((name) => {
      const file = join(dir, `${name}.ts`)
      // A module of its own (top-level await), as in an app.
      writeFileSync(file, `${snippet(name)}\nexport {}\n`)
      return file
    })
    const program = ts.createProgram(files, {
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'],
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules/@types')],
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      baseUrl: ROOT,
      paths: {
        'waku-lightpush': ['src/index.ts'],
        'waku-lightpush/rln': ['src/rln/index.ts'],
        'waku-lightpush/node': ['src/node/index.ts']
      }
    })
    const problems = files.flatMap((f) => {
      const source = program.getSourceFile(f)
      return [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]
        .map((d) => `${f.split('/').pop()}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`)
    })
    expect(problems).toEqual([])
  }, 60_000)
})
