/**
 * Must be the first import of every browser entry point (ui/main.tsx and both workers).
 *
 * zod compiles object parsers with `new Function` unless told not to, and even its feature probe is reported as
 * a CSP violation under our `script-src` without 'unsafe-eval'. jitless must be set before any schema is
 * constructed, because each object schema decides at construction time.
 */
import { config } from "zod";

config({ jitless: true });
