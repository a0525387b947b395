// Issue 11 points 2 and 3: `stop()` settles every push in flight at once with STOPPED and leaves no timer, socket
// or listener behind, so a process whose clients are stopped ends by itself. Each case runs clients in child
// processes (test/integration/fixtures/many-clients.mjs, on the built package: `npm run build:node` first)
// against a rate-limited service node in a child of its own, stops them while pushes are in flight, and expects
// each child to exit within a second of saying "stopped", without process.exit.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'

const FIXTURE = fileURLToPath(new URL('./fixtures/many-clients.mjs', import.meta.url))
const DIST = fileURLToPath(new URL('../../dist/index.node.js', import.meta.url))
/** A stopped client's process must end this soon after it says "stopped". */
const EXIT_WITHIN_MS = 1000
/** How long a process that does not end is watched, so that the failure says how long it lingered. */
const WATCH_MS = 8000
/** The service node of issue 11 point 3: per-peer bucket of 50, refilled at 20 per second. */
const RATE_LIMIT = { capacity: 50, refillPerSecond: 20 }

interface Line { event: string, at: number, [key: string]: unknown }

/** A child running the fixture: its JSON lines, when each arrived, and how it ended. */
interface Fixture {
  child: ChildProcess
  next(event: string, timeoutMs?: number): Promise<Line & { receivedAt: number }>
  /** Resolves with when (performance.now() here) and how the child exited. */
  exited: Promise<{ at: number, code: number | null, signal: NodeJS.Signals | null }>
  stderr: string[]
}

const children = new Set<ChildProcess>()

function fixture (options: Record<string, unknown>): Fixture {
  const child = spawn(process.execPath, [FIXTURE, JSON.stringify(options)], { stdio: ['pipe', 'pipe', 'pipe'] })
  children.add(child)
  const lines: Array<Line & { receivedAt: number }> = []
  const waiters = new Set<() => void>()
  const stderr: string[] = []
  createInterface({ input: child.stdout! }).on('line', (text) => {
    try {
      lines.push({ ...JSON.parse(text) as Line, receivedAt: performance.now() })
    } catch {
      stderr.push(`(stdout) ${text}`)
    }
    for (const wake of [...waiters]) wake()
  })
  createInterface({ input: child.stderr! }).on('line', (text) => {
    if (!text.includes('MaxListenersExceededWarning') && !text.includes('--trace-warnings')) stderr.push(text)
  })
  const exited = new Promise<{ at: number, code: number | null, signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      children.delete(child)
      resolve({ at: performance.now(), code, signal })
      for (const wake of [...waiters]) wake()
    })
  })
  const next = async (event: string, timeoutMs = 60_000): Promise<Line & { receivedAt: number }> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = lines.findIndex((l) => l.event === event)
      if (i >= 0) return lines.splice(i, 1)[0]
      const why = child.exitCode !== null || child.signalCode !== null
        ? `exited (${child.exitCode ?? child.signalCode}) first`
        : Date.now() > deadline ? `said no "${event}" within ${timeoutMs} ms` : undefined
      if (why != null) throw new Error(`many-clients ${why}; stderr:\n${stderr.slice(-20).join('\n')}`)
      await new Promise<void>((resolve) => {
        const wake = (): void => { waiters.delete(wake); clearTimeout(timer); resolve() }
        const timer = setTimeout(wake, 250)
        waiters.add(wake)
      })
    }
  }
  return { child, next, exited, stderr }
}

/** How long after saying "stopped" the child exited (ms), or Infinity when it was still running WATCH_MS later. */
async function exitDelay (f: Fixture, stoppedAt: number): Promise<number> {
  const watch = new Promise<undefined>((resolve) => { setTimeout(resolve, WATCH_MS, undefined) })
  const exit = await Promise.race([f.exited, watch])
  if (exit == null) return Infinity
  expect(exit.code, `stderr:\n${f.stderr.slice(-20).join('\n')}`).toBe(0)
  return exit.at - stoppedAt
}

