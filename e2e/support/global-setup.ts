/**
 * vitest globalSetup for e2e: builds the app and serves it with `vite preview` — the same server and headers
 * (COOP/COEP/CSP) as `npm start` — on a free port, then hands the URL to the tests.
 */
import type { AddressInfo } from "node:net";
import { build, type PreviewServer, preview } from "vite";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    baseURL: string;
  }
}

let server: PreviewServer | null = null;

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // vitest sets NODE_ENV=test, which would give a development React bundle: build exactly what `npm start` ships
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = "production";
  try {
    await build({ logLevel: "warn", mode: "production" });
  } finally {
    process.env.NODE_ENV = nodeEnv;
  }
  server = await preview({ logLevel: "warn", preview: { host: "127.0.0.1", port: 0, strictPort: false } });
  const address = server.httpServer.address() as AddressInfo;
  project.provide("baseURL", `http://127.0.0.1:${address.port}/`);
  return async () => {
    await server?.close();
  };
}
