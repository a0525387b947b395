import { privateKeyFromRaw } from '@libp2p/crypto/keys'
import { base64urlnopad } from '@scure/base'
import type { PrivateKey } from '@libp2p/interface'

/**
 * A new Ed25519 identity made by WebCrypto, or undefined where WebCrypto cannot make one (libp2p then makes its
 * own). libp2p's browser code computes the public key with @noble/curves, whose first use builds its tables: in
 * Chromium that is tens of ms of a cold start before the first push, for a key WebCrypto makes natively. libp2p
 * signs with WebCrypto where it can, so the tables are then never needed for our own key.
 */
export async function webCryptoIdentity (): Promise<PrivateKey | undefined> {
  try {
    const pair = await globalThis.crypto.subtle.generateKey({ name: 'Ed25519' }, true, ['sign', 'verify']) as CryptoKeyPair
    const jwk = await globalThis.crypto.subtle.exportKey('jwk', pair.privateKey)
    if (jwk.d == null || jwk.x == null) return undefined
    const secret = base64urlnopad.decode(jwk.d)
    const pub = base64urlnopad.decode(jwk.x)
    if (secret.length !== 32 || pub.length !== 32) return undefined
    // libp2p's raw Ed25519 private key: the 32-byte secret followed by the public key.
    const raw = new Uint8Array(64)
    raw.set(secret)
    raw.set(pub, 32)
    return privateKeyFromRaw(raw)
  } catch {
    return undefined
  }
}
