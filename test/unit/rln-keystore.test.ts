// The RLN keystore (logos-messaging/specs rln-keystore.md) as the reference node writes it. WebCrypto does the
// work in the module; these tests check it against the spec's own vector and against node:crypto by hand.
import { createCipheriv, createDecipheriv, createHash, pbkdf2Sync, randomBytes } from 'node:crypto'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { describe, expect, it } from 'vitest'
import {
  addCredential, createKeystore, decryptCredential, isRlnError, keystoreToJson, membershipHash, parseKeystore,
  readCredential, RLN_KEYSTORE_APP_INFO, type MembershipCredential, type RlnKeystore
} from '../../src/rln/index.js'
import { isLightPushError } from '../../src/errors.js'

const b = (...v: number[]): Uint8Array => Uint8Array.from(v)
const hex = (u: Uint8Array): string => Buffer.from(u).toString('hex')

// The spec's "Test Vectors": input identity and membership, password "sup3rsecure", and its output keystore.
const SPEC_IDENTITY = {
  idTrapdoor: b(211, 23, 66, 42, 179, 130, 131, 111, 201, 205, 244, 34, 27, 238, 244, 216, 131, 240, 188, 45, 193, 172, 4, 168, 225, 225, 43, 197, 114, 176, 126, 9),
  idNullifier: b(238, 168, 239, 65, 73, 63, 105, 19, 132, 62, 213, 205, 191, 255, 209, 9, 178, 155, 239, 201, 131, 125, 233, 136, 246, 217, 9, 237, 55, 89, 81, 42),
  idSecretHash: b(150, 54, 194, 28, 18, 216, 138, 253, 95, 139, 120, 109, 98, 129, 146, 101, 41, 194, 36, 36, 96, 152, 152, 89, 151, 160, 118, 15, 222, 124, 187, 4),
  idCommitment: b(112, 216, 27, 89, 188, 135, 203, 19, 168, 211, 117, 13, 231, 135, 229, 58, 94, 20, 246, 8, 33, 65, 238, 37, 112, 97, 65, 241, 255, 93, 171, 15)
}
const SPEC_KEYSTORE = {
  application: 'waku-rln-relay',
  appIdentifier: '01234567890abcdef',
  version: '0.2',
  credentials: {
    '9DB2B4718A97485B9F70F68D1CC19F4E10F0B4CE943418838E94956CB8E57548': {
      crypto: {
        cipher: 'aes-128-ctr',
        cipherparams: { iv: 'fd6b39eb71d44c59f6bf5ff3d8945c80' },
        ciphertext: '9c72f47ce95de03ed34502d0288e7576b66b51b9e7d5ae882c27bd89f94e6a03c2c44c2ddf0c982e72003d67212105f1b64614f57cabb0ceadab7e07be165eee1121ad6b81951368a9f3be2dd99ea294515f6013d5f2bd4702a40e36cfde2ea298b23b31e5ce719d8040c3331f73d6bf44f88bca39bac0e917d8bf545500e4f40d321c235426a80f315ac70666acbd3bdf803fbc1e7e7103fed466525ed332b25d72b2dbedf6fa383b2305987c1fe276b029570519b3e79930edf08c1029868d05c2c08ab61d7c64f63c054b4f6a5a12d43cdc79751b6fe58d3ed26b69443eb7c9f7efce27912340129c91b6b813ac94efd5776a40b1dda896d61357de208c7c47a14af911cc231355c8093ee6626e89c07e1037f9e0b22c690e3e049014399ca0212c509cb04c71c7860d1b17a0c47711c490c27bad2825926148a1f15a507f36ba2cdaa04897fce2914e53caed0beaf1bebd2a83af76511cc15bff2165ff0860ad6eca1f30022d7739b2a6b6a72f2feeef0f5941183cda015b4631469e1f4cf27003cab9a90920301cb30d95e4554686922dc5a05c13dfb575cdf113c700d607896011970e6ee7d6edb61210ab28ac8f0c84c606c097e3e300f0a5f5341edfd15432bef6225a498726b62a98283829ad51023b2987f30686cfb4ea3951f3957654035ec291f9b0964a3a8665d81b16cec20fb40f944d5f9bf03ac1e444ad45bae3fa85e7465ce620c0966d8148d6e2856f676c4fbbe3ebe470453efb4bbda1866680037917e37765f680e3da96ef3991f3fe5cda80c523996c2234758bf5f7b6d052dc6942f5a92c8b8eec5d2d8940203bbb6b1cba7b7ebc1334334ca69cdb509a5ea58ec6b2ebaea52307589eaae9430eb15ad234c0c39c83accdf3b77e52a616e345209c5bc9b442f9f0fa96836d9342f983a7',
        kdf: 'pbkdf2',
        kdfparams: { dklen: 32, c: 1000000, prf: 'hmac-sha256', salt: '60f0aa92fbf63a8356dfdbed2ab18058' },
        mac: '51a227ac6db7f2797c63925880b3db664e034231a4c68daa919ab42d8df38bc6'
      }
    }
  }
}

