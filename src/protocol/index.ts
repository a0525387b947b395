export * from './constants.js'
export * from './status.js'
export * from './codec.js'
export { sendLightPushRequest, type RequestOptions } from './request.js'
