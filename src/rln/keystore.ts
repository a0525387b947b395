/**
 * The RLN keystore (logos-messaging/specs `standards/application/rln-keystore.md`), byte for byte as the
 * reference node writes it (`logos_delivery/waku/waku_keystore`):
 *
 * ```json
 * { "application": "waku-rln-relay", "appIdentifier": "01234567890abcdef", "version": "0.2",
 *   "credentials": { "<membership hash>": { "crypto": { "cipher": "aes-128-ctr", "cipherparams": { "iv": "…" },
 *     "ciphertext": "…", "kdf": "pbkdf2", "kdfparams": { "dklen": 32, "c": 1000000, "prf": "hmac-sha256",
 *     "salt": "…" }, "mac": "…" } } } }
 * ```
 * - membership hash: uppercase hex of sha256(chainId || address || treeIndex in decimal), as UTF-8 text;
 * - key: PBKDF2-HMAC-SHA256(password, salt, c) of 32 bytes (scrypt is read too); cipher: AES-128-CTR with its
 *   first 16 bytes and the 16-byte IV; mac: keccak256(key[16..32] || ciphertext) (the spec says SHA-256, its
 *   own test vector and every implementation use keccak256);
 * - plaintext: the JSON of the membership, `{"membershipContract":{"chainId","address"},"treeIndex",
 *   "identityCredential":{"idTrapdoor","idNullifier","idSecretHash","idCommitment"},"userMessageLimit"}`, the
 *   four identity values as arrays of 32 byte values (little-endian field elements).
 *
 * WebCrypto (PBKDF2, AES-CTR) does the work, in browsers and Node alike; 1,000,000 iterations take about half a
 * second.
 */
import { keccak_256 } from '@noble/hashes/sha3.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { RLN_KEYSTORE_APP_INFO } from './presets.js'
import { RlnError } from './errors.js'
import { bytesToHex, concatBytes, equalBytes, hexToBytes } from './field.js'
import type { IdentityCredential, MembershipCredential, MembershipInfo } from './credentials.js'

export interface KeystoreAppInfo {
  application: string
  appIdentifier: string
  version: string
}

/** One encrypted credential (the spec's `WakuCredential`). */
export interface KeystoreEntry {
  crypto: {
    cipher: string
    cipherparams: { iv: string }
    ciphertext: string
    kdf: string
    kdfparams: Record<string, string | number>
    mac: string
  }
}

export interface RlnKeystore extends KeystoreAppInfo {
  /** Encrypted credentials by membership hash. */
  credentials: Record<string, KeystoreEntry>
}

export interface EncryptOptions {
  /** PBKDF2 iterations. Default 1,000,000 (the reference node's); lower only for tests. */
  iterations?: number
}

/** The reference node's PBKDF2 work factor. */
export const KEYSTORE_PBKDF2_ITERATIONS = 1_000_000

/** An empty keystore for the application (default: the reference node's `waku-rln-relay` app info). */
export function createKeystore (appInfo: KeystoreAppInfo = RLN_KEYSTORE_APP_INFO): RlnKeystore {
  return { application: appInfo.application, appIdentifier: appInfo.appIdentifier, version: appInfo.version, credentials: {} }
}

/**
 * Reads a keystore: its JSON text (the reference node's file may hold one keystore a line: the first for this
 * application is taken) or the parsed object. Throws `KEYSTORE_MALFORMED` for anything else, or a keystore of
 * another application, app identifier or version.
 */
