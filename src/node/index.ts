/**
 * The public surface of the ZeroTier-compatible node: what the service, the controller, the CLI,
 * the demo and the benchmarks use. Files inside src/node import each other directly, never this
 * file, so re-exporting here can never close an import cycle.
 */

// the node
export { Node } from './node.js';
export { PacketCounts } from './packet-counts.js';
export { ErrorCode } from './wire/ok-error.js';
export { Verb } from './wire/packet.js';
export { checkPlanetAllowed, moonProblem, planetFromWorld, MAX_MOONS, REFUSE_BUILTIN_PLANET_ENV } from './planet-spec.js';
export type { NodeOptions } from './node.js';
export type { PlanetSpec, RootSpec } from './planet-spec.js';
export { assembleNode, type AssembledNode, type NodeAssemblyOptions } from './node-assembly.js';
export { PROTOCOL_VERSION, SOFTWARE_VERSION } from './version.js';

// identities
export { Identity, IdentityFormatError, IDENTITY_PUBLIC_BINARY_LENGTH, isReservedAddress } from './identity/identity.js';
export {
  IDENTITY_PUBLIC_FILE,
  IDENTITY_SECRET_FILE,
  IdentityFileError,
  loadOrCreateIdentity,
  readIdentityFile,
  writeIdentityFiles,
} from './identity/identity-file.js';
export { closeMemoryHardHashWorker } from './crypto/memory-hard-hash.js';
export { generateKeyPair, publicKeyOf, type C25519KeyPair } from './crypto/c25519.js';

// peers, paths, roots and worlds
export type { Peer } from './peer/peer.js';
export { endpoint, endpointKey, formatEndpoint, isLoopbackEndpoint, sameEndpoint, type Endpoint } from './peer/endpoint.js';
export {
  createPrivatePlanet,
  EARTH_WORLD_ID,
  encodeWorld,
  MARS_WORLD_ID,
  parseWorld,
  signWorld,
  verifyWorld,
  WORLD_KEY_LENGTH,
  WORLD_MAX_ROOTS,
  WORLD_MAX_STABLE_ENDPOINTS,
  WORLD_SIGNATURE_LENGTH,
  WorldType,
  type PrivatePlanetSpec,
  type World,
  type WorldRoot,
} from './peer/world.js';

// the underlay
export {
  NativeUdpTransport,
  loopbackOnly,
  type NativeTransportOptions,
  type ReceiveHandler,
  type UdpTransport,
} from './transport/udp-transport.js';
export { UnderlayDemux, type UnderlayDemuxOptions } from './transport/underlay-demux.js';

// networks
export { Networks, type NetworksOptions } from './network/networks.js';
export type { Network, NetworkStatus, StackFactory, StackFactoryOptions } from './network/network.js';
export { NetworkConfigFlag, NetworkType, type NetworkConfig } from './network/network-config.js';
export { NAMES_KEY, MAX_NAME_ENTRIES, MAX_NAMES_BYTES, MAX_ADDRESSES_PER_NAME, type MemberName } from './network/network-names.js';
export { addressFromMac, macForMember, macToBytes } from './network/network-mac.js';

// addresses on the wire
export { controllerOf, formatAddress, formatNetworkId, parseAddress, parseNetworkId } from './wire/address.js';
export type { InetAddress } from './wire/inet-address.js';

// what a network controller implements, and how its answers become signed configs
export {
  SPECIALIST_ACTIVE_BRIDGE,
  type ConfigRequest,
  type ConfigRequestMetadata,
  type ConfigRequestResult,
  type ControllerChange,
  type ControllerNetworkConfig,
  type ControllerRoute,
  type ControllerRule,
  type NetworkControllerBackend,
} from './controller-link/controller-backend.js';
export { networkConfigFromController } from './controller-link/config-translation.js';
export { signedConfigChunks } from './controller-link/config-responder.js';
