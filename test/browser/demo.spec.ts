// What a person does after `npm start`: the demo prints its JSON line and pushes, then the dapp's URL; that page
// learns the demo's network from /devnet.json and pushes through it.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { test, expect, settledState } from './fixtures.js'

const CLI = fileURLToPath(new URL('../../dist/node/cli.js', import.meta.url))

/** Collects the child's stdout until a line matches, or fails with everything it printed. */
async function waitForLine (child: ChildProcessWithoutNullStreams, re: RegExp, timeoutMs: number): Promise<{ match: RegExpMatchArray, lines: string[] }> {
  const lines: string[] = []
  let buffered = ''
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no line matching ${re} within ${timeoutMs} ms; got:\n${lines.join('\n')}`)) }, timeoutMs)
    child.stderr.on('data', (d: Buffer) => { lines.push(`[stderr] ${d.toString().trimEnd()}`) })
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const parts = buffered.split('\n')
      buffered = parts.pop() ?? ''
      for (const l of parts) {
        lines.push(l)
        const match = l.match(re)
        if (match != null) { clearTimeout(timer); resolve({ match, lines }) }
      }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`demo exited with ${code} before printing ${re}:\n${lines.join('\n')}`)) })
  })
}

test('npm start: the demo serves the dapp at the URL it prints, and the dapp pushes through the demo network', async ({ page }) => {
  test.setTimeout(90_000)
  const child = spawn(process.execPath, [CLI, 'demo', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] }) as unknown as ChildProcessWithoutNullStreams
  try {
    const { match, lines } = await waitForLine(child, /^dapp: (http:\/\/127\.0\.0\.1:\d+\/) /, 60_000)
    // The existing output comes first, unchanged: the JSON line, then the pushes.
    const listening = JSON.parse(lines[0]) as { event: string, services: Array<{ peerId: string, multiaddrs: string[] }> }
    expect(listening.event).toBe('listening')
    expect(lines.filter((l) => /^push \d "/.test(l))).toHaveLength(4)
    const url = match[1]

    const served = await (await fetch(`${url}devnet.json`)).json() as { services: Array<{ peerId: string }> }
    expect(served.services.map((s) => s.peerId)).toEqual(listening.services.map((s) => s.peerId))

    await page.goto(url)
    expect(await settledState(page, '#status', ['ready', 'error'])).toBe('ready')
    await page.fill('#payload', 'from the npm start dapp')
    await page.click('#push')
    const card = page.locator('#pushes .push').first()
    await expect(card).toHaveAttribute('data-state', 'delivered')
    const peer = await card.locator('.attempt').last().getAttribute('title')
    expect(listening.services.map((s) => s.peerId)).toContain(peer?.split('\n')[0])
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve))
    child.kill('SIGINT')
    expect(await exited).toBe(0)
  }
})