export function parseKeystore (input: string | unknown, appInfo: KeystoreAppInfo = RLN_KEYSTORE_APP_INFO): RlnKeystore {
  const candidates: unknown[] = []
  if (typeof input === 'string') {
    const whole = tryParse(input)
    if (whole !== undefined) candidates.push(whole)
    else for (const line of input.split('\n')) if (line.trim() !== '') candidates.push(tryParse(line))
  } else {
    candidates.push(input)
  }
  let mismatch: string | undefined
  for (const c of candidates) {
    if (!isKeystoreShape(c)) continue
    for (const key of ['application', 'appIdentifier', 'version'] as const) {
      if (c[key] !== appInfo[key]) mismatch ??= `its ${key} is "${String(c[key])}", not "${appInfo[key]}"`
    }
    if (c.application === appInfo.application && c.appIdentifier === appInfo.appIdentifier && c.version === appInfo.version) {
      return { application: c.application, appIdentifier: c.appIdentifier, version: c.version, credentials: { ...c.credentials } }
    }
  }
  throw new RlnError('KEYSTORE_MALFORMED', mismatch === undefined
    ? 'Not an RLN keystore: expected JSON with application, appIdentifier, version and credentials.'
    : `The RLN keystore is another application's: ${mismatch}.`)
}

/** The keystore as the reference node writes it (compact JSON). */
export function keystoreToJson (keystore: RlnKeystore): string {
  return JSON.stringify({ application: keystore.application, appIdentifier: keystore.appIdentifier, version: keystore.version, credentials: keystore.credentials })
}

/** The key of a credential in the keystore: uppercase hex sha256(chainId || address || treeIndex). */
export function membershipHash (m: Pick<MembershipInfo, 'chainId' | 'address' | 'treeIndex'>): string {
  return bytesToHex(sha256(new TextEncoder().encode(`${m.chainId}${m.address}${m.treeIndex}`))).toUpperCase()
}

/**
 * Encrypts the credential under the password and returns a new keystore holding it, with its membership hash.
 * A credential already present (same hash) is kept as it was, as the reference node does.
 */
export async function addCredential (keystore: RlnKeystore, credential: MembershipCredential, password: string, options: EncryptOptions = {}): Promise<{ keystore: RlnKeystore, hash: string }> {
  const hash = membershipHash(credential.membership)
  if (keystore.credentials[hash] != null) return { keystore, hash }
  const entry = await encryptCredential(credential, password, options)
  return { keystore: { ...keystore, credentials: { ...keystore.credentials, [hash]: entry } }, hash }
}

/**
 * Decrypts a credential: the only one, or the one of this membership hash or membership. Throws
 * `CREDENTIAL_NOT_FOUND`, `WRONG_PASSWORD` or `KEYSTORE_MALFORMED` (RlnError).
 */
export async function readCredential (keystore: RlnKeystore, password: string, which?: string | Pick<MembershipInfo, 'chainId' | 'address' | 'treeIndex'>): Promise<MembershipCredential> {
  const hashes = Object.keys(keystore.credentials)
  let hash: string | undefined
  if (which === undefined) {
    if (hashes.length !== 1) {
      throw new RlnError('CREDENTIAL_NOT_FOUND', hashes.length === 0
        ? 'The RLN keystore holds no credential.'
        : `The RLN keystore holds ${hashes.length} credentials: say which (its membership hash, or chainId, address and treeIndex).`)
    }
    hash = hashes[0]
  } else {
    hash = typeof which === 'string' ? which.toUpperCase() : membershipHash(which)
  }
  const entry = hash === undefined ? undefined : keystore.credentials[hash]
  if (entry == null) throw new RlnError('CREDENTIAL_NOT_FOUND', `The RLN keystore has no credential ${hash ?? ''}.`)
  return await decryptCredential(entry, password)
}

/** Encrypts one credential (the reference node's keyfile: PBKDF2-SHA256, AES-128-CTR, keccak256 MAC). */
export async function encryptCredential (credential: MembershipCredential, password: string, options: EncryptOptions = {}): Promise<KeystoreEntry> {
  const iterations = options.iterations ?? KEYSTORE_PBKDF2_ITERATIONS
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RangeError('iterations must be a positive integer')
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const iv = crypto.getRandomValues(new Uint8Array(16))
  const key = await pbkdf2(password, salt, iterations, 'SHA-256')
  const ciphertext = await aesCtr(key.subarray(0, 16), iv, encodeMembership(credential), 'encrypt')
  return {
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: bytesToHex(iv) },
      ciphertext: bytesToHex(ciphertext),
      kdf: 'pbkdf2',
      kdfparams: { dklen: 32, c: iterations, prf: 'hmac-sha256', salt: bytesToHex(salt) },
      mac: bytesToHex(mac(key, ciphertext))
    }
  }
}

