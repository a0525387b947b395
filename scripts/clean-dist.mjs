// Removes the tsc output from dist/ before a build, so that a file whose source is gone is not shipped. The
// bundles (dist/cdn, dist/examples) are left to the builds that make them.
import { readdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'

const DIST = new URL('../dist/', import.meta.url).pathname
let entries = []
try { entries = readdirSync(DIST) } catch {}
for (const name of entries) {
  if (name !== 'cdn' && name !== 'examples') rmSync(join(DIST, name), { recursive: true, force: true })
}
