/** Identity of the bundled default pack (default-pack.ts builds it); kept apart so the UI can import it cheaply. */
export const DEFAULT_PACK = Object.freeze({
  id: "default",
  name: "Bundled default pack (small models, random weights)",
  version: "0.1.0",
  seed: 20240617,
  /** Where the app serves it, relative to the app's base URL (public/models/default/). */
  path: "models/default/",
});
