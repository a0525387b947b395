import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { createRelayNode, type WakuNode } from '../../src/node/service-node.js'
import { createRlnProver, loadZerokit, memoryMessageIds, parseKeystore, readCredential, type MembershipSource, type RlnNetworkParameters } from '../../src/rln/index.js'
import { hexToBytes } from '../../src/rln/field.js'
import { RLN_CIRCUIT } from '../../src/node/devnet-rln.js'
import { createLightPushClient } from '../../src/client.js'

const CLI = fileURLToPath(new URL('../../dist/node/cli.js', import.meta.url))

function run (args: string[], nodeArgs: string[] = []): Promise<{ code: number | null, stdout: string, stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...nodeArgs, CLI, ...args])
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => { stdout += d })
    child.stderr.on('data', (d) => { stderr += d })
    child.on('close', (code) => { resolve({ code, stdout, stderr }) })
  })
}

/** Starts a long-running command and resolves with its first stdout line, parsed. */
function start (args: string[]): Promise<{ child: ChildProcess, first: any }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
    createInterface({ input: child.stdout! }).once('line', (l) => { resolve({ child, first: JSON.parse(l) }) })
    child.once('exit', (code) => { reject(new Error(`exited early with ${code}`)) })
  })
}

function stop (child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => { resolve(code) })
    child.kill('SIGINT')
  })
}