/** Decrypts one credential entry; `WRONG_PASSWORD` when its MAC does not match. */
export async function decryptCredential (entry: KeystoreEntry, password: string): Promise<MembershipCredential> {
  const c = (entry as Partial<KeystoreEntry> | null)?.crypto
  if (c == null || typeof c !== 'object') throw new RlnError('KEYSTORE_MALFORMED', 'The keystore credential has no crypto section.')
  if (typeof c.cipher !== 'string' || c.cipher.toLowerCase() !== 'aes-128-ctr') {
    throw new RlnError('KEYSTORE_MALFORMED', `The keystore credential's cipher "${String(c.cipher)}" is not supported (aes-128-ctr is).`)
  }
  const iv = hex(c.cipherparams?.iv, 'cipherparams.iv')
  if (iv.length !== 16) throw new RlnError('KEYSTORE_MALFORMED', 'The keystore credential\'s IV is not 16 bytes.')
  const ciphertext = hex(c.ciphertext, 'ciphertext')
  const expected = hex(c.mac, 'mac')
  const key = await deriveKey(c.kdf, c.kdfparams ?? {}, password)
  if (key.length < 32) throw new RlnError('KEYSTORE_MALFORMED', 'The keystore credential\'s dklen is below 32.')
  if (!equalBytes(mac(key, ciphertext), expected)) {
    throw new RlnError('WRONG_PASSWORD', 'Wrong password for this RLN keystore credential (its MAC does not match).')
  }
  const plaintext = await aesCtr(key.subarray(0, 16), iv, ciphertext, 'decrypt')
  return decodeMembership(plaintext)
}

function mac (key: Uint8Array, ciphertext: Uint8Array): Uint8Array {
  return keccak_256(concatBytes(key.subarray(16, 32), ciphertext))
}

async function deriveKey (kdf: unknown, params: Record<string, unknown>, password: string): Promise<Uint8Array> {
  const salt = hex(params.salt, 'kdfparams.salt')
  const dklen = positiveInt(params.dklen, 'kdfparams.dklen')
  if (kdf === 'pbkdf2') {
    const prf = typeof params.prf === 'string' ? params.prf.toLowerCase() : ''
    const hash = ({ 'hmac-sha256': 'SHA-256', 'hmac-sha384': 'SHA-384', 'hmac-sha512': 'SHA-512' } as Record<string, string>)[prf]
    if (hash === undefined) throw new RlnError('KEYSTORE_MALFORMED', `The keystore credential's PBKDF2 prf "${String(params.prf)}" is not supported.`)
    return await pbkdf2(password, salt, positiveInt(params.c, 'kdfparams.c'), hash, dklen)
  }
  if (kdf === 'scrypt') {
    return await scryptAsync(new TextEncoder().encode(password), salt, {
      N: positiveInt(params.n, 'kdfparams.n'), r: positiveInt(params.r, 'kdfparams.r'), p: positiveInt(params.p, 'kdfparams.p'), dkLen: dklen
    })
  }
  throw new RlnError('KEYSTORE_MALFORMED', `The keystore credential's kdf "${String(kdf)}" is not supported (pbkdf2 and scrypt are).`)
}

async function pbkdf2 (password: string, salt: Uint8Array, iterations: number, hash: string, dklen = 32): Promise<Uint8Array> {
  const base = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, ['deriveBits'])
  return new Uint8Array(await crypto.subtle.deriveBits({ name: 'PBKDF2', hash, salt: salt as Uint8Array<ArrayBuffer>, iterations }, base, dklen * 8))
}

