import { describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import { base32nopad } from '@scure/base'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { NETWORK_PRESETS, THE_WAKU_NETWORK_PRESET, type NetworkPreset } from '../../src/discovery/presets.js'
import { THE_WAKU_NETWORK } from '../../src/message/sharding.js'

const presets = Object.values(NETWORK_PRESETS)

describe('network presets', () => {
  it('are listed by name, The Waku Network among them', () => {
    expect(NETWORK_PRESETS['the-waku-network']).toBe(THE_WAKU_NETWORK_PRESET)
    for (const [name, preset] of Object.entries(NETWORK_PRESETS)) expect(preset.name).toBe(name)
  })

  it('The Waku Network preset has the sharding the SDK uses (cluster 1, 8 shards)', () => {
    const { clusterId, numShardsInCluster } = THE_WAKU_NETWORK_PRESET
    expect({ clusterId, numShardsInCluster }).toEqual(THE_WAKU_NETWORK)
    expect(THE_WAKU_NETWORK).toEqual({ clusterId: 1, numShardsInCluster: 8 })
  })

  it.each(presets.map((p) => [p.name, p] as const))('%s: every bootstrap address is a wss multiaddr with a valid /p2p/ peer id', (_, preset: NetworkPreset) => {
    expect(preset.bootstrap.length).toBeGreaterThan(0)
    for (const address of preset.bootstrap) {
      const ma = multiaddr(address)
      expect(ma.toString()).toBe(address)
      const names = ma.getComponents().map((c) => c.name)
      // A browser page on https can only open secure WebSockets.
      const wss = names.includes('wss') || names.join('/').includes('tls/ws')
      expect(wss, address).toBe(true)
      expect(names).toContain('tcp')
      const p2p = ma.getComponents().filter((c) => c.name === 'p2p')
      expect(p2p, address).toHaveLength(1)
      expect(names.at(-1)).toBe('p2p')
      const id = peerIdFromString(p2p[0].value!)
      expect(id.toString()).toBe(p2p[0].value)
      // Waku nodes use secp256k1 identities.
      expect(id.type).toBe('secp256k1')
    }
    // No duplicate nodes.
    expect(new Set(preset.bootstrap).size).toBe(preset.bootstrap.length)
  })

  it.each(presets.map((p) => [p.name, p] as const))('%s: every ENR tree is enrtree://<base32 compressed secp256k1 key>@<domain>', (_, preset: NetworkPreset) => {
    expect(preset.enrTrees.length).toBeGreaterThan(0)
    for (const tree of preset.enrTrees) {
      const match = /^enrtree:\/\/([A-Z2-7]+)@([a-z0-9-]+(?:\.[a-z0-9-]+)+)$/.exec(tree)
      expect(match, tree).not.toBeNull()
      const key = base32nopad.decode(match![1])
      expect(key).toHaveLength(33)
      expect([2, 3]).toContain(key[0])
      // Throws unless the bytes are a point on the curve.
      const point = secp256k1.Point.fromBytes(key)
      expect(point.toBytes(true)).toEqual(key)
    }
  })

  it.each(presets.map((p) => [p.name, p] as const))('%s: DoH resolvers are https URLs', (_, preset: NetworkPreset) => {
    expect(preset.dohResolvers.length).toBeGreaterThan(0)
    for (const url of preset.dohResolvers) expect(new URL(url).protocol).toBe('https:')
  })

  it('is frozen through its lists', () => {
    expect(Object.isFrozen(THE_WAKU_NETWORK_PRESET)).toBe(true)
    expect(Object.isFrozen(NETWORK_PRESETS)).toBe(true)
    expect(() => { (THE_WAKU_NETWORK_PRESET.bootstrap as string[]).push('/dns4/evil/tcp/443/wss') }).toThrow(TypeError)
    expect(() => { (THE_WAKU_NETWORK_PRESET as { clusterId: number }).clusterId = 2 }).toThrow(TypeError)
    expect(THE_WAKU_NETWORK_PRESET.bootstrap).toHaveLength(3)
  })

  it('the checks above catch a bad key and a non-wss address', () => {
    // A key one bit off is (almost always) not on the curve; this one is checked not to be.
    const key = base32nopad.decode('AIRVQ5DDA4FFWLRBCHJWUWOO6X6S4ZTZ5B667LQ6AJU6PEYDLRD5O')
    const bad = Uint8Array.from(key)
    bad[32] ^= 1
    expect(() => secp256k1.Point.fromBytes(bad)).toThrow()
    const ws = multiaddr('/dns4/node-01.do-ams3.waku.sandbox.status.im/tcp/8000/ws/p2p/16Uiu2HAmNaeL4p3WEYzC9mgXBmBWSgWjPHRvatZTXnp8Jgv3iKsb')
    const names = ws.getComponents().map((c) => c.name)
    expect(names.includes('wss') || names.join('/').includes('tls/ws')).toBe(false)
  })
})
