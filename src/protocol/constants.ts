/** WAKU-LIGHTPUSH v3: https://github.com/waku-org/specs/blob/master/standards/core/lightpush.md */
export const LIGHTPUSH_PROTOCOL = '/vac/waku/lightpush/3.0.0'
/** 13/WAKU2-STORE v3 (here, so that knowing who serves it does not pull in the Store codec). */
export const STORE_PROTOCOL = '/vac/waku/store-query/3.0.0'
/** 11/WAKU2-RELAY over gossipsub. */
export const RELAY_PROTOCOL = '/vac/waku/relay/2.0.0'
/**
 * Largest response frame read. A response holds an id, a code, a description and a count: a few hundred bytes;
 * 64 KiB leaves room for long descriptions without letting a peer make us buffer megabytes.
 */
export const MAX_RESPONSE_SIZE = 64 * 1024
/** Largest request frame a service node reads: the 150 KiB message plus the request envelope. */
export const MAX_REQUEST_SIZE = 150 * 1024 + 4 * 1024
