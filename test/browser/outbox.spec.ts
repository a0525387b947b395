// client.send() in Chromium (issue #13): the IndexedDB outbox keeps what was sent while no peer was reachable
// across a reload, and the next page's client, on a network that is there again, delivers each message exactly
// once (counted by payload in each relay's Store archive: a re-stamped duplicate would be a second entry),
// confirmed by a store node; the outbox then empties, and stays empty after another reload.
// The page is the CDN's ES module build (dist/cdn), served here on one origin (one IndexedDB) for every load. The
// suite's shared devnet has no Store on its relays, so this spec starts its own: 2 relays with `store: true`, 1
// service node.
import { createServer, type Server } from 'node:http'
import { readFile } from 'node:fs/promises'
import { extname, join, normalize } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Page } from '@playwright/test'
import { test, expect, settledState } from './fixtures.js'
import type { Devnet } from '../../src/node/devnet.js'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const PAGE = join(ROOT, 'test/browser/outbox-page/index.html')
const CDN = join(ROOT, 'dist/cdn')
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.map': 'application/json' }
const TOPIC = '/waku-lightpush/1/outbox-browser/proto'
const DB = 'waku-lightpush:outbox'

let net: Devnet
let server: Server
let url: string
/**
 * The first page's only bootstrap peer: a port that was just free and is closed again (refused at once; not a
 * port Chromium calls unsafe), with a valid peer id so the address is accepted.
 */
let unreachable: string[]

