import { RLP } from '@ethereumjs/rlp'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { base64urlnopad } from '@scure/base'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { publicKeyFromRaw } from '@libp2p/crypto/keys'
import { peerIdFromPublicKey } from '@libp2p/peer-id'
import { LightPushError } from '../errors.js'
import { mayServe } from '../peers/serves-shard.js'
import type { PeerId } from '@libp2p/interface'

/** EIP-778: a record is at most 300 bytes. */
export const MAX_ENR_SIZE = 300

/** The `waku2` capability bits of 31/WAKU2-ENR. */
export interface Waku2Capabilities {
  relay: boolean
  store: boolean
  filter: boolean
  lightPush: boolean
  sync: boolean
}

/** The `rs` field of a Waku ENR: a cluster and its shards. */
export interface RelayShards {
  clusterId: number
  shards: number[]
}

/** A decoded, signature-checked Waku ENR. */
export interface Enr {
  seq: bigint
  /** Compressed secp256k1 public key (33 bytes). */
  publicKey: Uint8Array
  peerId: PeerId
  ip?: string
  tcp?: number
  udp?: number
  ip6?: string
  tcp6?: number
  /** The `multiaddrs` field (31/WAKU2-ENR), e.g. WebSocket addresses, without /p2p. */
  multiaddrs: Multiaddr[]
  waku2?: Waku2Capabilities
  /** `rs` or `rsv`: the relay shards the node serves. */
  shards?: RelayShards
  /** Every key/value pair as found, for fields this SDK does not interpret. */
  fields: Map<string, Uint8Array>
}

const textEncoder = new TextEncoder()
const textDecoder = new TextDecoder()

/** Decodes `enr:<base64url>` (or the raw RLP bytes) and checks its v4 signature. Throws `INVALID_ENR`. */
export function decodeEnr (input: string | Uint8Array): Enr {
  let bytes: Uint8Array
  if (typeof input === 'string') {
    if (!input.startsWith('enr:')) throw invalid('an ENR text starts with "enr:"')
    try {
      bytes = base64urlnopad.decode(input.slice(4).replace(/=+$/, ''))
    } catch {
      throw invalid('not base64url')
    }
  } else {
    bytes = input
  }
  if (bytes.byteLength > MAX_ENR_SIZE) throw invalid(`${bytes.byteLength} bytes, over the ${MAX_ENR_SIZE} bytes of EIP-778`)
  let list: unknown
  try {
    list = RLP.decode(bytes)
  } catch (err) {
    throw invalid(`not RLP (${(err as Error).message})`)
  }
  if (!Array.isArray(list) || list.length < 2 || list.length % 2 !== 0 || !list.every((x) => x instanceof Uint8Array)) {
    throw invalid('expected an RLP list [signature, seq, key, value, ...]')
  }
  const [signature, seqBytes, ...kv] = list as Uint8Array[]
  const fields = new Map<string, Uint8Array>()
  let previous = ''
  for (let i = 0; i < kv.length; i += 2) {
    const key = textDecoder.decode(kv[i])
    if (key <= previous && i > 0) throw invalid('keys are not sorted and unique')
    previous = key
    fields.set(key, kv[i + 1])
  }
  if (textDecoder.decode(fields.get('id') ?? new Uint8Array()) !== 'v4') throw invalid('only identity scheme "v4" is supported')
  const publicKey = fields.get('secp256k1')
  if (publicKey == null || publicKey.byteLength !== 33) throw invalid('missing or malformed secp256k1 key')
  const content = RLP.encode([seqBytes, ...kv])
  let valid = false
  try {
    valid = signature.byteLength === 64 && secp256k1.verify(signature, keccak_256(content), publicKey, { prehash: false, lowS: false })
  } catch {
    valid = false
  }
  if (!valid) throw invalid('bad signature')
  const enr: Enr = {
    seq: bytesToBigInt(seqBytes),
    publicKey,
    peerId: peerIdFromPublicKey(publicKeyFromRaw(publicKey)),
    multiaddrs: [],
    fields
  }
  const ip = fields.get('ip')
  if (ip?.byteLength === 4) enr.ip = Array.from(ip).join('.')
  const ip6 = fields.get('ip6')
  if (ip6?.byteLength === 16) enr.ip6 = Array.from({ length: 8 }, (_, i) => ((ip6[2 * i] << 8) | ip6[2 * i + 1]).toString(16)).join(':')
  for (const key of ['tcp', 'udp', 'tcp6'] as const) {
    const v = fields.get(key)
    if (v != null && v.byteLength > 0 && v.byteLength <= 2) enr[key] = Number(bytesToBigInt(v))
  }
  const ma = fields.get('multiaddrs')
  if (ma != null) enr.multiaddrs = decodeMultiaddrs(ma)
  const waku2 = fields.get('waku2')
  if (waku2?.byteLength === 1) {
    const b = waku2[0]
    enr.waku2 = { relay: (b & 1) !== 0, store: (b & 2) !== 0, filter: (b & 4) !== 0, lightPush: (b & 8) !== 0, sync: (b & 16) !== 0 }
  }
  const shards = decodeShards(fields.get('rs'), fields.get('rsv'))
  if (shards != null) enr.shards = shards
  return enr
}