/** What a child said about the pushes in flight when it stopped its clients. */
function expectAllStopped (stopped: Line): void {
  expect(stopped.settled, 'every push in flight settled').toBe(true)
  expect(stopped.inFlight as number).toBeGreaterThan(0)
  // Each push in flight at stop() ended with STOPPED, none with another code, and within a second of stop().
  expect(stopped.after).toEqual({ STOPPED: stopped.inFlight })
  expect(stopped.lastSettleMs as number).toBeLessThan(1000)
}

/** A rate-limited service node (and one relay) in a child process; resolves with it and its bootstrap addresses. */
async function serviceNode (service: Record<string, unknown>): Promise<{ node: Fixture, bootstrap: string[] }> {
  const node = fixture({ serve: true, service })
  const listening = await node.next('listening')
  return { node, bootstrap: listening.bootstrap as string[] }
}

beforeAll(() => {
  if (!existsSync(DIST)) throw new Error('dist/ is missing: run `npm run build:node` before this test')
})

afterEach(async () => {
  for (const child of [...children]) {
    child.kill('SIGCONT')
    child.kill('SIGKILL')
    await new Promise((resolve) => { if (child.exitCode !== null || child.signalCode !== null) resolve(undefined); else child.once('exit', resolve) })
  }
})

describe('stopped clients leave nothing behind: the process exits by itself', () => {
  it('15 clients in one process, 16 pushes each in flight at stop(), against a loaded service node (rate-limited, answers in 1.5 s)', async () => {
    // A slow answer makes the sender arm its hedge timer for the longest (attemptTimeoutMs), as under load.
    const { bootstrap } = await serviceNode({ rateLimit: RATE_LIMIT, fault: 'slow', slowMs: 1500 })
    const clients = fixture({ bootstrap, clients: 15, inFlight: 16, seconds: 4 })
    await clients.next('ready')
    const stopped = await clients.next('stopped', 60_000)
    expectAllStopped(stopped)
    const delay = await exitDelay(clients, stopped.receivedAt)
    expect(delay, `exited ${delay} ms after "stopped"`).toBeLessThan(EXIT_WITHIN_MS)
  }, 90_000)

  it.skipIf(process.platform === 'win32')('3 processes x 10 clients against one rate-limited service node that stops answering as they stop (an overloaded node)', async () => {
    // Under the load of issue 11 point 3 the service node answered pings and closes late: libp2p then aborted the
    // connections, and the aborted WebSockets stayed open on both ends for good. Pausing the node (SIGSTOP) while
    // the clients stop makes that happen every time instead of under load only.
    const { node, bootstrap } = await serviceNode({ rateLimit: RATE_LIMIT })
    const processes = Array.from({ length: 3 }, () => fixture({ bootstrap, clients: 10, inFlight: 8, stopOnStdin: true }))
    for (const p of processes) await p.next('pushing', 60_000)
    await new Promise((resolve) => setTimeout(resolve, 3000))
    node.child.kill('SIGSTOP')
    for (const p of processes) p.child.stdin!.end()
    const stopped = await Promise.all(processes.map(async (p) => await p.next('stopped', 30_000)))
    for (const s of stopped) expectAllStopped(s)
    const delays = await Promise.all(processes.map(async (p, i) => await exitDelay(p, stopped[i].receivedAt)))
    node.child.kill('SIGCONT')
    for (const delay of delays) expect(delay, `exits after "stopped": ${delays.map((d) => `${d.toFixed(0)} ms`).join(', ')}`).toBeLessThan(EXIT_WITHIN_MS)
    node.child.stdin!.end()
    const end = await Promise.race([node.exited, new Promise<undefined>((resolve) => { setTimeout(resolve, 10_000, undefined) })])
    expect(end?.code, 'the service node process ends by itself too').toBe(0)
  }, 120_000)
})
