// The durable outbox through the client: messages sent while no service node is reachable survive a SIGKILL of
// the process (a file outbox), and a new client on the same folder delivers each exactly once (counted by payload
// at the relays' archives: a re-stamped message has a new hash, so a second delivery would show as a second
// entry) once the network is there, confirmed by a store node; the outbox then empties.
import { spawn } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevnet, type Devnet } from '../../src/node/devnet.js'
import { createLightPushClient } from '../../src/client.js'
import { fileOutbox } from '../../src/node/outbox-file.js'
import { isLightPushError } from '../../src/errors.js'

const FIXTURE = fileURLToPath(new URL('./fixtures/outbox-sender.mjs', import.meta.url))
const DIST = fileURLToPath(new URL('../../dist/index.node.js', import.meta.url))
const texts = ['first', 'second', 'third'].map((t) => `outbox ${t} ${Date.now()}`)

let net: Devnet
let dir: string

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build:node` before this test')
  dir = mkdtempSync(join(tmpdir(), 'outbox-'))
  net = await createDevnet({ relays: 2, store: true, services: 1 })
}, 60_000)

afterAll(async () => {
  await net?.stop()
  if (dir != null) rmSync(dir, { recursive: true, force: true })
})

/** How many messages with `text` as payload each relay archived. */
function archived (text: string): number[] {
  return net.relays.map((r) => r.store!.archive.list().filter((m) => new TextDecoder().decode(m.message.payload) === text).length)
}

describe('client.send() and its file outbox', () => {
  it('survives a SIGKILL while offline; a new client delivers each message exactly once, confirmed, and the outbox empties', async () => {
    // Nothing listens there: the process has no service peer while it sends.
    const offline = ['/ip4/127.0.0.1/tcp/9/ws/p2p/16Uiu2HAmNaeL4p3WEYzC9mgXBmBWSgWjPHRvatZTXnp8Jgv3iKsb']
    const child = spawn(process.execPath, [FIXTURE, JSON.stringify({ dir, bootstrap: offline, texts })], { stdio: ['ignore', 'pipe', 'pipe'] })
    const line = await new Promise<{ ids: string[], pending: string[] }>((resolve, reject) => {
      createInterface({ input: child.stdout! }).on('line', (l) => { resolve(JSON.parse(l)) })
      child.on('exit', (code) => { reject(new Error(`the sender exited (${code}) before it said "sent"`)) })
    })
    expect(line.ids).toHaveLength(3)
    child.kill('SIGKILL')
    await new Promise((resolve) => child.on('exit', resolve))

    const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerCache: false }, allowInsecureLocal: true, outbox: { storage: fileOutbox(dir) } })
    try {
      expect(client.outbox!.pending().map((e) => e.id).sort()).toEqual([...line.ids].sort())
      const sent = new Set<string>()
      client.outbox!.addEventListener('message:sent', (e) => sent.add(e.detail.id))
      const deadline = Date.now() + 40_000
      while ((sent.size < 3 || client.outbox!.pending().length > 0) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
      expect([...sent].sort()).toEqual([...line.ids].sort())
      expect(client.outbox!.pending()).toEqual([])
      // Once at each relay, and a little later still once (nothing pushed again behind the confirmation).
      await new Promise((resolve) => setTimeout(resolve, 500))
      for (const text of texts) expect(archived(text)).toEqual([1, 1])
    } finally {
      await client.stop()
    }
    // Confirmed messages are gone from the folder too: a third client finds nothing.
    const third = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerCache: false }, allowInsecureLocal: true, outbox: { storage: fileOutbox(dir) } })
    expect(third.outbox!.pending()).toEqual([])
    await third.stop()
  }, 90_000)

  it('send() validates at once and a client without an outbox says so', async () => {
    const client = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerCache: false }, allowInsecureLocal: true, outbox: false })
    try {
      const err = await client.send({ contentTopic: '/a/1/b/proto', payload: new Uint8Array([1]) }).catch((e: unknown) => e)
      expect(isLightPushError(err) && err.code).toBe('INVALID_OPTIONS')
    } finally {
      await client.stop()
    }
    const withOutbox = await createLightPushClient({ discovery: { bootstrap: net.bootstrap, peerCache: false }, allowInsecureLocal: true })
    try {
      const bad = await withOutbox.send({ contentTopic: 'not a topic', payload: new Uint8Array([1]) }).catch((e: unknown) => e)
      expect(isLightPushError(bad) && bad.code).toBe('INVALID_CONTENT_TOPIC')
      expect(withOutbox.outbox!.pending()).toEqual([])
    } finally {
      await withOutbox.stop()
    }
  })
})