/** Addresses to dial: the `multiaddrs` field and ip/tcp, each with /p2p/<peer id>. */
export function enrDialAddresses (enr: Enr): Multiaddr[] {
  const out: Multiaddr[] = [...enr.multiaddrs]
  if (enr.ip != null && enr.tcp != null) out.push(multiaddr(`/ip4/${enr.ip}/tcp/${enr.tcp}`))
  if (enr.ip6 != null && enr.tcp6 != null) out.push(multiaddr(`/ip6/${enr.ip6}/tcp/${enr.tcp6}`))
  const p2p = `/p2p/${enr.peerId.toString()}`
  return out.map((ma) => (ma.toString().includes('/p2p/') ? ma : ma.encapsulate(p2p)))
}

/** What `encodeEnr` signs into a record. */
export interface EnrInit {
  /** 32-byte secp256k1 private key. */
  privateKey: Uint8Array
  seq?: bigint
  ip?: string
  tcp?: number
  udp?: number
  multiaddrs?: Array<Multiaddr | string>
  waku2?: Partial<Waku2Capabilities>
  shards?: RelayShards
}

/** Builds and signs a v4 ENR (what a service node announces). */
export function encodeEnr (init: EnrInit): string {
  const kv: Array<[string, Uint8Array]> = [
    ['id', textEncoder.encode('v4')],
    ['secp256k1', secp256k1.getPublicKey(init.privateKey, true)]
  ]
  if (init.ip != null) kv.push(['ip', new Uint8Array(init.ip.split('.').map(Number))])
  if (init.tcp != null) kv.push(['tcp', u16(init.tcp)])
  if (init.udp != null) kv.push(['udp', u16(init.udp)])
  if (init.multiaddrs != null && init.multiaddrs.length > 0) {
    const parts = init.multiaddrs.map((m) => (typeof m === 'string' ? multiaddr(m) : m).bytes)
    kv.push(['multiaddrs', concat(parts.flatMap((p) => [u16Fixed(p.byteLength), p]))])
  }
  if (init.waku2 != null) {
    const w = init.waku2
    kv.push(['waku2', new Uint8Array([(w.relay === true ? 1 : 0) | (w.store === true ? 2 : 0) | (w.filter === true ? 4 : 0) | (w.lightPush === true ? 8 : 0) | (w.sync === true ? 16 : 0)])])
  }
  if (init.shards != null) {
    kv.push(['rs', concat([u16Fixed(init.shards.clusterId), new Uint8Array([init.shards.shards.length]), ...init.shards.shards.map(u16Fixed)])])
  }
  kv.sort(([a], [b]) => (a < b ? -1 : 1))
  const seq = bigIntToBytes(init.seq ?? 1n)
  const flat = kv.flatMap(([k, v]) => [textEncoder.encode(k), v])
  const signature = secp256k1.sign(keccak_256(RLP.encode([seq, ...flat])), init.privateKey, { prehash: false })
  const bytes = RLP.encode([signature, seq, ...flat])
  if (bytes.byteLength > MAX_ENR_SIZE) throw invalid(`${bytes.byteLength} bytes, over the ${MAX_ENR_SIZE} bytes of EIP-778`)
  return `enr:${base64urlnopad.encode(bytes)}`
}

