/**
 * Identity of the bundled default pack and of the random-weights pack; kept apart so the UI can import it cheaply.
 *
 * The bundled pack (public/models/default/) holds the small models trained on the procedural world
 * (tools/train/build-pack.ts builds it from a training run; docs/training.md). The random-weights pack
 * (default-pack.ts, `npm run pack -- random`) has the same layout and id, with seeded random weights: it exercises
 * the plumbing without a training run and can stand in for the bundled pack.
 */
export const DEFAULT_PACK = Object.freeze({
  id: "default",
  /** Where the app serves it, relative to the app's base URL (public/models/default/). */
  path: "models/default/",
  /** The bundled pack's name and version (what build-pack writes for a fully trained run). */
  name: "Bundled default pack (trained on the procedural world)",
  version: "0.2.0",
});

export const RANDOM_PACK = Object.freeze({
  name: "Small models, seeded random weights",
  version: "0.1.0",
  seed: 20240617,
});
