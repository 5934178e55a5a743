/** The one place a connection's congestion-control algorithm is chosen (TCP_CONGESTION). */
import type { CongestionControl } from './congestion.js';
import { Cubic } from './cubic.js';
import { NewReno } from './newreno.js';

/** The option values of TCP_CONGESTION as the socket API carries them. */
export const CongestionAlgo = {
  Cubic: 0,
  NewReno: 1,
} as const;
export type CongestionAlgo = (typeof CongestionAlgo)[keyof typeof CongestionAlgo];

/** Linux's names of the algorithms (TCP_CONGESTION's text), indexed by `CongestionAlgo`. */
export const CONGESTION_NAMES: readonly string[] = ['cubic', 'reno'];

export function isCongestionAlgo(v: number): v is CongestionAlgo {
  return Number.isInteger(v) && v >= 0 && v < CONGESTION_NAMES.length;
}

/** The algorithm Linux calls `name`, or undefined (TCP_CONGESTION then fails with ENOENT). */
export function congestionAlgoByName(name: string): CongestionAlgo | undefined {
  const i = CONGESTION_NAMES.indexOf(name);
  return i < 0 ? undefined : (i as CongestionAlgo);
}

export function createCongestionControl(algo: CongestionAlgo, mss: number): CongestionControl {
  return algo === CongestionAlgo.NewReno ? new NewReno(mss) : new Cubic(mss);
}
