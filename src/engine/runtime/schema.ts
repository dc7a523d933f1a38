/** zod helpers for binary payloads that cross the worker boundary (any ArrayBuffer or SharedArrayBuffer backing). */
import { z } from "zod";

const typed = <T>(ctor: abstract new (...args: never[]) => unknown, name: string) =>
  z.custom<T>((v) => v instanceof ctor, { message: `expected a ${name}` });

export const bytesSchema = () => typed<Uint8Array>(Uint8Array, "Uint8Array");
export const float32Schema = () => typed<Float32Array>(Float32Array, "Float32Array");
export const float64Schema = () => typed<Float64Array>(Float64Array, "Float64Array");