function decodeMultiaddrs (bytes: Uint8Array): Multiaddr[] {
  const out: Multiaddr[] = []
  let i = 0
  while (i + 2 <= bytes.byteLength) {
    const len = (bytes[i] << 8) | bytes[i + 1]
    i += 2
    if (i + len > bytes.byteLength) throw invalid('multiaddrs field is truncated')
    try {
      out.push(multiaddr(bytes.subarray(i, i + len)))
    } catch {
      // An address this multiaddr build does not know is skipped, not fatal: the others may still be dialable.
    }
    i += len
  }
  return out
}

function decodeShards (rs: Uint8Array | undefined, rsv: Uint8Array | undefined): RelayShards | undefined {
  if (rs != null && rs.byteLength >= 3) {
    const clusterId = (rs[0] << 8) | rs[1]
    const count = rs[2]
    if (rs.byteLength < 3 + 2 * count) throw invalid('rs field is truncated')
    return { clusterId, shards: Array.from({ length: count }, (_, i) => (rs[3 + 2 * i] << 8) | rs[4 + 2 * i]) }
  }
  if (rsv != null && rsv.byteLength === 130) {
    const shards: number[] = []
    for (let i = 0; i < 1024; i++) if ((rsv[2 + (i >> 3)] & (1 << (i & 7))) !== 0) shards.push(i)
    return { clusterId: (rsv[0] << 8) | rsv[1], shards }
  }
  return undefined
}

function invalid (why: string): LightPushError {
  return new LightPushError('INVALID_ENR', `Invalid ENR: ${why}.`)
}

function bytesToBigInt (b: Uint8Array): bigint {
  let v = 0n
  for (const x of b) v = (v << 8n) | BigInt(x)
  return v
}

function bigIntToBytes (v: bigint): Uint8Array {
  if (v === 0n) return new Uint8Array(0)
  const hex = v.toString(16)
  const padded = hex.length % 2 === 0 ? hex : `0${hex}`
  return Uint8Array.from(padded.match(/../g) ?? [], (h) => parseInt(h, 16))
}

/** A port as RLP wants it: big-endian, no leading zeros. */
function u16 (v: number): Uint8Array {
  return bigIntToBytes(BigInt(v))
}

function u16Fixed (v: number): Uint8Array {
  return new Uint8Array([(v >> 8) & 0xff, v & 0xff])
}

function concat (parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0))
  let o = 0
  for (const p of parts) { out.set(p, o); o += p.byteLength }
  return out
}

/**
 * True for an ENR that advertises light push and may serve `clusterId` (and one of `shards`) by the one rule of
 * `mayServe`: a record without `rs` is not ruled out (metadata and the peer's answers decide later).
 */
export function servesLightPush (enr: Enr, clusterId?: number, shards?: readonly number[]): boolean {
  return enr.waku2?.lightPush === true && (clusterId === undefined || mayServe(enr.shards, clusterId, shards))
}

/** The same rule for a store node (the `waku2` store bit), as delivery confirmation looks for one. */
export function servesStore (enr: Enr, clusterId?: number): boolean {
  return enr.waku2?.store === true && (clusterId === undefined || mayServe(enr.shards, clusterId))
}
