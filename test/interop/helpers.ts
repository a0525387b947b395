import { spawn, execFile, type ChildProcess } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { promisify } from 'node:util'

/** js-waku's own folder: its package.json and lock, installed apart from the SDK's tree. */
export const WAKU_SDK_DIR = fileURLToPath(new URL('./waku-sdk/', import.meta.url))

interface LockEntry { version?: string, link?: boolean }

/** True when node_modules holds exactly what the lock names (npm's hidden lockfile mirrors the tree it wrote). */
function installMatchesLock (): boolean {
  const hidden = join(WAKU_SDK_DIR, 'node_modules', '.package-lock.json')
  if (!existsSync(hidden)) return false
  const want = JSON.parse(readFileSync(join(WAKU_SDK_DIR, 'package-lock.json'), 'utf8')).packages as Record<string, LockEntry>
  const have = JSON.parse(readFileSync(hidden, 'utf8')).packages as Record<string, LockEntry>
  return Object.entries(want).every(([path, entry]) => path === '' || have[path]?.version === entry.version)
}

/**
 * Installs js-waku from its lock when node_modules is missing or differs from the lock (`npm ci`), else does
 * nothing. Returns how long it took, in ms (0 when skipped).
 */
export async function ensureWakuSdkInstalled (): Promise<number> {
  if (installMatchesLock()) return 0
  const started = performance.now()
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'
  // One retry: the registry is on the network, and npm ci starts from an empty node_modules each time.
  for (let attempt = 1; ; attempt++) {
    try {
      await promisify(execFile)(npm, ['ci', '--prefix', WAKU_SDK_DIR, '--no-audit', '--no-fund'], { timeout: 110_000, maxBuffer: 16 * 1024 * 1024 })
      break
    } catch (err) {
      // npm's own messages, without its many EBADENGINE warnings (@waku/* 0.0.36 asks for Node 22; it runs on 20).
      const stderr = String((err as { stderr?: string }).stderr ?? '').split('\n').filter((l) => !/EBADENGINE|required: \{|current: \{|package: '|^npm warn \}$/.test(l))
      const detail = `npm ci in ${WAKU_SDK_DIR} failed (attempt ${attempt}): ${(err as Error).message.split('\n')[0]}\n${stderr.slice(-30).join('\n')}`
      if (attempt >= 2) throw new Error(detail)
      console.warn(detail)
    }
  }
  if (!installMatchesLock()) throw new Error(`npm ci in ${WAKU_SDK_DIR} left a tree that differs from its package-lock.json`)
  return performance.now() - started
}

export type Line = Record<string, unknown> & { event: string }

/** A js-waku script running in its own Node.js process, printing one JSON object per line. */
export class WakuScript {
  readonly lines: Line[] = []
  readonly stderr: string[] = []
  private readonly child: ChildProcess
  private readonly exited: Promise<void>
  private waiters: Array<() => void> = []

  constructor (script: string, args: unknown) {
    this.child = spawn(process.execPath, [join(WAKU_SDK_DIR, script), JSON.stringify(args)], {
      cwd: WAKU_SDK_DIR,
      stdio: ['ignore', 'pipe', 'pipe']
    })
    live.add(this)
    this.exited = new Promise((resolve) => this.child.once('exit', () => { live.delete(this); resolve(); this.wake() }))
    createInterface({ input: this.child.stdout! }).on('line', (text) => {
      try {
        this.lines.push(JSON.parse(text) as Line)
      } catch {
        this.stderr.push(`(stdout) ${text}`)
      }
      this.wake()
    })
    createInterface({ input: this.child.stderr! }).on('line', (text) => { this.stderr.push(text) })
  }

  get running (): boolean {
    return this.child.exitCode === null && this.child.signalCode === null
  }

  private wake (): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** The first line (past or future) that matches; fails on timeout, on an `error` line, or when the process ends. */
  async waitFor (match: (line: Line) => boolean, timeoutMs: number, what = 'a matching line'): Promise<Line> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const found = this.lines.find(match)
      if (found != null) return found
      const error = this.lines.find((l) => l.event === 'error')
      if (error != null) throw new Error(`${what}: the js-waku process failed: ${String(error.message)}`)
      if (!this.running) throw new Error(`${what}: the js-waku process exited (${this.child.exitCode ?? this.child.signalCode}) first; stderr:\n${this.stderr.slice(-20).join('\n')}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`${what}: not seen in ${timeoutMs} ms; lines: ${JSON.stringify(this.lines).slice(0, 2000)}; stderr:\n${this.stderr.slice(-20).join('\n')}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Waits until the process ends by itself; kills it and fails after `timeoutMs`. */
  async waitForExit (timeoutMs: number, what: string): Promise<void> {
    let timer: NodeJS.Timeout | undefined
    const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => { resolve('timeout') }, timeoutMs) })
    const outcome = await Promise.race([this.exited, timedOut])
    clearTimeout(timer)
    if (outcome === 'timeout') {
      await this.kill()
      throw new Error(`${what}: still running after ${timeoutMs} ms; lines: ${JSON.stringify(this.lines).slice(0, 2000)}; stderr:\n${this.stderr.slice(-20).join('\n')}`)
    }
  }

  /** SIGKILL at once, synchronously: for process exit. */
  killNow (): void {
    if (this.running) this.child.kill('SIGKILL')
  }

  /** Ends the process (SIGTERM, then SIGKILL after 2 s) and waits until it is gone. */
  async kill (): Promise<void> {
    if (this.running) {
      this.child.kill('SIGTERM')
      const timer = setTimeout(() => { if (this.running) this.child.kill('SIGKILL') }, 2000)
      await this.exited
      clearTimeout(timer)
    }
    await this.exited
  }
}

const live = new Set<WakuScript>()

/** Ends every js-waku process still running: for afterEach/afterAll. */
export async function killAll (): Promise<void> {
  await Promise.all([...live].map(async (s) => { await s.kill() }))
}

// Should the test process itself go away, its children go with it.
process.once('exit', () => { for (const s of live) s.killNow() })

/** Runs a short js-waku script to completion and returns its lines. */
export async function runScript (script: string, args: unknown, timeoutMs: number): Promise<Line[]> {
  const s = new WakuScript(script, args)
  try {
    await s.waitForExit(timeoutMs, script)
    return s.lines
  } finally {
    await s.kill()
  }
}

export const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex')
export const unhex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'))
