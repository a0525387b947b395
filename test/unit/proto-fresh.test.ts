import { execFileSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))
const out = mkdtempSync(join(tmpdir(), 'proto-fresh-'))

afterAll(() => { rmSync(out, { recursive: true, force: true }) })

describe('generated protobuf code', () => {
  it('src/proto matches what scripts/proto.mjs generates from proto/ (run `npm run proto` if stale)', () => {
    execFileSync(process.execPath, [join(root, 'scripts/proto.mjs'), out], { cwd: root, stdio: 'pipe' })
    const generated = readdirSync(out).sort()
    expect(generated).toContain('lightpush.js')
    expect(generated).toContain('lightpush.d.ts')
    for (const name of generated) {
      const fresh = readFileSync(join(out, name))
      const committed = readFileSync(join(root, 'src/proto', name))
      // Compare as text first for a readable diff, then byte for byte.
      expect(committed.toString('utf8'), `src/proto/${name} is stale`).toBe(fresh.toString('utf8'))
      expect(Buffer.compare(committed, fresh), `src/proto/${name} differs byte-wise`).toBe(0)
    }
  }, 60_000)
})