const credential = (treeIndex: number, limit = 100): MembershipCredential => ({
  identity: {
    idTrapdoor: new Uint8Array(32).fill(treeIndex + 1),
    idNullifier: new Uint8Array(32).fill(treeIndex + 2),
    idSecretHash: new Uint8Array(32).fill(treeIndex + 3),
    idCommitment: new Uint8Array(32).fill(treeIndex + 4)
  },
  membership: { chainId: '59141', address: '0xB9cd878C90E49F797B4431fBF4fb333108CB90e6', treeIndex, userMessageLimit: limit }
})

const FAST = { iterations: 1000 }

async function rejection (p: Promise<unknown>): Promise<unknown> {
  return await p.then(() => { throw new Error('resolved') }, (e: unknown) => e)
}

describe('RLN keystore: the spec\'s test vector', () => {
  it('decrypts with "sup3rsecure" to the spec\'s identity and membership; its key is sha256(chainId || address || treeIndex)', async () => {
    const ks = parseKeystore(JSON.stringify(SPEC_KEYSTORE))
    const c = await readCredential(ks, 'sup3rsecure')
    expect(c.identity).toEqual(SPEC_IDENTITY)
    // Written before RLN v2: no userMessageLimit, read as 0 (unknown).
    expect(c.membership).toEqual({ chainId: '0xAA36A7', address: '0x8e1F3742B987d8BA376c0CBbD7357fE1F003ED71', treeIndex: 8, userMessageLimit: 0 })
    expect(membershipHash(c.membership)).toBe(Object.keys(SPEC_KEYSTORE.credentials)[0])
    expect(await readCredential(ks, 'sup3rsecure', c.membership)).toEqual(c)
  })

  it('a wrong password is WRONG_PASSWORD (a LightPushError, code RLN_KEYSTORE), its MAC refused', async () => {
    const err = await rejection(readCredential(parseKeystore(SPEC_KEYSTORE), 'sup3rsecurE'))
    expect(isRlnError(err, 'WRONG_PASSWORD')).toBe(true)
    expect(isLightPushError(err, 'RLN_KEYSTORE')).toBe(true)
    expect((err as Error).message).toMatch(/Wrong password/)
  })
})

