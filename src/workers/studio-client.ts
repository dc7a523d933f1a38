/**
 * One entry point for the UI: routes each job to the worker the job table names (engine or media).
 */
import {
  type ClientOptions,
  type JobHandle,
  type RunOptions,
  WorkerClient,
  type WorkerFactory,
} from "./client.js";
import {
  type JobParams,
  type JobResult,
  type JobType,
  jobTable,
  WorkerName,
  type WorkerNameType,
} from "./protocol.js";

export interface StudioClient {
  run<J extends JobType>(job: J, params: JobParams<J>, opts?: RunOptions): JobHandle<JobResult<J>>;
  dispose(): void;
}

export function createStudioClient(
  factories: Readonly<Record<WorkerNameType, WorkerFactory>>,
  opts: Readonly<Record<WorkerNameType, ClientOptions>>,
): StudioClient {
  const clients = {
    [WorkerName.Engine]: new WorkerClient(WorkerName.Engine, factories.engine, opts.engine),
    [WorkerName.Media]: new WorkerClient(WorkerName.Media, factories.media, opts.media),
  };
  return {
    run: (job, params, runOpts) => {
      // The table ties each job to one worker, so this widening is sound.
      const client = clients[jobTable[job].worker] as unknown as WorkerClient<WorkerNameType>;
      return client.run(job as never, params as never, runOpts) as JobHandle<JobResult<typeof job>>;
    },
    dispose: () => {
      for (const c of Object.values(clients)) c.dispose();
    },
  };
}
