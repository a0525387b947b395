import { LightPushError, type LightPushErrorCode, type LightPushErrorOptions } from '../errors.js'

/**
 * Why an RLN operation failed, finer than the error's `code`:
 * - `WRONG_PASSWORD`: the keystore credential's MAC does not match (wrong password, or a damaged entry)
 * - `KEYSTORE_MALFORMED`: not a keystore, another application's, or an entry that does not decode
 * - `CREDENTIAL_NOT_FOUND`: the keystore has no (matching) credential
 * - `MESSAGE_LIMIT`: every message id of the message's epoch is used (`nextEpochAt` says when the next begins)
 * - `NOT_A_MEMBER`: the membership's Merkle path does not lead to its own leaf (wrong index, or not registered)
 * - `STATE_STORAGE`: the message-id state could not be saved, so no proof was released
 * - `PROOF_FAILED`: zerokit refused to make the proof
 */
export type RlnErrorReason =
  | 'WRONG_PASSWORD'
  | 'KEYSTORE_MALFORMED'
  | 'CREDENTIAL_NOT_FOUND'
  | 'MESSAGE_LIMIT'
  | 'NOT_A_MEMBER'
  | 'STATE_STORAGE'
  | 'PROOF_FAILED'

/** The stable code each reason is thrown under. */
const CODE: Record<RlnErrorReason, LightPushErrorCode> = {
  WRONG_PASSWORD: 'RLN_KEYSTORE',
  KEYSTORE_MALFORMED: 'RLN_KEYSTORE',
  CREDENTIAL_NOT_FOUND: 'RLN_KEYSTORE',
  MESSAGE_LIMIT: 'RLN_LIMIT',
  NOT_A_MEMBER: 'RLN_PROOF',
  STATE_STORAGE: 'RLN_PROOF',
  PROOF_FAILED: 'RLN_PROOF'
}

export interface RlnErrorOptions extends LightPushErrorOptions {
  /** With `MESSAGE_LIMIT`: when the next epoch begins, Unix milliseconds. */
  nextEpochAt?: number
}

/** A LightPushError (so `isLightPushError` and `code` work) that also says which RLN rule failed. */
export class RlnError extends LightPushError {
  readonly reason: RlnErrorReason
  readonly nextEpochAt: number | undefined

  constructor (reason: RlnErrorReason, shortMessage: string, options: RlnErrorOptions = {}) {
    super(CODE[reason], shortMessage, options)
    this.reason = reason
    this.nextEpochAt = options.nextEpochAt
  }
}

/** True for an RlnError (of the given reason), across realms and bundle copies too. */
export function isRlnError (err: unknown, reason?: RlnErrorReason): err is RlnError {
  return err instanceof Error && err.name === 'LightPushError' && typeof (err as RlnError).reason === 'string' &&
    (reason === undefined || (err as RlnError).reason === reason)
}
