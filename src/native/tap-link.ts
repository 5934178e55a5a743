/**
 * Joins a frame-in/frame-out endpoint (a userspace stack, a bridge) to a TAP device: frames the
 * kernel sends arrive at `input`, frames the endpoint emits are written to the TAP. Stays out of
 * the event loop's way: reads come in batches by readiness, writes never block (a full TAP queue
 * drops the frame and counts it, as a congested link would).
 */
import { tapDevice, type SystemError, type TapDevice, type TapStats } from './binding.js';

/** What the link needs from the endpoint (NetStack fits). */
export interface FrameEndpoint {
  input(frame: Buffer): void;
  setLinkOutput(send: (frame: Buffer) => void): void;
}

export interface TapLink {
  readonly device: TapDevice;
  stats(): TapStats;
  /** Detaches the endpoint (its output goes nowhere) and closes the TAP fd. */
  close(): void;
}

export interface TapLinkOptions {
  batch?: number;
  onError?: (err: SystemError) => void;
}

/** Takes ownership of `fd`. */
export function attachTap(endpoint: FrameEndpoint, fd: number, opts: TapLinkOptions = {}): TapLink {
  let open = true;
  const device = tapDevice(
    fd,
    (frames) => {
      for (const f of frames) {
        if (!open) return;
        endpoint.input(f);
      }
    },
    { batch: opts.batch ?? 64, ...(opts.onError ? { onError: opts.onError } : {}) },
  );
  endpoint.setLinkOutput((frame) => {
    if (open) device.write(frame);
  });
  return {
    device,
    stats: () => device.stats(),
    close() {
      if (!open) return;
      open = false;
      endpoint.setLinkOutput(() => {});
      device.close();
    },
  };
}