describe('RLN keystore: round trip', () => {
  it('add, export as JSON, parse, read back: the same credential; the entry is the reference node\'s shape', async () => {
    const c = credential(7)
    const { keystore, hash } = await addCredential(createKeystore(), c, 'pw', FAST)
    expect(hash).toBe(membershipHash(c.membership))
    expect(hash).toMatch(/^[0-9A-F]{64}$/)
    const json = keystoreToJson(keystore)
    const parsed = JSON.parse(json) as RlnKeystore
    expect(Object.keys(parsed)).toEqual(['application', 'appIdentifier', 'version', 'credentials'])
    expect(parsed).toMatchObject(RLN_KEYSTORE_APP_INFO)
    const entry = parsed.credentials[hash]!.crypto
    expect(entry).toMatchObject({ cipher: 'aes-128-ctr', kdf: 'pbkdf2', kdfparams: { dklen: 32, c: 1000, prf: 'hmac-sha256' } })
    expect(entry.cipherparams.iv).toMatch(/^[0-9a-f]{32}$/)
    expect(entry.kdfparams.salt).toMatch(/^[0-9a-f]{32}$/)
    expect(entry.mac).toMatch(/^[0-9a-f]{64}$/)
    expect(await readCredential(parseKeystore(json), 'pw')).toEqual(c)
  })

  it('the default work factor is the reference node\'s 1,000,000 PBKDF2 iterations', async () => {
    const { keystore, hash } = await addCredential(createKeystore(), credential(1), 'pw')
    expect(keystore.credentials[hash]!.crypto.kdfparams.c).toBe(1_000_000)
  })

  it('our entry decrypts by hand with node:crypto (PBKDF2-SHA256, AES-128-CTR, keccak256 MAC) to the reference node\'s JSON', async () => {
    const c = credential(3, 20)
    const { keystore, hash } = await addCredential(createKeystore(), c, 'p\u00e4ss', FAST)
    const e = keystore.credentials[hash]!.crypto
    const key = pbkdf2Sync(Buffer.from('p\u00e4ss', 'utf8'), Buffer.from(String(e.kdfparams.salt), 'hex'), 1000, 32, 'sha256')
    const ct = Buffer.from(e.ciphertext, 'hex')
    expect(hex(keccak_256(Buffer.concat([key.subarray(16, 32), ct])))).toBe(e.mac)
    const d = createDecipheriv('aes-128-ctr', key.subarray(0, 16), Buffer.from(e.cipherparams.iv, 'hex'))
    const plaintext = Buffer.concat([d.update(ct), d.final()]).toString('utf8')
    expect(JSON.parse(plaintext)).toEqual({
      membershipContract: { chainId: '59141', address: '0xB9cd878C90E49F797B4431fBF4fb333108CB90e6' },
      treeIndex: 3,
      identityCredential: {
        idTrapdoor: Array(32).fill(4), idNullifier: Array(32).fill(5), idSecretHash: Array(32).fill(6), idCommitment: Array(32).fill(7)
      },
      userMessageLimit: 20
    })
    // Field order as the reference node writes it.
    expect(Object.keys(JSON.parse(plaintext))).toEqual(['membershipContract', 'treeIndex', 'identityCredential', 'userMessageLimit'])
  })

  it('an entry built by hand by the spec\'s rules (node:crypto) is read', async () => {
    const c = credential(11, 5)
    const salt = randomBytes(16)
    const iv = randomBytes(16)
    const key = pbkdf2Sync('hand made', salt, 2000, 32, 'sha256')
    const cipher = createCipheriv('aes-128-ctr', key.subarray(0, 16), iv)
    const plain = Buffer.from(JSON.stringify({
      membershipContract: { chainId: c.membership.chainId, address: c.membership.address },
      treeIndex: 11,
      identityCredential: {
        idTrapdoor: [...c.identity.idTrapdoor], idNullifier: [...c.identity.idNullifier], idSecretHash: [...c.identity.idSecretHash], idCommitment: [...c.identity.idCommitment]
      },
      userMessageLimit: 5
    }))
    const ct = Buffer.concat([cipher.update(plain), cipher.final()])
    const key256 = createHash('sha256').update(`${c.membership.chainId}${c.membership.address}11`).digest('hex').toUpperCase()
    const file = {
      application: 'waku-rln-relay', appIdentifier: '01234567890abcdef', version: '0.2',
      credentials: {
        [key256]: {
          crypto: {
            cipher: 'aes-128-ctr', cipherparams: { iv: iv.toString('hex') }, ciphertext: ct.toString('hex'), kdf: 'pbkdf2',
            kdfparams: { dklen: 32, c: 2000, prf: 'hmac-sha256', salt: salt.toString('hex') },
            mac: hex(keccak_256(Buffer.concat([key.subarray(16, 32), ct])))
          }
        }
      }
    }
    // The reference node writes one keystore a line, and a newline after it.
    expect(await readCredential(parseKeystore(JSON.stringify(file) + '\n'), 'hand made')).toEqual(c)
    expect(await readCredential(parseKeystore(JSON.stringify(file)), 'hand made', key256.toLowerCase())).toEqual(c)
  })

  it('several credentials: read by membership or hash; without saying which, CREDENTIAL_NOT_FOUND; the same membership twice is kept once', async () => {
    let ks = createKeystore()
    ks = (await addCredential(ks, credential(1), 'one', FAST)).keystore
    ks = (await addCredential(ks, credential(2), 'two', FAST)).keystore
    const again = await addCredential(ks, credential(2), 'other password', FAST)
    expect(again.keystore).toBe(ks)
    expect(Object.keys(ks.credentials)).toHaveLength(2)
    expect(await readCredential(ks, 'two', credential(2).membership)).toEqual(credential(2))
    expect(await readCredential(ks, 'one', membershipHash(credential(1).membership))).toEqual(credential(1))
    expect(isRlnError(await rejection(readCredential(ks, 'one')), 'CREDENTIAL_NOT_FOUND')).toBe(true)
    expect(isRlnError(await rejection(readCredential(ks, 'one', { ...credential(1).membership, treeIndex: 9 })), 'CREDENTIAL_NOT_FOUND')).toBe(true)
    expect(isRlnError(await rejection(readCredential(createKeystore(), 'x')), 'CREDENTIAL_NOT_FOUND')).toBe(true)
    // Each credential has its own password.
    expect(isRlnError(await rejection(readCredential(ks, 'one', credential(2).membership)), 'WRONG_PASSWORD')).toBe(true)
  })

  it('a damaged ciphertext or MAC is refused as WRONG_PASSWORD (the MAC covers the ciphertext); bad fields are KEYSTORE_MALFORMED', async () => {
    const { keystore, hash } = await addCredential(createKeystore(), credential(4), 'pw', FAST)
    const entry = keystore.credentials[hash]!
    const ct = entry.crypto.ciphertext
    const damaged = { crypto: { ...entry.crypto, ciphertext: (ct[0] === '0' ? '1' : '0') + ct.slice(1) } }
    expect(isRlnError(await rejection(decryptCredential(damaged, 'pw')), 'WRONG_PASSWORD')).toBe(true)
    for (const crypto of [
      { ...entry.crypto, cipher: 'aes-256-gcm' },
      { ...entry.crypto, kdf: 'argon2' },
      { ...entry.crypto, kdfparams: { ...entry.crypto.kdfparams, prf: 'hmac-md5' } },
      { ...entry.crypto, kdfparams: { ...entry.crypto.kdfparams, c: 0 } },
      { ...entry.crypto, cipherparams: { iv: 'zz' } },
      { ...entry.crypto, mac: '' }
    ]) {
      expect(isRlnError(await rejection(decryptCredential({ crypto } as typeof entry, 'pw')), 'KEYSTORE_MALFORMED')).toBe(true)
    }
    expect(isRlnError(await rejection(decryptCredential({} as typeof entry, 'pw')), 'KEYSTORE_MALFORMED')).toBe(true)
  })

  it('what is not a keystore of waku-rln-relay 0.2 is KEYSTORE_MALFORMED, naming what differs', () => {
    for (const input of ['not json', '[]', '{}', JSON.stringify({ ...SPEC_KEYSTORE, credentials: [] }), null, 42]) {
      expect(() => parseKeystore(input)).toThrowError(expect.objectContaining({ reason: 'KEYSTORE_MALFORMED' }) as Error)
    }
    expect(() => parseKeystore({ ...SPEC_KEYSTORE, application: 'other-app' })).toThrow(/application is "other-app"/)
    expect(() => parseKeystore({ ...SPEC_KEYSTORE, version: '0.1' })).toThrow(/version is "0.1"/)
    // Another application's keystore on the first line, ours on the second: ours is taken.
    const two = JSON.stringify({ ...SPEC_KEYSTORE, application: 'other' }) + '\n' + JSON.stringify(SPEC_KEYSTORE) + '\n'
    expect(Object.keys(parseKeystore(two).credentials)).toEqual(Object.keys(SPEC_KEYSTORE.credentials))
    // A keystore of another app is read when its app info is given.
    const info = { application: 'my-app', appIdentifier: 'x', version: '1' }
    expect(parseKeystore(keystoreToJson(createKeystore(info)), info)).toEqual(createKeystore(info))
  })
})
