import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { webCryptoIdentity } from '../../src/peers/identity.js'

describe('webCryptoIdentity', () => {
  it('makes a working Ed25519 libp2p key: its public key verifies what it signs', async () => {
    const key = await webCryptoIdentity()
    expect(key?.type).toBe('Ed25519')
    const data = new TextEncoder().encode('noise handshake payload')
    const signature = await key!.sign(data)
    expect(await key!.publicKey.verify(data, signature)).toBe(true)
    expect(await key!.publicKey.verify(new TextEncoder().encode('something else'), signature)).toBe(false)
    // The same kind of peer id as libp2p's own keys.
    const own = await generateKeyPair('Ed25519')
    expect(peerIdFromPrivateKey(key!).type).toBe(peerIdFromPrivateKey(own).type)
  })

  it('makes a new key each time', async () => {
    const [a, b] = await Promise.all([webCryptoIdentity(), webCryptoIdentity()])
    expect(a!.equals(b!)).toBe(false)
  })
})
