import { describe, expect, it } from 'vitest'
import { bytesToHex, hexToBytes } from '@noble/hashes/utils.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { RLP } from '@ethereumjs/rlp'
import { decodeEnr, encodeEnr, enrDialAddresses } from '../../src/discovery/enr.js'
import { isLightPushError } from '../../src/errors.js'

// Published vectors: EIP-778's example record, and the shared vectors of js-waku's ENR tests (31/WAKU2-ENR).
const EIP778 = 'enr:-IS4QHCYrYZbAKWCBRlAy5zzaDZXJBGkcnh4MHcBFZntXNFrdvJjX04jRzjzCBOonrkTfj499SZuOh8R33Ls8RRcy5wBgmlkgnY0gmlwhH8AAAGJc2VjcDI1NmsxoQPKY0yuDUmstAHYpMa2_oxVtw0RW_QAdpzBQA8yWM0xOIN1ZHCCdl8'
const EIP778_KEY = 'b71c71a67e1177ad4e901695e1b4b9ee17ae16c6668d313eac2f96dbcda3f291'
const WITH_MULTIADDRS = 'enr:-QEnuEBEAyErHEfhiQxAVQoWowGTCuEF9fKZtXSd7H_PymHFhGJA3rGAYDVSHKCyJDGRLBGsloNbS8AZF33IVuefjOO6BIJpZIJ2NIJpcIQS39tkim11bHRpYWRkcnO4lgAvNihub2RlLTAxLmRvLWFtczMud2FrdXYyLnRlc3Quc3RhdHVzaW0ubmV0BgG73gMAODcxbm9kZS0wMS5hYy1jbi1ob25na29uZy1jLndha3V2Mi50ZXN0LnN0YXR1c2ltLm5ldAYBu94DACm9A62t7AQL4Ef5ZYZosRpQTzFVAB8jGjf1TER2wH-0zBOe1-MDBNLeA4lzZWNwMjU2azGhAzfsxbxyCkgCqq8WwYsVWH7YkpMLnU2Bw5xJSimxKav-g3VkcIIjKA'
const WITH_TCP = 'enr:-IS4QAmC_o1PMi5DbR4Bh4oHVyQunZblg4bTaottPtBodAhJZvxVlWW-4rXITPNg4mwJ8cW__D9FBDc9N4mdhyMqB-EBgmlkgnY0gmlwhIbRi9KJc2VjcDI1NmsxoQOevTdO6jvv3fRruxguKR-3Ge4bcFsLeAIWEDjrfaigNoN0Y3CCdl8'

const code = (fn: () => unknown): string | undefined => {
  try { fn() } catch (err) { return isLightPushError(err) ? err.code : `not a LightPushError: ${String(err)}` }
  return undefined
}

describe('ENR (EIP-778, 31/WAKU2-ENR)', () => {
  it('decodes and verifies the EIP-778 example record', () => {
    const enr = decodeEnr(EIP778)
    expect(enr.seq).toBe(1n)
    expect(enr.ip).toBe('127.0.0.1')
    expect(enr.udp).toBe(30303)
    expect(bytesToHex(enr.publicKey)).toBe('03ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd3138')
    expect(enr.peerId.type).toBe('secp256k1')
  })

  it('decodes the multiaddrs field of the shared Waku vector', () => {
    const enr = decodeEnr(WITH_MULTIADDRS)
    const addrs = enr.multiaddrs.map((m) => m.toString())
    expect(addrs).toContain('/dns4/node-01.do-ams3.wakuv2.test.statusim.net/tcp/443/wss')
    expect(addrs).toContain('/dns6/node-01.ac-cn-hongkong-c.wakuv2.test.statusim.net/tcp/443/wss')
  })

  it('decodes ip/tcp and derives the libp2p peer id from the secp256k1 key', () => {
    const enr = decodeEnr(WITH_TCP)
    expect(enr.ip).toBe('134.209.139.210')
    expect(enr.tcp).toBe(30303)
    expect(enr.peerId.toString()).toBe('16Uiu2HAmPLe7Mzm8TsYUubgCAW1aJoeFScxrLj8ppHFivPo97bUZ')
    expect(enrDialAddresses(enr).map((m) => m.toString())).toEqual(['/ip4/134.209.139.210/tcp/30303/p2p/16Uiu2HAmPLe7Mzm8TsYUubgCAW1aJoeFScxrLj8ppHFivPo97bUZ'])
  })

  it('round-trips a Waku record: multiaddrs, waku2 bits, relay shards', () => {
    const txt = encodeEnr({
      privateKey: hexToBytes(EIP778_KEY),
      seq: 7n,
      ip: '10.1.2.3',
      tcp: 60000,
      multiaddrs: ['/dns4/node.example.org/tcp/8000/wss', '/ip4/127.0.0.1/tcp/9000/ws'],
      waku2: { relay: true, lightPush: true },
      shards: { clusterId: 1, shards: [0, 3, 7] }
    })
    const enr = decodeEnr(txt)
    expect(enr.seq).toBe(7n)
    expect(bytesToHex(enr.publicKey)).toBe('03ca634cae0d49acb401d8a4c6b6fe8c55b70d115bf400769cc1400f3258cd3138')
    expect(enr.tcp).toBe(60000)
    expect(enr.waku2).toEqual({ relay: true, store: false, filter: false, lightPush: true, sync: false })
    expect(enr.shards).toEqual({ clusterId: 1, shards: [0, 3, 7] })
    const dial = enrDialAddresses(enr).map((m) => m.toString())
    expect(dial[0]).toBe(`/dns4/node.example.org/tcp/8000/wss/p2p/${enr.peerId.toString()}`)
    expect(dial).toHaveLength(3)
  })

  it('reads the rsv bit vector form of relay shards', () => {
    // Signed by hand: cluster 16, shards 1 and 64 set in the 1024-bit vector.
    const key = hexToBytes(EIP778_KEY)
    const rsv = new Uint8Array(130)
    rsv[1] = 16
    rsv[2 + 0] |= 1 << 1
    rsv[2 + 8] |= 1 << 0
    const te = new TextEncoder()
    const kv = [te.encode('id'), te.encode('v4'), te.encode('rsv'), rsv, te.encode('secp256k1'), secp256k1.getPublicKey(key, true)]
    const seq = new Uint8Array([1])
    const sig = secp256k1.sign(keccak_256(RLP.encode([seq, ...kv])), key, { prehash: false })
    const enr = decodeEnr(RLP.encode([sig, seq, ...kv]))
    expect(enr.shards).toEqual({ clusterId: 16, shards: [1, 64] })
  })

  it('refuses a tampered record, a wrong prefix, garbage and oversize input with INVALID_ENR', () => {
    const enr = EIP778.slice(0, 20) + (EIP778[20] === 'A' ? 'B' : 'A') + EIP778.slice(21)
    expect(code(() => decodeEnr(enr))).toBe('INVALID_ENR')
    expect(code(() => decodeEnr('enx:abc'))).toBe('INVALID_ENR')
    expect(code(() => decodeEnr('enr:!!!'))).toBe('INVALID_ENR')
    expect(code(() => decodeEnr(new Uint8Array([0xc1, 0x80])))).toBe('INVALID_ENR')
    expect(code(() => decodeEnr(new Uint8Array(301)))).toBe('INVALID_ENR')
  })
})
