/**
 * Starts tfjs on the runtime's backend: WebGPU on the GPUDevice that onnxruntime-web created (one device for
 * both, so tensors can stay on the GPU between them), else tfjs-backend-wasm, else the plain cpu backend.
 * Gradients are registered here, through the bundler (DESIGN.md pitfalls: plain Node ESM cannot import them).
 */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-core/dist/register_all_gradients";

export const tfjsVersion: string = tf.version_core;

/** Registers a WebGPUBackend bound to `device` under the name "webgpu" (kernels are registered by name). */
export async function startTfjsWebGpu(device: GPUDevice, info: GPUAdapterInfo | undefined): Promise<string> {
  const { WebGPUBackend } = await import("@tensorflow/tfjs-backend-webgpu");
  // Importing the package registered a factory that would request its own adapter and device; replace it.
  tf.removeBackend("webgpu");
  tf.registerBackend("webgpu", () => new WebGPUBackend(device, info), 10);
  // Keep small tensors on the GPU too: the engine moves data between ORT and tfjs on the device
  // (DESIGN.md performance principles), and self-tests must exercise the WebGPU kernels.
  tf.env().set("WEBGPU_CPU_FORWARD", false);
  if (!(await tf.setBackend("webgpu")))
    throw new Error("tfjs could not start its WebGPU backend on the shared device");
  await tf.ready();
  return tf.getBackend();
}

/** tfjs-backend-wasm (single-threaded: its threaded build crashes under COOP/COEP), falling back to cpu. */
export async function startTfjsWasm(wasmPrefix: string): Promise<string> {
  const wasm = await import("@tensorflow/tfjs-backend-wasm");
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false);
  wasm.setWasmPaths(wasmPrefix);
  if (await tf.setBackend("wasm").catch(() => false)) {
    await tf.ready();
    return tf.getBackend();
  }
  await import("@tensorflow/tfjs-backend-cpu");
  await tf.setBackend("cpu");
  await tf.ready();
  return tf.getBackend();
}
