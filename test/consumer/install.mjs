// What a user gets: the package packed by `npm pack` and installed from its tarball into a fresh folder with no
// access to this repository's node_modules. Shared by test/consumer/*.test.ts and bench/install-size.mjs.
import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'

export const ROOT = fileURLToPath(new URL('../../', import.meta.url))
const exec = promisify(execFile)

/** Runs a command to its end (never throws on a non-zero exit: the caller asserts on `code`). */
/**
 * @param {string} file
 * @param {string[]} args
 * @param {{ cwd: string, timeoutMs?: number, env?: NodeJS.ProcessEnv }} options
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
export async function run (file, args, options) {
  try {
    const { stdout, stderr } = await exec(file, args, { cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 64 << 20, env: options.env ?? process.env })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = /** @type {{ code?: unknown, stdout?: string, stderr?: string, message: string }} */ (err)
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? e.message }
  }
}

/** npm, with what a fresh machine needs from this one: the registry as configured, quiet, lock-free. */
/** @param {string[]} args @param {string} cwd */
export async function npm (args, cwd) {
  const res = await run('npm', [...args, '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'], { cwd, timeoutMs: 300_000 })
  if (res.code !== 0) throw new Error(`npm ${args.join(' ')} failed in ${cwd} (${res.code}):\n${res.stderr}`)
  return res
}

/** `npm pack` of this repository (built first: `npm test` builds) into `dir`; the tarball's path. */
/** @param {string} dir @returns {Promise<string>} */
export async function packInto (dir) {
  const { stdout } = await npm(['pack', '--json', '--pack-destination', dir], ROOT)
  const [info] = JSON.parse(stdout)
  return join(dir, info.filename)
}

/** A fresh folder with a package.json of its own, outside the repository. */
/** @param {string} name @param {object} [extra] package.json fields */
export async function freshApp (name, extra = {}) {
  const dir = await mkdtemp(join(tmpdir(), `waku-lightpush-${name}-`))
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name, version: '1.0.0', private: true, type: 'module', ...extra }, null, 2))
  return dir
}

/** @param {string | undefined} dir */
export async function removeDir (dir) {
  if (dir != null) await rm(dir, { recursive: true, force: true })
}

/** Bytes on disk under `dir` (files' sizes, as `du --apparent-size` counts them) and the number of packages. */
/** @param {string} dir @returns {Promise<{ bytes: number, packages: number }>} */
export async function installSize (dir) {
  let bytes = 0
  let packages = 0
  /** @param {string} d */
  const walk = async (d) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name)
      if (entry.isDirectory()) await walk(p)
      else if (entry.isFile()) {
        bytes += (await stat(p)).size
        if (entry.name === 'package.json' && /node_modules[\\/](@[^\\/]+[\\/])?[^\\/@]+$/.test(d)) packages++
      }
    }
  }
  await walk(join(dir, 'node_modules'))
  return { bytes, packages }
}

/** Starts a long-running command and resolves with its first stdout line, parsed as JSON. */
/**
 * @param {string} file @param {string[]} args @param {string} cwd
 * @returns {Promise<{ child: import('node:child_process').ChildProcess, first: any }>}
 */
export async function startJson (file, args, cwd) {
  return await new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d) => { stderr += String(d) })
    createInterface({ input: child.stdout }).once('line', (l) => {
      try { resolve({ child, first: JSON.parse(l) }) } catch (err) { reject(err) }
    })
    child.once('exit', (code) => { reject(new Error(`${args.join(' ')} exited early with ${code}: ${stderr}`)) })
  })
}

/**
 * Sends SIGINT and waits for the exit code; SIGKILL after 10 s (a test must not hang on a child).
 * @param {import('node:child_process').ChildProcess | undefined} child
 * @returns {Promise<number | null>}
 */
export async function interrupt (child) {
  if (child == null) return null
  if (child.exitCode != null || child.signalCode != null) return child.exitCode
  return await new Promise((resolve) => {
    const kill = setTimeout(() => { child.kill('SIGKILL') }, 10_000)
    child.once('exit', (code) => { clearTimeout(kill); resolve(code) })
    child.kill('SIGINT')
  })
}
