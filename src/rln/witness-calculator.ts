/**
 * A circom 2 witness calculator: runs the circuit's compiled `.wasm` (the RLN circuit's `rln.wasm`) on named
 * inputs and returns every wire of the witness, which zerokit's `generateRLNProofWithWitness` takes.
 *
 * Written against circom's wasm ABI (the module exports `getFieldNumLen32`, `getRawPrime`, `init`,
 * `getInputSignalSize`, `setInputSignal`, `getWitnessSize`, `getWitness` and a shared read/write memory of
 * `getFieldNumLen32()` 32-bit words; a signal is named by the 64-bit FNV-1a hash of its name).
 */

export type WitnessInputs = Record<string, bigint | readonly bigint[]>

export interface WitnessCalculator {
  /** The circuit's field modulus (BN254's scalar field for RLN). */
  readonly prime: bigint
  /** Every witness wire for these inputs (wire 0 is the constant 1). Throws when the circuit's asserts fail. */
  calculate(inputs: WitnessInputs): bigint[]
}

interface CircomExports {
  memory: WebAssembly.Memory
  getFieldNumLen32(): number
  getRawPrime(): void
  init(sanityCheck: number): void
  getInputSignalSize(hMSB: number, hLSB: number): number
  setInputSignal(hMSB: number, hLSB: number, index: number): void
  readSharedRWMemory(index: number): number
  writeSharedRWMemory(index: number, value: number): void
  getWitnessSize(): number
  getWitness(index: number): void
  getMessageChar?(): number
}

const ERRORS: Record<number, string> = {
  1: 'signal not found',
  2: 'too many signals set',
  3: 'signal already set',
  4: 'assert failed',
  5: 'not enough memory',
  6: 'input signal array access exceeds its size'
}

/** Compiles the circuit once; `calculate` re-initialises the instance for each witness. */
export async function createWitnessCalculator (wasm: BufferSource | WebAssembly.Module): Promise<WitnessCalculator> {
  const module = wasm instanceof WebAssembly.Module ? wasm : await WebAssembly.compile(wasm)
  let exports: CircomExports | undefined
  let errorText = ''
  const readMessage = (): string => {
    let text = ''
    if (exports?.getMessageChar == null) return text
    for (let c = exports.getMessageChar(); c !== 0; c = exports.getMessageChar()) text += String.fromCharCode(c)
    return text
  }
  const instance = await WebAssembly.instantiate(module, {
    runtime: {
      exceptionHandler: (code: number) => {
        const text = errorText
        errorText = ''
        throw new Error(`circom witness: ${ERRORS[code] ?? `error ${code}`}${text === '' ? '' : `: ${text.trim()}`}`)
      },
      printErrorMessage: () => { errorText += readMessage() + '\n' },
      writeBufferMessage: () => { readMessage() },
      showSharedRWMemory: () => {}
    }
  })
  exports = instance.exports as unknown as CircomExports
  const e = exports
  const n32 = e.getFieldNumLen32()
  e.getRawPrime()
  const prime = readShared(e, n32)

  return {
    prime,
    calculate (inputs) {
      errorText = ''
      e.init(0)
      for (const [name, value] of Object.entries(inputs)) {
        const [hMSB, hLSB] = fnv1a64(name)
        const values = typeof value === 'bigint' ? [value] : value
        const size = e.getInputSignalSize(hMSB, hLSB)
        if (size < 0) throw new Error(`circom witness: the circuit has no input signal "${name}"`)
        if (values.length !== size) throw new Error(`circom witness: input "${name}" takes ${size} values, got ${values.length}`)
        for (let i = 0; i < values.length; i++) {
          writeShared(e, n32, mod(values[i] as bigint, prime))
          e.setInputSignal(hMSB, hLSB, i)
        }
      }
      const size = e.getWitnessSize()
      const witness = new Array<bigint>(size)
      for (let i = 0; i < size; i++) {
        e.getWitness(i)
        witness[i] = readShared(e, n32)
      }
      return witness
    }
  }
}

function readShared (e: CircomExports, n32: number): bigint {
  let v = 0n
  for (let j = n32 - 1; j >= 0; j--) v = (v << 32n) | BigInt(e.readSharedRWMemory(j) >>> 0)
  return v
}

function writeShared (e: CircomExports, n32: number, v: bigint): void {
  for (let j = 0; j < n32; j++) {
    e.writeSharedRWMemory(j, Number(v & 0xffffffffn))
    v >>= 32n
  }
}

function mod (v: bigint, p: bigint): bigint {
  const r = v % p
  return r < 0n ? r + p : r
}

const FNV_OFFSET = 0xcbf29ce484222325n
const FNV_PRIME = 0x100000001b3n
const MASK64 = (1n << 64n) - 1n

/** 64-bit FNV-1a of the signal name, as (high 32 bits, low 32 bits). */
function fnv1a64 (name: string): [number, number] {
  let h = FNV_OFFSET
  for (let i = 0; i < name.length; i++) {
    h ^= BigInt(name.charCodeAt(i))
    h = (h * FNV_PRIME) & MASK64
  }
  return [Number(h >> 32n), Number(h & 0xffffffffn)]
}
