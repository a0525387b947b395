import type { Plugin } from 'vite'

export declare const ROOT: string
export declare const SRC_ENTRY: string
export declare const ENTRIES: Record<'codec only' | 'client without WebRTC' | 'full client with WebRTC' | 'bare libp2p (ws+noise+yamux+identify)', string>
export declare const BUDGETS: Record<'codec only' | 'client without WebRTC' | 'full client with WebRTC', number>
export declare const BROWSER_RESOLVE: { conditions: string[], mainFields: string[] }
export declare function noNodeBuiltins (): Plugin
export interface BundleReport {
  name: string
  minBytes: number
  gzBytes: number
  code: string
  modules: string[]
}
export declare function measure (name: string, source: string): Promise<BundleReport>
export declare function gzSize (text: string): number
export declare function kb (bytes: number): string
