/**
 * The bundled pack's task engines as the CLI opens them: onnxruntime-node for the forward passes and tfjs on its
 * wasm backend for the aligner's gradients (or, with `guidance` "onnx", ONNX Runtime for them too). `close`
 * disposes the engine and puts tfjs back on the backend it was on.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as ortNode from "onnxruntime-node";
import type { OrtModule } from "../../src/engine/ops/onnx/session.js";
import { TfjsOps } from "../../src/engine/ops/tfjs.js";
import type { PackSource } from "../../src/engine/packs/loader.js";
import type { EngineExecutors } from "../../src/engine/pipelines/audio_engine.js";
import { packFromFolder } from "../../src/engine/session-node.js";
import { repoRoot } from "./golden.js";
import { resolveBackend } from "./tfjs-backend.js";

export async function openBundledEngine<E extends { dispose(): Promise<void> }>(
  open: (pack: PackSource, exec: EngineExecutors) => Promise<E>,
  guidance: EngineExecutors["guidance"] = "tfjs",
): Promise<{ engine: E; close(): Promise<void> }> {
  const prevBackend = tf.getBackend();
  await tf.setBackend(await resolveBackend("wasm"));
  const pack = await packFromFolder(`${repoRoot}/public/models/default`);
  const engine = await open(pack, {
    forward: { kind: "onnx", ort: ortNode as unknown as OrtModule },
    grad: new TfjsOps(),
    guidance,
  });
  return {
    engine,
    async close() {
      await engine.dispose();
      if (prevBackend) await tf.setBackend(prevBackend);
    },
  };
}
