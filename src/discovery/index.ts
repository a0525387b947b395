export * from './presets.js'
export * from './storage.js'
export * from './cache.js'