test.beforeAll(async () => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const closedPort = (closed.address() as { port: number }).port
  await new Promise((resolve) => closed.close(resolve))
  unreachable = [`/ip4/127.0.0.1/tcp/${closedPort}/ws/p2p/16Uiu2HAmNaeL4p3WEYzC9mgXBmBWSgWjPHRvatZTXnp8Jgv3iKsb`]
  const { createDevnet } = await import(pathToFileURL(join(ROOT, 'dist/node/index.js')).href) as typeof import('../../src/node/index.js')
  net = await createDevnet({ relays: 2, store: true, services: 1 })
  server = createServer((req, res) => {
    const path = normalize(decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname))
    if (path === '/favicon.ico') { res.writeHead(204); res.end(); return }
    const file = path === '/' ? PAGE : path.startsWith('/cdn/') ? join(CDN, path.slice('/cdn/'.length)) : ''
    readFile(file).then((body) => {
      res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' })
      res.end(body)
    }, () => { res.writeHead(404); res.end() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  url = `http://127.0.0.1:${typeof address === 'object' && address != null ? address.port : 0}/`
})

test.afterAll(async () => {
  if (server != null) await new Promise((resolve) => server.close(resolve))
  await net?.stop()
})

interface EntryJson { id: string, state: string, attempts: number, hashes: string[], payload: string, lastError?: { code?: string, message: string } }
/** What a page step returns: its value, or the error it threw (name, code, message, stack) for the report. */
type Step<T> = { ok: true, value: T } | { ok: false, error: { name?: string, code?: string, message: string, stack?: string } }

async function loaded (page: Page): Promise<void> {
  expect(await settledState(page, '#status', ['ready', 'error']), await page.textContent('#status') ?? '').toBe('ready')
}

/** Creates the page's client (window.client) with `bootstrap`, records its outbox events, returns pending(). */
async function startClient (page: Page, bootstrap: string[]): Promise<Step<EntryJson[]>> {
  return await page.evaluate(async (bootstrap) => {
    const w = window as any
    const entries = (): unknown[] => w.client.outbox.pending().map((e: any) => ({
      id: e.id, state: e.state, attempts: e.attempts, hashes: e.hashes, payload: new TextDecoder().decode(e.payload), ...(e.lastError != null ? { lastError: e.lastError } : {})
    }))
    w.entries = entries
    try {
      w.client = await w.WakuLightPush.createLightPushClient({ discovery: { bootstrap, peerCache: false }, allowInsecureLocal: true })
      w.events = []
      for (const type of ['message:sent', 'message:send-propagated', 'message:send-error', 'outbox:retry', 'outbox:restamped']) {
        w.client.outbox.addEventListener(type, (e: CustomEvent) => {
          const err = e.detail.error
          w.events.push({ type, id: e.detail.id, hash: e.detail.messageHash, state: e.detail.state, by: e.detail.by, ...(err != null ? { error: `${err.code ?? err.name}: ${err.message}` } : {}) })
        })
      }
      return { ok: true, value: entries() }
    } catch (err: any) {
      return { ok: false, error: { name: err?.name, code: err?.code, message: String(err?.message ?? err), stack: err?.stack } }
    }
  }, bootstrap) as Step<EntryJson[]>
}

/** The records in the outbox's IndexedDB database, read directly (ids and states), or null when there is none. */
async function storedRecords (page: Page): Promise<Array<{ id: string, state: string }> | null> {
  return await page.evaluate(async (name) => {
    if (!(await indexedDB.databases()).some((d) => d.name === name)) return null
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(name)
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
    try {
      if (!db.objectStoreNames.contains('messages')) return null
      const all = await new Promise<any[]>((resolve, reject) => {
        const req = db.transaction('messages', 'readonly').objectStore('messages').getAll()
        req.onsuccess = () => resolve(req.result)
        req.onerror = () => reject(req.error)
      })
      return all.map((r) => ({ id: r.id as string, state: r.state as string }))
    } finally {
      db.close()
    }
  }, DB)
}

/** How many messages with `text` as payload each relay archived. */
function archived (text: string): number[] {
  return net.relays.map((r) => r.store!.archive.list().filter((m) => new TextDecoder().decode(m.message.payload) === text).length)
}

test('messages sent while offline survive a reload in IndexedDB; the next page delivers each exactly once, confirmed, and the outbox empties', async ({ page }) => {
  test.setTimeout(45_000)
  const started = Date.now()
  const texts = ['first', 'second', 'third'].map((t) => `browser outbox ${t} ${started}`)

  // 1. Offline: the only bootstrap peer is unreachable. send() resolves once each message is in IndexedDB.
  await page.goto(url)
  await loaded(page)
  expect(await storedRecords(page), 'a fresh origin has no outbox database').toBeNull()
  const offline = await startClient(page, unreachable)
  expect(offline, JSON.stringify(offline)).toMatchObject({ ok: true, value: [] })
  const sent = await page.evaluate(async ({ texts, topic }) => {
    const w = window as any
    try {
      const ids: string[] = []
      for (const text of texts) ids.push((await w.client.send({ contentTopic: topic, payload: new TextEncoder().encode(text) })).id)
      return { ok: true, value: { ids, pending: w.entries() } }
    } catch (err: any) {
      return { ok: false, error: { name: err?.name, code: err?.code, message: String(err?.message ?? err), stack: err?.stack } }
    }
  }, { texts, topic: TOPIC }) as Step<{ ids: string[], pending: EntryJson[] }>
  expect(sent, JSON.stringify(sent)).toMatchObject({ ok: true })
  if (!sent.ok) return
  const ids = sent.value.ids
  expect(new Set(ids).size).toBe(3)
  expect(sent.value.pending.map((e) => e.id)).toEqual(ids)
  expect(sent.value.pending.map((e) => e.payload)).toEqual(texts)
  for (const e of sent.value.pending) expect(['queued', 'sending']).toContain(e.state)
  const before = await storedRecords(page)
  expect(before?.map((r) => r.id).sort()).toEqual([...ids].sort())
  console.log(`offline: 3 messages in the outbox after ${Date.now() - started} ms, states ${sent.value.pending.map((e) => e.state).join(', ')}`)

  // 2. Reload (no stop(): the page just goes away) on the same origin, so the same IndexedDB; the network is back.
  await page.reload()
  await loaded(page)
  expect((await storedRecords(page))?.map((r) => r.id).sort(), 'the reload kept every record').toEqual([...ids].sort())
  const back = await startClient(page, net.bootstrap)
  expect(back, JSON.stringify(back)).toMatchObject({ ok: true })
  if (!back.ok) return
  expect(back.value.map((e) => e.id), 'the new client picked up what the last page left').toEqual(ids)
  for (const e of back.value) expect(['queued', 'sending']).toContain(e.state)

  const reloadedAt = Date.now()
  const outcome = await page.evaluate(async (ids) => {
    const w = window as any
    const done = (): boolean => ids.every((id) => w.events.some((e: any) => e.type === 'message:sent' && e.id === id)) && w.client.outbox.pending().length === 0
    const deadline = Date.now() + 25_000
    while (!done() && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
    return { events: w.events, pending: w.entries() }
  }, ids) as { events: Array<{ type: string, id: string, hash: string, state?: string, by?: string[], error?: string }>, pending: EntryJson[] }
  const diagnosis = JSON.stringify(outcome)
  const confirmedIds = outcome.events.filter((e) => e.type === 'message:sent').map((e) => e.id)
  expect([...confirmedIds].sort(), diagnosis).toEqual([...ids].sort())
  expect(outcome.events.filter((e) => e.type === 'message:send-error'), diagnosis).toEqual([])
  // Confirmed by a store node (a relay: the service node that took the push keeps no archive), not just relayed.
  const relayIds = net.relays.map((r) => r.peerId)
  for (const e of outcome.events.filter((e) => e.type === 'message:sent')) {
    expect(e.state, diagnosis).toBe('confirmed')
    expect(e.by?.length, diagnosis).toBeGreaterThan(0)
    for (const by of e.by ?? []) expect(relayIds, diagnosis).toContain(by)
  }
  expect(outcome.pending, diagnosis).toEqual([])
  console.log(`back online: 3 of 3 confirmed ${Date.now() - reloadedAt} ms after the new client started; events: ${outcome.events.map((e) => e.type).join(', ')}`)

  // Once at each relay's archive, and a little later still once (nothing pushed again behind the confirmation).
  await new Promise((resolve) => setTimeout(resolve, 500))
  for (const text of texts) expect(archived(text), text).toEqual([1, 1])
  expect(await storedRecords(page), 'confirmed messages are gone from IndexedDB').toEqual([])

  // 3. Another reload: nothing comes back.
  await page.reload()
  await loaded(page)
  expect(await storedRecords(page)).toEqual([])
  const again = await startClient(page, unreachable)
  expect(again, JSON.stringify(again)).toMatchObject({ ok: true, value: [] })
  await page.evaluate(async () => { await (window as any).client.stop() })
  console.log(`whole test ${Date.now() - started} ms`)
})
