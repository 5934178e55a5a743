/**
 * assembleNode: the one way a node and its networks are put together (daemon, benchmarks, tests).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { assembleNode, type AssembledNode } from '../../src/node/node-assembly.js';
import { ep, NWID, Sim } from './sim-harness.js';

let assembled: AssembledNode | null = null;
afterEach(() => {
  assembled?.stop();
  assembled = null;
});

describe('assembleNode', () => {
  it('hands the node to its networks before starting it, and stop() leaves the networks and stops the node', () => {
    const sim = new Sim();
    assembled = assembleNode({ ...sim.nodeOptions(2, sim.board.attach(ep('10.99.0.3'))), networks: { refreshMs: 5_000 } });
    const { node, networks } = assembled;
    expect(node.started).toBe(true);
    expect(node.handlers).toBe(networks);
    const net = networks.join(NWID);
    expect(networks.get(NWID)).toBe(net);
    assembled.stop();
    expect(networks.get(NWID)).toBeUndefined();
    expect(node.started).toBe(false);
  });

  it('leaves the node stopped when asked to (the daemon starts it itself)', () => {
    const sim = new Sim();
    assembled = assembleNode({ ...sim.nodeOptions(2, sim.board.attach(ep('10.99.0.3'))), start: false });
    expect(assembled.node.started).toBe(false);
    expect(assembled.node.handlers).toBe(assembled.networks);
  });
});
