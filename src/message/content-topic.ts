import { LightPushError } from '../errors.js'

/** The parts of a content topic `/{application}/{version}/{name}/{encoding}` (RELAY-SHARDING). */
export interface ContentTopic {
  /** Only generation 0 exists; a topic without the generation prefix is generation 0. */
  generation: number
  application: string
  version: string
  name: string
  encoding: string
}

/** Parses a content topic, with an optional `/0` generation prefix. Throws `INVALID_CONTENT_TOPIC`. */
export function parseContentTopic (contentTopic: string): ContentTopic {
  if (typeof contentTopic !== 'string') {
    // Not String(contentTopic): an object's own toString may throw, and the error must stay this one.
    throw invalid(`(${contentTopic === null ? 'null' : typeof contentTopic})`, 'it is not a string')
  }
  const parts = contentTopic.split('/')
  // A leading "/" gives an empty first part: 5 parts without a generation, 6 with one.
  if (parts[0] !== '' || (parts.length !== 5 && parts.length !== 6)) {
    throw invalid(contentTopic, 'expected /{application}/{version}/{name}/{encoding}, optionally prefixed by /0')
  }
  let generation = 0
  let rest = parts.slice(1)
  if (parts.length === 6) {
    if (!/^\d+$/.test(parts[1])) throw invalid(contentTopic, `generation "${parts[1]}" is not a number`)
    generation = Number(parts[1])
    if (generation !== 0) throw invalid(contentTopic, `generation ${generation} is not supported (only 0)`)
    rest = parts.slice(2)
  }
  const [application, version, name, encoding] = rest
  for (const [field, value] of [['application', application], ['version', version], ['name', name], ['encoding', encoding]]) {
    if (value.length === 0) throw invalid(contentTopic, `the ${field} is empty`)
  }
  return { generation, application, version, name, encoding }
}

function invalid (contentTopic: string, why: string): LightPushError {
  return new LightPushError('INVALID_CONTENT_TOPIC', `Invalid content topic "${contentTopic}": ${why}.`, {
    metaMessages: ['Example of a valid content topic: /my-app/1/chat/proto']
  })
}
