/**
 * Pack jobs for the engine worker (the Models view): list, install from mirrors, convert picked files (or the
 * model's repository, read over HTTP Range) into the cache, verify, delete, load (weights into module trees, offline from the cache), and estimate memory.
 * Their params/results schemas are in job-schemas.ts (the worker protocol validates both); progress is reported
 * as job events. The cache is injected (OPFS in the worker), so the handlers run unchanged in Node tests.
 */
import type { z } from "zod";
import { ModelPackError } from "../errors.js";
import type { JobContext } from "../runtime/job.js";
import { blobSource } from "../weights/source.js";
import { cacheSink, type PackCache } from "./cache.js";
import { convertPack } from "./convert.js";
import { installPack, listPacks, removePack, verifyPack } from "./install.js";
import type {
  PackIdParamsSchema,
  PacksConvertParamsSchema,
  PacksConvertRemoteParamsSchema,
  PacksEstimateParamsSchema,
  PacksInstallParamsSchema,
  PacksListResultSchema,
} from "./job-schemas.js";
import { loadPackModels, packFromCache } from "./loader.js";
import { MemoryPlanner, type PlanLimits, type PlanResult, planMemory } from "./planner.js";
import type { PackProgressEvent } from "./progress.js";
import { remoteTree } from "./remote.js";
import type { InputTree } from "./tree.js";

/** Progress of downloads as job events (per file in the log, the total as `progress`). */
function downloadEvents(ctx: JobContext) {
  return (e: PackProgressEvent) => {
    if (e.status === "progress_total")
      ctx.emit({ type: "progress", phase: "download", done: e.loaded, total: Math.max(1, e.total) });
    else if (e.status === "done")
      ctx.emit({ type: "log", level: "info", message: `${e.file}: ${e.cached ? "cached" : "downloaded"}` });
  };
}

export interface PackJobDeps {
  cache(): Promise<PackCache>;
  /** Memory limits for the planner when a request gives none (from the runtime's adapter). */
  limits(): Promise<PlanLimits>;
}

type ConvertParams = Pick<
  z.output<typeof PacksConvertParamsSchema>,
  "model" | "quant" | "id" | "name" | "variant" | "components"
>;

/** Converts `tree` into the cache as pack `p.id`; a failure leaves no half-written pack behind. */
async function convertInto(deps: PackJobDeps, p: ConvertParams, tree: InputTree, ctx: JobContext) {
  const cache = await deps.cache();
  ctx.emit({ type: "phase", phase: "checking" });
  const manifest = await convertPack(
    [{ spec: p.model, tree, variant: p.variant, components: p.components }],
    cacheSink(cache, p.id),
    {
      id: p.id,
      name: p.name,
      quant: p.quant,
      signal: ctx.signal,
      onProgress: (e) => {
        if (e.type === "check")
          ctx.emit({ type: "log", level: "info", message: `checked ${e.model}/${e.component}` });
        else ctx.emit({ type: "progress", phase: "converting", done: e.done, total: Math.max(1, e.total) });
      },
    },
  ).catch(async (e: unknown) => {
    await cache.remove(p.id).catch(() => undefined);
    throw e;
  });
  return {
    id: manifest.id,
    files: manifest.files.length,
    bytes: manifest.files.reduce((a, f) => a + f.size, 0),
  };
}

export function packJobHandlers(deps: PackJobDeps) {
  return {
    "packs-list": async (): Promise<z.output<typeof PacksListResultSchema>> => {
      const cache = await deps.cache();
      return {
        packs: await listPacks(cache),
        storage: await cache.estimate(),
        persisted: await cache.persist(),
      };
    },
    "packs-install": async (p: z.output<typeof PacksInstallParamsSchema>, ctx: JobContext) => {
      ctx.emit({ type: "phase", phase: "download" });
      const r = await installPack(await deps.cache(), {
        mirrors: p.mirrors,
        expectedId: p.expectedId,
        signal: ctx.signal,
        onProgress: downloadEvents(ctx),
      });
      return { id: r.pack.id, downloaded: r.downloaded, persisted: r.persisted };
    },
    "packs-convert": (p: z.output<typeof PacksConvertParamsSchema>, ctx: JobContext) =>
      convertInto(
        deps,
        p,
        p.files.map((f) => ({ path: f.path.replace(/\\/g, "/"), source: blobSource(f.file, f.path) })),
        ctx,
      ),
    "packs-convert-remote": async (p: z.output<typeof PacksConvertRemoteParamsSchema>, ctx: JobContext) => {
      ctx.emit({ type: "phase", phase: "listing" });
      const tree = await remoteTree(p.model, {
        revision: p.revision,
        fileUrl: p.fileUrl,
        signal: ctx.signal,
      });
      ctx.emit({
        type: "log",
        level: "info",
        message: `${tree.length} files listed in ${p.model}@${p.revision ?? "main"}`,
      });
      return convertInto(deps, p, tree, ctx);
    },
    "packs-verify": async (p: z.output<typeof PackIdParamsSchema>, ctx: JobContext) => {
      ctx.emit({ type: "phase", phase: "verifying" });
      return verifyPack(await deps.cache(), p.id, {
        onProgress: (done, total) =>
          ctx.emit({ type: "progress", phase: "verifying", done, total: Math.max(1, total) }),
      });
    },
    "packs-remove": async (p: z.output<typeof PackIdParamsSchema>): Promise<Record<string, never>> => {
      await removePack(await deps.cache(), p.id);
      return {};
    },
    "packs-load": async (p: z.output<typeof PackIdParamsSchema>, ctx: JobContext) => {
      const t0 = performance.now();
      const pack = await packFromCache(await deps.cache(), p.id);
      ctx.emit({ type: "phase", phase: "loading" });
      const loaded = await loadPackModels(pack, {
        signal: ctx.signal,
        onProgress: (e) =>
          ctx.emit({ type: "progress", phase: "loading", done: e.bytes, total: Math.max(1, e.totalBytes) }),
      });
      const components = Object.values(loaded).flatMap((m) =>
        Object.values(m).map((c) => ({
          model: c.model,
          component: c.component,
          kind: c.manifest.kind,
          parameters: c.manifest.parameters,
          bytes: c.manifest.bytes,
        })),
      );
      return { components, ms: Math.round(performance.now() - t0) };
    },
    "packs-estimate": async (p: z.output<typeof PacksEstimateParamsSchema>): Promise<PlanResult> => {
      const cache = await deps.cache();
      const ids = p.ids ?? (await listPacks(cache)).filter((x) => x.complete).map((x) => x.id);
      if (ids.length === 0) throw new ModelPackError("no pack is installed: install or convert one first");
      const manifests = await Promise.all(ids.map(async (id) => (await packFromCache(cache, id)).manifest));
      return planMemory(new MemoryPlanner(manifests), p.options, p.limits ?? (await deps.limits()));
    },
  };
}
