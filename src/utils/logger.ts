import type { ComponentLogger, Logger } from '@libp2p/interface'

/** A logger that prints nothing, for a module made outside libp2p (in a test, or by hand) with no logger given. */
export function silentLogger (): Logger {
  const log = (() => {}) as unknown as Logger
  return Object.assign(log, { error: () => {}, trace: () => {}, newScope: () => silentLogger(), enabled: false })
}

/** The component's logger from libp2p, or a silent one. */
export function componentLogger (logger: ComponentLogger | undefined, name: string): Logger {
  return logger?.forComponent(name) ?? silentLogger()
}
