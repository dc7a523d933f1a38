/** Whether the system `ffmpeg` (the CLI's media I/O, and the reference the media tests compare with) can run here. */
import { execFileSync } from "node:child_process";

export const hasFfmpeg = (() => {
  try {
    execFileSync("ffmpeg", ["-version"]);
    return true;
  } catch {
    return false;
  }
})();
