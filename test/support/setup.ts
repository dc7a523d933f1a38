/** Vitest setup: tfjs on the cpu backend in production mode (no debug checks, no "install tfjs-node" banner). */
import * as tf from "@tensorflow/tfjs-core";
import "@tensorflow/tfjs-backend-cpu";

tf.env().set("PROD", true);
await tf.setBackend("cpu");
