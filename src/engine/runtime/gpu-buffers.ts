/**
 * The engine's own count of the GPU buffers on its shared device (issue 11 item 7: "no growth in GPU buffers").
 * WebGPU has no query for what a device holds, so the runtime wraps the device's `createBuffer` when it starts:
 * every buffer ORT's WebGPU EP and tfjs-webgpu create from then on is counted (and its `size` in bytes) until its
 * `destroy()`. Buffers created before the wrap (ORT's start-up session) are not counted; a buffer dropped without
 * `destroy()` stays counted (the GPU memory then waits for garbage collection, which is what the count should show).
 */

export interface GpuBufferCounts {
  /** Buffers created and not yet destroyed. */
  live: number;
  /** Their bytes (the `size` each was created with). */
  liveBytes: number;
  /** Buffers created since the wrap. */
  created: number;
  /** The largest `liveBytes` seen. */
  peakBytes: number;
  /** Live buffers and bytes per `GPUBufferUsage` flag set (decimal), e.g. "132" (STORAGE | COPY_SRC … ). */
  byUsage: Record<string, { live: number; liveBytes: number }>;
}

export interface GpuBufferCounter {
  counts(): GpuBufferCounts;
}

/** Wraps `device.createBuffer` (on this device object only) and each created buffer's `destroy`. */
export function trackGpuBuffers(device: GPUDevice): GpuBufferCounter {
  const c: GpuBufferCounts = { live: 0, liveBytes: 0, created: 0, peakBytes: 0, byUsage: {} };
  const create = device.createBuffer.bind(device);
  device.createBuffer = (desc: GPUBufferDescriptor): GPUBuffer => {
    const buffer = create(desc);
    const size = Number(desc.size);
    c.live++;
    c.created++;
    c.liveBytes += size;
    c.peakBytes = Math.max(c.peakBytes, c.liveBytes);
    const key = String(desc.usage);
    c.byUsage[key] ??= { live: 0, liveBytes: 0 };
    const u = c.byUsage[key];
    u.live++;
    u.liveBytes += size;
    const destroy = buffer.destroy.bind(buffer);
    let destroyed = false;
    buffer.destroy = () => {
      if (!destroyed) {
        destroyed = true;
        c.live--;
        c.liveBytes -= size;
        u.live--;
        u.liveBytes -= size;
      }
      destroy();
    };
    return buffer;
  };
  return {
    counts: () => ({
      ...c,
      byUsage: Object.fromEntries(Object.entries(c.byUsage).map(([k, v]) => [k, { ...v }])),
    }),
  };
}