async function aesCtr (key: Uint8Array, iv: Uint8Array, data: Uint8Array, op: 'encrypt' | 'decrypt'): Promise<Uint8Array> {
  const k = await crypto.subtle.importKey('raw', key as Uint8Array<ArrayBuffer>, 'AES-CTR', false, [op])
  const params = { name: 'AES-CTR', counter: iv as Uint8Array<ArrayBuffer>, length: 128 }
  const out = op === 'encrypt' ? await crypto.subtle.encrypt(params, k, data as Uint8Array<ArrayBuffer>) : await crypto.subtle.decrypt(params, k, data as Uint8Array<ArrayBuffer>)
  return new Uint8Array(out)
}

/** The plaintext JSON, in the reference node's field order. */
function encodeMembership ({ identity, membership }: MembershipCredential): Uint8Array {
  return new TextEncoder().encode(JSON.stringify({
    membershipContract: { chainId: membership.chainId, address: membership.address },
    treeIndex: membership.treeIndex,
    identityCredential: {
      idTrapdoor: Array.from(identity.idTrapdoor),
      idNullifier: Array.from(identity.idNullifier),
      idSecretHash: Array.from(identity.idSecretHash),
      idCommitment: Array.from(identity.idCommitment)
    },
    userMessageLimit: membership.userMessageLimit
  }))
}

function decodeMembership (plaintext: Uint8Array): MembershipCredential {
  let obj: Record<string, unknown>
  try {
    obj = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(plaintext)) as Record<string, unknown>
  } catch (err) {
    throw new RlnError('KEYSTORE_MALFORMED', 'The decrypted keystore credential is not JSON.', { cause: err })
  }
  const contract = (obj?.membershipContract ?? {}) as Record<string, unknown>
  const id = (obj?.identityCredential ?? {}) as Record<string, unknown>
  const identity: IdentityCredential = {
    idTrapdoor: field(id.idTrapdoor, 'idTrapdoor'),
    idNullifier: field(id.idNullifier, 'idNullifier'),
    idSecretHash: field(id.idSecretHash, 'idSecretHash'),
    idCommitment: field(id.idCommitment, 'idCommitment')
  }
  const treeIndex = obj.treeIndex
  if (typeof treeIndex !== 'number' || !Number.isSafeInteger(treeIndex) || treeIndex < 0) {
    throw new RlnError('KEYSTORE_MALFORMED', 'The decrypted keystore credential has no valid treeIndex.')
  }
  // Keystores written before RLN v2 have no userMessageLimit: 0 says "unknown", the prover then needs one given.
  const limit = obj.userMessageLimit ?? 0
  if (typeof limit !== 'number' || !Number.isSafeInteger(limit) || limit < 0) {
    throw new RlnError('KEYSTORE_MALFORMED', 'The decrypted keystore credential\'s userMessageLimit is not a count.')
  }
  return {
    identity,
    membership: { chainId: String(contract.chainId ?? ''), address: String(contract.address ?? ''), treeIndex, userMessageLimit: limit }
  }
}

function field (v: unknown, name: string): Uint8Array {
  if (!Array.isArray(v) || v.length !== 32 || !v.every((b) => Number.isInteger(b) && b >= 0 && b <= 255)) {
    throw new RlnError('KEYSTORE_MALFORMED', `The decrypted keystore credential's ${name} is not 32 bytes.`)
  }
  return Uint8Array.from(v as number[])
}

function hex (v: unknown, name: string): Uint8Array {
  try {
    if (typeof v !== 'string' || v.length === 0) throw new Error('missing')
    return hexToBytes(v)
  } catch (err) {
    throw new RlnError('KEYSTORE_MALFORMED', `The keystore credential's ${name} is not hex.`, { cause: err })
  }
}

function positiveInt (v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 1) throw new RlnError('KEYSTORE_MALFORMED', `The keystore credential's ${name} is not a positive integer.`)
  return v
}

function tryParse (text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

function isKeystoreShape (v: unknown): v is RlnKeystore {
  const o = v as Partial<RlnKeystore> | null
  return o != null && typeof o === 'object' && typeof o.application === 'string' && typeof o.appIdentifier === 'string' &&
    typeof o.version === 'string' && o.credentials != null && typeof o.credentials === 'object' && !Array.isArray(o.credentials)
}
