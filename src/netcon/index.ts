/** netcon: the bridge between apps under libztintercept.so and a network's userspace stack. */
export { NetconServer, type NetconServerOptions } from './server.js';
export {
  netconDefaultSocketPaths,
  netconSocketPath,
  DEFAULT_ENDPOINT,
  DEFAULT_SOCKET_DIR_PREFIX,
  ENDPOINTS_DIR,
  isEndpointName,
  userRuntimeDir,
} from './socket-path.js';
export { checkSocketDir, RpcSocketBusyError, RpcSocketDirError } from './socket-dir.js';
export { type FdPlumbing, nativePlumbing } from './fd-plumbing.js';
export { NetconCounters } from './netcon-counters.js';
export type { AppSocketState, AppSocketView } from './app-socket.js';
export * as protocol from './protocol.js';
