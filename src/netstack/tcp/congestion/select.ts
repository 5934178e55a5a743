/** The one place a connection's congestion-control algorithm is chosen (TCP_CONGESTION). */
import type { CongestionControl } from './congestion.js';
import { Bbr } from './bbr.js';
import { Cubic } from './cubic.js';
import { NewReno } from './newreno.js';

/** The option values of TCP_CONGESTION as the socket API carries them. */
export const CongestionAlgo = {
  Cubic: 0,
  NewReno: 1,
  Bbr: 2,
} as const;
export type CongestionAlgo = (typeof CongestionAlgo)[keyof typeof CongestionAlgo];

/** Linux's names of the algorithms (TCP_CONGESTION's text), indexed by `CongestionAlgo`. */
export const CONGESTION_NAMES: readonly string[] = ['cubic', 'reno', 'bbr'];

export function isCongestionAlgo(v: number): v is CongestionAlgo {
  return Number.isInteger(v) && v >= 0 && v < CONGESTION_NAMES.length;
}

/** The algorithm Linux calls `name`, or undefined (TCP_CONGESTION then fails with ENOENT). */
export function congestionAlgoByName(name: string): CongestionAlgo | undefined {
  const i = CONGESTION_NAMES.indexOf(name);
  return i < 0 ? undefined : (i as CongestionAlgo);
}

/** A fresh instance of `algo`; `seed` varies what an algorithm chooses at random (BBR's first gain phase). */
export function createCongestionControl(algo: CongestionAlgo, mss: number, seed = 0): CongestionControl {
  switch (algo) {
    case CongestionAlgo.NewReno:
      return new NewReno(mss);
    case CongestionAlgo.Bbr:
      return new Bbr(mss, seed);
    default:
      return new Cubic(mss);
  }
}