describe('waku-lightpush CLI', () => {
  let relay: WakuNode
  beforeAll(async () => {
    expect(existsSync(CLI), 'run `npm run build` first: the CLI test runs dist/node/cli.js').toBe(true)
    relay = await createRelayNode()
  })
  afterAll(async () => { await relay?.stop() })

  it('has --help for every command', async () => {
    for (const command of ['serve', 'devnet', 'push', 'demo']) {
      const { code, stdout } = await run([command, '--help'])
      expect(code).toBe(0)
      expect(stdout).toContain(`waku-lightpush ${command}`)
    }
    const unknown = await run(['frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toContain('Unknown command')
  })

  it('serve prints its listening line, push delivers through it, SIGINT stops it cleanly', async () => {
    const { child, first } = await start(['serve', '--relay-peer', relay.multiaddrs[0]])
    try {
      expect(first.event).toBe('listening')
      // secp256k1 ids start 16Uiu2HA, Ed25519 ones 12D3KooW (the next letter varies with the key).
      expect(first.peerId).toMatch(/^(12D3KooW|16Uiu2HA)\w+$/)
      expect(first.multiaddrs[0]).toContain(`/p2p/${first.peerId}`)
      // gossipsub needs a moment to exchange subscriptions after the connection.
      await expect.poll(() => relay.relayPeerCount(), { timeout: 10_000, interval: 50 }).toBeGreaterThanOrEqual(1)
      let result = await run(['push', '--peer', first.multiaddrs[0], '--content-topic', '/cli/1/test/proto', '--payload', 'hello', '--json'])
      for (let i = 0; i < 10 && result.code !== 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 200))
        result = await run(['push', '--peer', first.multiaddrs[0], '--content-topic', '/cli/1/test/proto', '--payload', 'hello', '--json'])
      }
      expect(result.code).toBe(0)
      const out = JSON.parse(result.stdout.trim())
      expect(out).toMatchObject({ event: 'delivered', relayPeerCount: 1, peer: first.peerId, pubsubTopic: expect.stringMatching(/^\/waku\/2\/rs\/1\/\d$/) })
      expect(out.messageHash).toMatch(/^0x[0-9a-f]{64}$/)
    } finally {
      expect(await stop(child)).toBe(0)
    }
  })

  it('push exits non-zero with the error code when nothing is delivered', async () => {
    const { child, first } = await start(['serve'])
    try {
      const result = await run(['push', '--peer', first.multiaddrs[0], '--content-topic', '/cli/1/test/proto', '--payload', 'x', '--json', '--timeout', '5000'])
      expect(result.code).toBe(1)
      const out = JSON.parse(result.stdout.trim())
      expect(out.event).toBe('failed')
      expect(['EXHAUSTED', 'TIMEOUT']).toContain(out.code)
      expect(out.attempts.length).toBeGreaterThan(0)
      expect(out.attempts[0].status).toBe(503)
    } finally {
      await stop(child)
    }
    const bad = await run(['push', '--peer', first.multiaddrs[0], '--content-topic', 'nope', '--payload', 'x'])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toContain('INVALID_CONTENT_TOPIC')
  })

  it('push with a --peer that is not a multiaddr with /p2p/<peer id> exits 2: one stderr line, or one JSON line', async () => {
    for (const peer of ['nope', '/ip4/127.0.0.1/tcp/1/ws', '/ip4/127.0.0.1/tcp/1/ws/p2p/xyz']) {
      const args = ['push', '--peer', peer, '--content-topic', '/cli/1/test/proto', '--payload', 'x']
      const plain = await run(args)
      expect(plain.code).toBe(2)
      expect(plain.stdout).toBe('')
      expect(plain.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(plain.stderr).toMatch(/^INVALID_OPTIONS: --peer: Bootstrap address /)
      expect(plain.stderr).toContain(JSON.stringify(peer))
      const json = await run([...args, '--json'])
      expect(json.code).toBe(2)
      expect(json.stderr).toBe('')
      const lines = json.stdout.trimEnd().split('\n')
      expect(lines).toHaveLength(1)
      const out = JSON.parse(lines[0])
      expect(Object.keys(out)).toEqual(['event', 'code', 'message', 'attempts'])
      expect(out).toMatchObject({ event: 'failed', code: 'INVALID_OPTIONS', attempts: [] })
      expect(out.message).toContain(JSON.stringify(peer))
    }
  })

  it('devnet prints services with their relay peers and fault profiles', async () => {
    const { child, first } = await start(['devnet', '--relays', '2', '--services', '1', '--faults', 'always-503'])
    try {
      expect(first.event).toBe('listening')
      expect(first.relays).toHaveLength(2)
      expect(first.services).toHaveLength(2)
      expect(first.services[0]).toMatchObject({ relayPeers: 2 })
      expect(first.services[1]).toMatchObject({ relayPeers: 2, fault: 'always-503' })
    } finally {
      expect(await stop(child)).toBe(0)
    }
  })

  it('devnet --rln: every node enforces; /devnet.json hands out the members (keystore and password), /rln/proof/<index> their paths, and a client proving with them is delivered', async () => {
    const { child, first } = await start(['devnet', '--relays', '2', '--services', '1', '--rln', '--rln-members', '2', '--rln-epoch', '60', '--rln-limit', '5'])
    try {
      expect(first).toMatchObject({ event: 'listening', rln: { members: 2, epochSizeSeconds: 60, userMessageLimit: 5 }, http: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+\/$/) })
      const get = async (path: string): Promise<any> => await (await fetch(new URL(path, first.http))).json()
      const info = (await get('devnet.json')).rln
      expect(info).toMatchObject({ network: { name: 'devnet', clusterId: 1, epochSizeSeconds: 60, userMessageLimit: 5 }, password: 'devnet', membership: { size: 2, merkleProofPath: '/rln/proof/{index}' } })
      expect(info.members).toHaveLength(2)
      expect(Object.keys(info.keystore.credentials)).toEqual(info.members.map((m: { membershipHash: string }) => m.membershipHash))
      expect((await fetch(new URL('rln/proof/2', first.http))).status).toBe(404)
      // Without a proof the node refuses (420 RLN validation failed), which the client tells as RLN_REQUIRED.
      const refused = await run(['push', '--peer', first.services[0].multiaddrs[0], '--content-topic', '/cli/1/test/proto', '--payload', 'no proof', '--json'])
      expect(refused.code).toBe(1)
      expect(JSON.parse(refused.stdout.trim())).toMatchObject({ event: 'failed', code: 'RLN_REQUIRED', attempts: [{ status: 420, statusDesc: 'RLN validation failed' }] })

      // What a browser would do with it: the keystore's credential, and a membership read over HTTP.
      const credential = await readCredential(parseKeystore(info.keystore), info.password, info.members[1].membershipHash)
      expect(credential.membership.treeIndex).toBe(1)
      const membership: MembershipSource = {
        merkleProof: async (index) => {
          const p = await get(info.membership.merkleProofPath.replace('{index}', String(index)).slice(1))
          return { index: p.index, root: hexToBytes(p.root), pathElements: p.pathElements.map(hexToBytes), pathIndices: p.pathIndices }
        },
        roots: async () => (await get(info.membership.rootsPath.slice(1))).roots.map(hexToBytes)
      }
      const network: RlnNetworkParameters = { ...info.network, rlnIdentifier: hexToBytes(info.network.rlnIdentifier) }
      const engine = await loadZerokit({ circuit: RLN_CIRCUIT })
      const prover = createRlnProver({ engine, credential, membership, storage: memoryMessageIds(), network })
      const client = await createLightPushClient({ discovery: { bootstrap: [first.services[0].multiaddrs[0]], peerExchange: false, peerCache: false }, allowInsecureLocal: true, rln: prover })
      try {
        const result = await client.push({ contentTopic: '/cli/1/test/proto', payload: new TextEncoder().encode('proved') })
        expect(result).toMatchObject({ relayPeerCount: 2, peer: first.services[0].peerId })
      } finally {
        await client.stop()
      }
    } finally {
      expect(await stop(child)).toBe(0)
    }
  }, 90_000)

  it('devnet --rln without @waku/zerokit-rln-wasm: one MISSING_DEPENDENCY line, exit status 2', async () => {
    // The package hidden from the CLI's process by a resolve hook, as if it were not installed.
    const dir = mkdtempSync(join(tmpdir(), 'cli-no-zerokit-'))
    try {
      writeFileSync(join(dir, 'hooks.mjs'), `export async function resolve (specifier, context, next) {
  if (specifier === '@waku/zerokit-rln-wasm') throw Object.assign(new Error("Cannot find package '@waku/zerokit-rln-wasm'"), { code: 'ERR_MODULE_NOT_FOUND' })
  return next(specifier, context)
}\n`)
      writeFileSync(join(dir, 'register.mjs'), `import { register } from 'node:module'\nregister(${JSON.stringify(pathToFileURL(join(dir, 'hooks.mjs')).href)})\n`)
      const res = await run(['devnet', '--relays', '1', '--services', '1', '--rln'], ['--import', pathToFileURL(join(dir, 'register.mjs')).href])
      expect(res.code).toBe(2)
      expect(res.stdout).toBe('')
      expect(res.stderr.trimEnd().split('\n')).toHaveLength(1)
      expect(res.stderr).toMatch(/^MISSING_DEPENDENCY: --rln needs the package @waku\/zerokit-rln-wasm/)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it('--rln options without --rln, or not numbers, are usage errors (exit 2)', async () => {
    for (const args of [['devnet', '--rln-members', '3'], ['serve', '--rln', '--rln-epoch', 'x'], ['devnet', '--http', 'x']]) {
      const res = await run(args)
      expect(res.code).toBe(2)
      expect(res.stderr).toMatch(/--rln-members|--http/)
    }
  })
})
