/**
 * Misbehaviours a devnet service node can be given, to test and measure the sender against real nodes:
 * - `always-503`: answers 503 (no relay peers) to everything;
 * - `strict-429`: answers 429 (rate limited) to everything;
 * - `silent`: accepts the stream, reads the request, never answers;
 * - `slow`: serves normally after `slowMs`;
 * - `garbage`: answers a frame of random bytes;
 * - `wrong-request-id`: serves normally but answers another request_id;
 * - `zero-count`: answers 200 with relay_peer_count 0 and publishes nothing;
 * - `drop`: closes the whole connection after reading the request;
 * - `liar`: answers 200 with a believable relay peer count (`liarRelayPeers`, default 6) and publishes nothing:
 *   the answer a client cannot check, so only a store query or another peer tells it apart.
 */
export const FAULT_PROFILES = ['always-503', 'strict-429', 'silent', 'slow', 'garbage', 'wrong-request-id', 'zero-count', 'drop', 'liar'] as const

/** A way a devnet service node misbehaves on purpose (see the README's list). */
export type FaultProfile = typeof FAULT_PROFILES[number]

/** True for a name in `FAULT_PROFILES`. */
export function isFaultProfile (value: string): value is FaultProfile {
  return (FAULT_PROFILES as readonly string[]).includes(value)
}
