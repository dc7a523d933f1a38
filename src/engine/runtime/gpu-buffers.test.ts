import { describe, expect, it } from "vitest";
import { trackGpuBuffers } from "./gpu-buffers.js";

/** A stand-in device: createBuffer returns objects with a destroy() that records the call. */
function fakeDevice() {
  const destroyed: number[] = [];
  let n = 0;
  const device = {
    createBuffer: (desc: GPUBufferDescriptor) => {
      const id = n++;
      return { size: desc.size, destroy: () => void destroyed.push(id) } as unknown as GPUBuffer;
    },
  };
  return { device: device as unknown as GPUDevice, destroyed };
}

describe("trackGpuBuffers", () => {
  it("counts live buffers and bytes from create to destroy, once per buffer, and still destroys them", () => {
    const { device, destroyed } = fakeDevice();
    const t = trackGpuBuffers(device);
    expect(t.counts()).toEqual({ live: 0, liveBytes: 0, created: 0, peakBytes: 0, byUsage: {} });
    const a = device.createBuffer({ size: 1024, usage: 128 });
    const b = device.createBuffer({ size: 256, usage: 64 });
    expect(t.counts()).toEqual({
      live: 2,
      liveBytes: 1280,
      created: 2,
      peakBytes: 1280,
      byUsage: { "128": { live: 1, liveBytes: 1024 }, "64": { live: 1, liveBytes: 256 } },
    });
    a.destroy();
    a.destroy(); // a second destroy is legal in WebGPU and must not count twice
    expect(t.counts()).toMatchObject({ live: 1, liveBytes: 256, created: 2, peakBytes: 1280 });
    expect(t.counts().byUsage["128"]).toEqual({ live: 0, liveBytes: 0 });
    expect(destroyed).toEqual([0, 0]);
    device.createBuffer({ size: 64, usage: 128 });
    b.destroy();
    expect(t.counts()).toEqual({
      live: 1,
      liveBytes: 64,
      created: 3,
      peakBytes: 1280,
      byUsage: { "128": { live: 1, liveBytes: 64 }, "64": { live: 0, liveBytes: 0 } },
    });
  });
});
