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

export function isCongestionAlgo(v: number): v is CongestionAlgo {
  return v === CongestionAlgo.Cubic || v === CongestionAlgo.NewReno;
}

export function createCongestionControl(algo: CongestionAlgo, mss: number): CongestionControl {
  return algo === CongestionAlgo.NewReno ? new NewReno(mss) : new Cubic(mss);
}
