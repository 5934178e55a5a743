/**
 * One node with its networks, put together the one way the daemon, the benchmarks and the tests
 * all use: the Node, then its Networks (which takes the node's network-level verbs, its ticks and
 * its root-up events, and answers config requests when given a controller), then, unless told
 * otherwise, the node started — so nothing can reach the node before its networks are in place.
 */
import { Networks, type NetworksOptions } from './network/networks.js';
import { Node, type NodeOptions } from './node.js';

export interface NodeAssemblyOptions extends NodeOptions {
  /** The networks' controller backend, stack factory and refresh period. */
  networks?: NetworksOptions;
  /** Start the node at once (default); the daemon starts it itself once the rest is ready. */
  start?: boolean;
}

export interface AssembledNode {
  node: Node;
  networks: Networks;
  /** Leaves every network, then stops the node. */
  stop(): void;
}

export function assembleNode(opts: NodeAssemblyOptions): AssembledNode {
  const { networks: networksOptions, start = true, ...nodeOptions } = opts;
  const node = new Node(nodeOptions);
  const networks = new Networks(node, networksOptions);
  if (start) node.start();
  return {
    node,
    networks,
    stop: () => {
      networks.close();
      node.stop();
    },
  };
}
